"""Reader for PIAD point files (IAG-Net's release).

A point file (e.g. `Point_Test_Chair_1.txt`) is text, one point per line, space separated:
`<shape id> <Class> x y z a_1 ... a_17` with the 17 affordance scores in [0,1] in the order of
AFFORDANCES; 2048 lines per object. The affordance of an interaction image comes from its file
name, `Img_<Split>_<Class>_<affordance>_<n>.jpg` (second-to-last `_` field).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

AFFORDANCES: tuple[str, ...] = ("grasp", "contain", "lift", "open", "lay", "sit", "support", "wrapgrasp", "pour",
                                "move", "display", "push", "listen", "wear", "press", "cut", "stab")


@dataclass(frozen=True)
class PiadPoints:
    shape_id: str
    object_class: str
    points: np.ndarray  # (P,3) float32
    affordances: np.ndarray  # (P,17) float32

    def label(self, affordance: str) -> np.ndarray:
        if affordance not in AFFORDANCES:
            raise ValueError(f"unknown affordance {affordance!r}; PIAD's are {', '.join(AFFORDANCES)}")
        return self.affordances[:, AFFORDANCES.index(affordance)]


def read_point_file(path: str | Path) -> PiadPoints:
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"PIAD point file {path} does not exist")
    rows = [line.split() for line in path.read_text().splitlines() if line.strip()]
    if not rows:
        raise ValueError(f"{path} is empty; a PIAD point file has one point per line")
    width = 2 + 3 + len(AFFORDANCES)
    bad = [i + 1 for i, r in enumerate(rows) if len(r) != width]
    if bad:
        raise ValueError(f"{path}: line {bad[0]} has {len(rows[bad[0] - 1])} fields, expected {width} "
                         "(shape id, class, x y z, 17 affordances)")
    try:
        values = np.array([r[2:] for r in rows], dtype=np.float32)
    except ValueError as error:
        raise ValueError(f"{path}: non-numeric coordinates or affordances ({error})") from error
    return PiadPoints(shape_id=rows[0][0], object_class=rows[0][1], points=values[:, :3], affordances=values[:, 3:])


def affordance_of_image(path: str | Path) -> str:
    """`Img_Test_Chair_sit_1.jpg` -> 'sit'."""
    fields = Path(path).stem.split("_")
    if len(fields) < 3 or fields[-2] not in AFFORDANCES:
        raise ValueError(f"cannot read an affordance from {Path(path).name}; PIAD names images "
                         "Img_<Split>_<Class>_<affordance>_<n>.jpg")
    return fields[-2]
