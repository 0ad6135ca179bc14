"""The configs benchmarks run, both on the demo corpus: the paper's model and batch, and cfg.demo."""
from typing import Dict

from Config import resolve

DATA_KEYS = ("datasets", "unpaired_collections", "render_demo_corpus")


def config_for(label: str, **updates) -> Dict:
    """``"paper"``: the base config with the demo corpus as data; ``"demo"``: ``cfg.demo``."""
    demo = resolve(["cfg.semi_sup", "cfg.demo"], updates)
    if label == "demo":
        return demo
    return resolve(["cfg.semi_sup"], {**{key: demo[key] for key in DATA_KEYS}, **updates})
