"""The body-part vocabulary shared by every body source and localizer.

Part ids are indices into PARTS; per-vertex labels are int16 arrays of these ids. The canonical
frame of every body is Z up, metres, the body facing -Y (towards Blender's front view camera), so
the body's own left side is at +X.
"""
from __future__ import annotations

import numpy as np

PARTS: tuple[str, ...] = (
    "head",
    "neck",
    "chest",
    "abdomen",
    "back",
    "pelvis",
    "buttocks",
    "left_upper_arm",
    "right_upper_arm",
    "left_forearm",
    "right_forearm",
    "left_hand",  # back of the hand and wrist
    "right_hand",
    "left_palm",
    "right_palm",
    "left_fingers",
    "right_fingers",
    "left_thigh",
    "right_thigh",
    "left_shin",
    "right_shin",
    "left_foot",  # top and sides of the foot
    "right_foot",
    "left_sole",
    "right_sole",
)
PART_ID: dict[str, int] = {name: i for i, name in enumerate(PARTS)}


def mirror_name(name: str) -> str:
    """The part on the other side of the body (unchanged for central parts)."""
    if name.startswith("left_"):
        return "right_" + name[len("left_"):]
    if name.startswith("right_"):
        return "left_" + name[len("right_"):]
    return name


# MIRROR[i] is the id of part i's mirror image.
MIRROR: np.ndarray = np.array([PART_ID[mirror_name(n)] for n in PARTS], dtype=np.int16)

# The part each limb part is attached to, towards the torso: a limb's direction is read from where it meets
# this part outwards, which is the same end on any body in any pose (correspondence.py).
_LIMBS = (("upper_arm", "chest"), ("forearm", "upper_arm"), ("hand", "forearm"), ("palm", "forearm"),
          ("fingers", "palm"), ("thigh", "pelvis"), ("shin", "thigh"), ("foot", "shin"), ("sole", "shin"))
PARENT: dict[str, str] = {"neck": "chest", "head": "neck",
                          **{f"{side}_{part}": parent if parent in PART_ID else f"{side}_{parent}"
                             for side in ("left", "right") for part, parent in _LIMBS}}


def part_ids(names: list[str] | tuple[str, ...]) -> np.ndarray:
    """Ids of the named parts; an unknown name raises ValueError listing the vocabulary."""
    unknown = [n for n in names if n not in PART_ID]
    if unknown:
        raise ValueError(f"unknown body part(s) {unknown}; known parts: {', '.join(PARTS)}")
    return np.array([PART_ID[n] for n in names], dtype=np.int16)
