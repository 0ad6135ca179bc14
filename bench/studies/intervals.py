"""semi - sup per song, and its 95% intervals over what a study can vary: Student's t over the seeds' means (the
studies' primary interval) and crossed random effects of seeds and songs (their secondary one)."""
from typing import Dict, List, Optional, Tuple

import numpy as np


def differences(outcomes: List[Dict], rule: str, domain: Optional[str], source: str) -> List[Tuple[int, str, float]]:
    """``(seed, song, semi - sup SDR)`` for every test song of ``domain`` (None: of every domain, each song named
    ``domain/track``) that both runs of a seed scored."""
    def song(t: Dict) -> str:
        return t["track"] if domain else f"{t['dataset']}/{t['track']}"

    by_run = {(o["method"], o["seed"]): {song(t): t["separator"][source]["SDR"] for t in o["scores"][rule]
                                         if domain in (None, t["dataset"])} for o in outcomes}
    rows = []
    for seed in sorted({o["seed"] for o in outcomes}):
        semi, sup = by_run[("semi_sup", seed)], by_run[("sup", seed)]
        rows += [(seed, song, semi[song] - sup[song]) for song in sorted(semi)
                 if song in sup and semi[song] is not None and sup[song] is not None
                 and np.isfinite(semi[song]) and np.isfinite(sup[song])]
    return rows


def t_interval(rows: List[Tuple[int, str, float]]) -> Tuple[float, float, float, int]:
    """Mean of the seeds' mean differences with its 95% Student-t interval; and the seeds won."""
    from scipy import stats
    per_seed = np.array([np.mean([d for s, _, d in rows if s == seed]) for seed in sorted({r[0] for r in rows})])
    mean = float(per_seed.mean())
    if len(per_seed) < 2:
        return mean, float("nan"), float("nan"), int((per_seed > 0).sum())
    half = float(stats.t.ppf(0.975, len(per_seed) - 1) * per_seed.std(ddof=1) / np.sqrt(len(per_seed)))
    return mean, mean - half, mean + half, int((per_seed > 0).sum())


def crossed_interval(rows: List[Tuple[int, str, float]]) -> Tuple[float, float]:
    """95% interval of the mean difference with seeds and songs as crossed random effects (REML); NaN where
    the model cannot be fitted."""
    import warnings
    import pandas as pd
    import statsmodels.formula.api as smf
    from scipy import stats
    frame = pd.DataFrame(rows, columns=["seed", "song", "d"])
    frame["all"] = 1
    if frame["seed"].nunique() < 2:
        return float("nan"), float("nan")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            fit = smf.mixedlm("d ~ 1", frame, groups="all", re_formula="0",
                              vc_formula={"seed": "0 + C(seed)", "song": "0 + C(song)"}).fit(reml=True)
        except (ValueError, np.linalg.LinAlgError):
            return float("nan"), float("nan")
    freedom = min(frame["seed"].nunique(), frame["song"].nunique()) - 1
    half = float(stats.t.ppf(0.975, freedom) * fit.bse["Intercept"])
    return float(fit.fe_params["Intercept"]) - half, float(fit.fe_params["Intercept"]) + half
