"""Lists training and evaluation runs and compares them: the config values that differ, and test scores.

    python Compare.py                      # every run in runs/
    python Compare.py 3 4 --plot cmp.png   # runs 3 and 4 side by side, with a bar plot of SDR
    python Compare.py 3 4 --html cmp/      # their listening reports side by side (cmp/index.html)
    MONGO_URL=mongodb://host:27017 python Compare.py --mongo

Scores are median SDR/SIR/SAR over test tracks (the separator's, all datasets), per source.
"""
import argparse
import os
import shutil
import sys
from typing import Dict, List, Optional

from Runs.folders import RUNS_DIR, read_file_runs, read_mongo_runs
from Runs.observers import DEFAULT_DB, mask_password

SHOWN_METRICS = ("SDR", "SIR", "SAR")


def flatten(config: Dict, prefix: str = "") -> Dict[str, object]:
    """``{"cfg": {"alpha": 1}}`` -> ``{"cfg.alpha": 1}`` (lists kept whole)."""
    flat = {}
    for key, value in config.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(flatten(value, name + "."))
        else:
            flat[name] = value
    return flat


def differing_config(runs: List[Dict]) -> Dict[str, List[object]]:
    """Config keys whose values are not the same in every run (the seed included)."""
    flats = [flatten(run["config"]) for run in runs]
    keys = sorted(set().union(*flats)) if flats else []
    return {key: [flat.get(key, "-") for flat in flats] for key in keys
            if len({repr(flat.get(key, "-")) for flat in flats}) > 1}


def test_scores(run: Dict) -> Dict[str, float]:
    """``{"vocals SDR": 4.2, ...}`` from a run's result (Training.py) or its scores (Evaluate.py)."""
    result = run.get("result") or {}
    summary = result.get("test", result) if isinstance(result, dict) else {}
    scores = {}
    for key, entry in summary.items():
        parts = key.split("/")
        if len(parts) == 3 and parts[0] == "separator" and parts[1] == "all" and isinstance(entry, dict):
            for metric in SHOWN_METRICS:
                value = entry.get(f"{metric}_median", entry.get(metric))
                if value is not None:
                    scores[f"{parts[2]} {metric}"] = value
    return scores


def format_table(runs: List[Dict], width: Optional[int] = None) -> str:
    """The comparison as text: one column per run; with ``width``, long cells are cut (ending in "…") so that
    each line fits that many characters where it can."""
    header = ["", *[f"run {run['id']}" for run in runs]]
    rows = [["experiment", *[run["experiment"] or "-" for run in runs]],
            ["status", *[run["status"] or "-" for run in runs]]]
    rows += [[key, *[_cell(v) for v in values]] for key, values in differing_config(runs).items()]
    scores = [test_scores(run) for run in runs]
    for name in sorted(set().union(*scores)) if scores else []:
        rows.append([f"test {name} (median)", *[_cell(s.get(name)) for s in scores]])
    if width:
        first = min(max(len(str(row[0])) for row in [header, *rows]), max(20, width // 3))
        column = max(12, (width - first) // max(1, len(runs)) - 2)
        rows = [[_cut(row[0], first), *(_cut(cell, column) for cell in row[1:])] for row in rows]
    widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(len(header))]
    return "\n".join("  ".join(str(cell).ljust(w) for cell, w in zip(row, widths)).rstrip()
                     for row in [header, *rows])


def _cut(cell, width: int) -> str:
    text = str(cell)
    return text if len(text) <= width else text[:width - 1] + "…"


def _cell(value) -> str:
    if value is None:
        return "-"
    return f"{value:.3f}" if isinstance(value, float) else str(value)


def plot_scores(runs: List[Dict], path: str) -> None:
    """A grouped bar plot of the runs' median test scores per source and metric."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    scores = [test_scores(run) for run in runs]
    names = sorted(set().union(*scores)) if scores else []
    if not names:
        raise ValueError("none of these runs has test scores to plot")
    figure, axis = plt.subplots(figsize=(max(6, len(names) * 1.2), 4))
    width = 0.8 / len(runs)
    for index, (run, score) in enumerate(zip(runs, scores)):
        axis.bar([i + index * width for i in range(len(names))], [score.get(n, 0.0) for n in names], width,
                 label=f"run {run['id']} ({'sup' if not run['config'].get('cfg', {}).get('semi_supervised', True) else 'semi-sup'})")
    axis.set_xticks([i + width * (len(runs) - 1) / 2 for i in range(len(names))], names, rotation=30, ha="right")
    axis.set_ylabel("dB (median over test tracks)")
    axis.axhline(0, color="black", linewidth=0.5)
    axis.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=120)


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("ids", nargs="*", help="run ids to compare (default: all)")
    parser.add_argument("--runs", default=RUNS_DIR, help="the file observer's folder (default: %(default)s)")
    parser.add_argument("--mongo", action="store_true", help="read runs from MONGO_URL / MONGO_DB instead")
    parser.add_argument("--plot", default=None, help="write a bar plot of test scores to this PNG")
    parser.add_argument("--html", default=None, metavar="FOLDER",
                        help="write a listening page of two or more runs side by side into FOLDER (their evaluations' "
                             "listening reports)")
    parser.add_argument("--wide", action="store_true", help="print whole cells, however wide (default: fit the terminal)")
    args = parser.parse_args(argv)
    if args.mongo:
        url = os.environ.get("MONGO_URL")
        if not url:
            print("error: --mongo needs MONGO_URL (and optionally MONGO_DB)", file=sys.stderr)
            return 2
        try:
            runs = read_mongo_runs(url, os.environ.get("MONGO_DB", DEFAULT_DB))
        except Exception as error:  # pymongo's errors can carry the URL: print it masked
            print(f"error: MongoDB {mask_password(url)}: {mask_password(str(error))[:200]}", file=sys.stderr)
            return 2
    else:
        runs = read_file_runs(args.runs)
    if args.ids:
        runs = [run for run in runs if run["id"] in args.ids]
        missing = set(args.ids) - {run["id"] for run in runs}
        if missing:
            print(f"error: no run {', '.join(sorted(missing))} in {args.runs}", file=sys.stderr)
            return 2
    if not runs:
        print(f"no runs found in {args.runs}")
        return 1
    print(format_table(runs, None if args.wide else shutil.get_terminal_size().columns))
    if args.plot:
        try:
            plot_scores(runs, args.plot)
        except ValueError as error:
            print(f"error: no plot: {error} (Training.py's evaluation or Evaluate.py gives them)", file=sys.stderr)
            return 1
        except OSError as error:
            print(f"error: cannot write the plot {args.plot}: {error.strerror or error}", file=sys.stderr)
            return 1
        print(f"plot written to {args.plot}")
    if args.html:
        return write_html(runs, args.html)
    return 0


def write_html(runs: List[Dict], out: str) -> int:
    """Compare.py --html: the runs' listening reports side by side; a run without one is one line."""
    from Evaluation.listening_report import write_comparison
    if len(runs) < 2 or not all(run.get("folder") for run in runs):
        print("error: --html compares two or more runs of the file observer's folder (give their ids)",
              file=sys.stderr)
        return 2
    try:
        path = write_comparison(out, [(run["id"], os.path.join(run["folder"], "evaluation")) for run in runs])
    except (ValueError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(f"listening comparison: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
