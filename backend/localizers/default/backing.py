"""A support behind a body that would fall backwards without one: a wall behind a leaning body, a
backrest behind a reclined seated torso.

Standing free, a body keeps its centre of mass over its feet. A fitted body standing on the floor whose
centre of mass (its surface's area-weighted mean) lies more than SUPPORT['backing_com_behind_m'] behind
the rearmost floor contact (along its backward direction, from the hips' left-right axis and gravity) is
held from behind. The support is the plane the back rests on: within SUPPORT['lying_tilt_max_deg'] of
vertical across that direction, the one whose rearmost band holds the most of the back, buttocks and
head (lying.resting_normal: the fit's tilt is off by several degrees, a vertical plane touched only the
shoulders); those parts within SUPPORT['band_m'] of it touch it.

The margin is wide because MediaPipe's depth tilts fitted bodies: on the tuning seed the fitted centre of
mass of upright bodies reads up to 19 cm behind the heels (a body seen from behind, a standing one),
their true ones 9-12 cm in front; the synthetic 'lean' bodies (tilted 2-6 deg) keep theirs 1-6 cm in
front of the heels, so nothing in the pose says they lean (bench/README.md).

A body whose buttocks touch the floor sits on it and rests on them: the standing balance does not apply
(the fitted torso's lean is MediaPipe's depth; dev seed 517 image 97, stretched_legs.py, read 33 cm).

A squat (seats.seat_supports found 'none under the hips': the photo's heels just below the hips) balances
on its feet, its hips behind the heels and its torso forward: no wall is looked for (seed 17 image 141, a
fitted squat's torso leant back, read 28 cm behind the heels: back and head claimed, geo 25.8 -> 0.9 cm).

Seated, the trunk balances on the pelvis: a torso reclined more than SUPPORT['backrest_recline_deg'] back
from upright rests on a backrest, the plane its back rests on (found as for the wall, starting across
the torso), touched by the back within SUPPORT['band_m'].
"""
from __future__ import annotations

import numpy as np

from backend.bodies.parts import PART_ID, part_ids
from backend.geometry import unit
from backend.localizers.default.lying import resting_normal
from backend.localizers.default.priors import SUPPORT

BACK = ("back", "buttocks", "head")


def backing(vertices: np.ndarray, parts: np.ndarray, joints: dict[str, np.ndarray], up: np.ndarray,
            on_floor: np.ndarray, areas: np.ndarray | None) -> tuple[np.ndarray, dict | None]:
    """(N,) bool on a support behind the body, and its report entry (None when the body needs none)."""
    none = np.zeros(len(vertices), bool)
    if not on_floor.any() or on_floor[parts == PART_ID["buttocks"]].any():  # sitting on the floor, not standing
        return none, None
    weight = np.ones(len(vertices)) if areas is None else areas
    com = (weight[:, None] * vertices).sum(axis=0) / weight.sum()
    behind = _behind(joints, up)
    overhang = float(com @ behind - (vertices[on_floor] @ behind).max())
    if overhang < SUPPORT["backing_com_behind_m"]:
        return none, None
    region = np.isin(parts, part_ids(BACK))
    normal = resting_normal(vertices, region, -behind, areas)  # the plane the back rests on, near vertical
    depth = vertices @ normal
    on = region & (depth <= float(depth[region].min()) + SUPPORT["band_m"])
    return on, {"name": "wall behind", "com_behind_m": round(overhang, 3), "vertices": int(on.sum()),
                "score": SUPPORT["backing_score"]}


def _behind(joints: dict[str, np.ndarray], up: np.ndarray) -> np.ndarray:
    """(3,) the body's horizontal backward direction: up x left (the body faces -Y, left is +X, up +Z)."""
    behind = np.cross(up, joints["hip.L"] - joints["hip.R"])
    behind -= (behind @ up) * up
    return unit(behind)


def backrest(vertices: np.ndarray, parts: np.ndarray, joints: dict[str, np.ndarray], up: np.ndarray,
             areas: np.ndarray | None) -> tuple[np.ndarray, dict | None]:
    """(N,) bool on a backrest behind a seated body's reclined torso, and its report entry (None: upright)."""
    behind = _behind(joints, up)
    shoulders = (joints["shoulder.L"] + joints["shoulder.R"]) / 2
    axis = shoulders - (joints["hip.L"] + joints["hip.R"]) / 2
    recline = float(np.degrees(np.arctan2(axis @ behind, axis @ up)))
    if recline < SUPPORT["backrest_recline_deg"]:
        return np.zeros(len(vertices), bool), None
    axis = unit(axis)
    across = behind - (behind @ axis) * axis  # the back's outward normal, across the torso
    region = parts == PART_ID["back"]
    normal = resting_normal(vertices, region, -across, areas)
    depth = vertices @ normal
    on = region & (depth <= float(depth[region].min()) + SUPPORT["band_m"])
    return on, {"name": "backrest", "recline_deg": round(recline, 1), "vertices": int(on.sum()),
                "score": SUPPORT["backing_score"]}
