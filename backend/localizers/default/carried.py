"""Contact with carried objects that leave no trace in the pose: a backpack's shoulder straps.

Only with evidence: the user's label (semantic contact for "backpack"); the photo alone does not
show a strap reliably (a strap-coloured band over the shoulders is not yet read). The straps run
over the top of each shoulder between the neck and the shoulder joint (CARRIED['strap_inset'] of the
way from the shoulder joint to the mid-shoulders) and down its front and back: the torso and upper
arm vertices within CARRIED['strap_half_width_m'] of that vertical line, from
CARRIED['strap_drop_m'] below its top to above it.
"""
from __future__ import annotations

import numpy as np

from backend.bodies.parts import part_ids
from backend.localizers.default.priors import CARRIED

_STRAP_PARTS = part_ids(("chest", "back", "left_upper_arm", "right_upper_arm"))


def strap_patch(vertices: np.ndarray, parts: np.ndarray, joints: dict[str, np.ndarray], up: np.ndarray) -> np.ndarray:
    """(N,) bool: where both straps of a backpack lie on the fitted body (none without shoulder joints)."""
    out = np.zeros(len(vertices), dtype=bool)
    if "shoulder.L" not in joints or "shoulder.R" not in joints:
        return out
    mid = (np.asarray(joints["shoulder.L"]) + np.asarray(joints["shoulder.R"])) / 2
    on_torso = np.isin(parts, _STRAP_PARTS)
    height = vertices @ up
    for key in ("L", "R"):
        shoulder = np.asarray(joints[f"shoulder.{key}"])
        centre = shoulder + CARRIED["strap_inset"] * (mid - shoulder)
        offset = vertices - centre
        across = offset - np.outer(offset @ up, up)  # horizontal distance to the strap's vertical line
        top = height[on_torso & (np.linalg.norm(across, axis=1) <= CARRIED["strap_half_width_m"])]
        if top.size == 0:
            continue
        out |= (on_torso & (np.linalg.norm(across, axis=1) <= CARRIED["strap_half_width_m"])
                & (height >= top.max() - CARRIED["strap_drop_m"]))
    return out


def carried_scores(label_key: str | None, vertices: np.ndarray, parts: np.ndarray, joints: dict[str, np.ndarray],
                   up: np.ndarray) -> np.ndarray | None:
    """(N,) strap contact for a strap-carried label, None for other labels."""
    score = CARRIED["strap_labels"].get(label_key or "")
    if score is None:
        return None
    return strap_patch(vertices, parts, joints, up) * float(score)
