"""Reader for synthetic sets written by `python -m backend synth` (backend/eval/synth/generate.py)."""
from __future__ import annotations

from pathlib import Path

import numpy as np


def read_synthetic(folder: str | Path) -> dict:
    """images (list of Path), labels / labels_object (N,V) uint8, object_label, scenario (lists of str)."""
    folder = Path(folder)
    path = folder / "synth.npz"
    if not path.is_file():
        raise FileNotFoundError(f"{path} does not exist; create the set with "
                                f"`python -m backend synth --n N --out {folder}`")
    with np.load(path, allow_pickle=False) as data:
        missing = [k for k in ("imgname", "contact_label_anny", "contact_label_anny_object", "object_label", "scenario")
                   if k not in data.files]
        if missing:
            raise ValueError(f"{path} lacks {', '.join(missing)}; regenerate it with `python -m backend synth`")
        images = [folder / str(name) for name in data["imgname"]]
        out = {"images": images, "labels": data["contact_label_anny"].astype(np.uint8),
               "labels_object": data["contact_label_anny_object"].astype(np.uint8),
               "object_label": [str(x) for x in data["object_label"]], "scenario": [str(x) for x in data["scenario"]]}
    absent = [str(p) for p in images if not p.is_file()]
    if absent:
        raise FileNotFoundError(f"{len(absent)} image(s) of {folder} are missing, e.g. {absent[0]}")
    return out
