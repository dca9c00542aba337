"""The seat under a seated body and the table under its resting forearms (priors.SUPPORT).

Works on the fitted Anny vertices (N,3) in the fit frame, with gravity's up already found
(supports.estimate_up). A seat carries the buttocks (and the back of level thighs) when the thighs
are folded and the hips well above the floor; a table is only looked for under a seated body, under
a level forearm pointing ahead at least SUPPORT['table_above_seat_m'] above the seat.
"""
from __future__ import annotations

import numpy as np

from backend.bodies.parts import PART_ID, part_ids
from backend.geometry import unit
from backend.localizers.default.priors import SUPPORT

ARMS = tuple(f"{side}_{part}" for side in ("left", "right") for part in ("forearm", "hand", "palm", "fingers"))


def floor_under(height: np.ndarray, parts: np.ndarray) -> float:
    """The floor's height: the lowest point of the body but its forearms and hands. The fit has no collision,
    so an upright torso's hanging arms reach 10-25 cm below the buttocks of a body sitting on the floor; a
    hand that rests on the floor lies level with what else touches it, so leaving it out moves nothing."""
    return float(height[~np.isin(parts, part_ids(ARMS))].min())


def angle_from_down(direction: np.ndarray, up: np.ndarray) -> float:
    """Angle (deg) of direction (3,), any length, from straight down (-up): 0 hanging, 90 level."""
    d = unit(direction)
    return float(np.degrees(np.arccos(np.clip(-d @ up, -1.0, 1.0))))


def _back_of_thigh(vertices: np.ndarray, thigh: np.ndarray, hip: np.ndarray, knee: np.ndarray,
                   up: np.ndarray) -> np.ndarray:
    """(N,) bool: thigh vertices on its underside (within SUPPORT['thigh_band_m'] of its lowest
    line along the thigh, and in its lower half), the surface a seat carries whatever the thigh's slope.
    The lower half's bound is the middle of the thigh's middle third (halfway between its lowest and
    highest points there): at the hip end the buttocks part holds the underside of a slice, whose
    lowest thigh vertex is then on the thigh's top (the groin, painted on the example photo before)."""
    length = float(np.linalg.norm(knee - hip))
    axis = unit(knee - hip)
    down = unit(-(up - (up @ axis) * axis))
    depth = (vertices - hip) @ down
    out = np.zeros(len(vertices), bool)
    rows = np.flatnonzero(thigh)
    if rows.size:  # the lowest line, in slices along the thigh (the hip end bulges deeper)
        along = (vertices[rows] - hip) @ axis
        slices = np.floor(along / SUPPORT["thigh_slice_m"]).astype(np.int64)
        slices -= slices.min()
        deepest = np.full(slices.max() + 1, -np.inf)
        np.maximum.at(deepest, slices, depth[rows])
        middle = depth[rows][(along > length / 3) & (along < 2 * length / 3)]
        centre = (middle.max() + middle.min()) / 2 if middle.size else -np.inf
        out[rows] = (depth[rows] >= deepest[slices] - SUPPORT["thigh_band_m"]) & (depth[rows] >= centre)
    return out


def thigh_angles(joints: dict[str, np.ndarray], up: np.ndarray) -> list[float]:
    """[left, right] degrees of each fitted thigh (hip -> knee) from hanging straight down."""
    return [angle_from_down(joints[f"knee.{s}"] - joints[f"hip.{s}"], up) for s in "LR"]


def seat_supports(vertices: np.ndarray, parts: np.ndarray, joints: dict[str, np.ndarray], up: np.ndarray,
                  thigh_drop: float = float("nan"), heel_distance: float = float("nan"),
                  lap_cover: float = float("nan"), wrists_seen: dict[str, bool] | None = None,
                  ) -> tuple[np.ndarray, list[dict]]:
    """(N,) contact scores from a seat and the tables of a seated body (0 elsewhere), and the supports
    found (supports.Supports.found entries). thigh_drop, heel_distance, lap_cover: cues.thigh_image_drop,
    cues.heel_image_distance and cues.lap_image_cover of the photo (NaN: unknown; see find_supports);
    wrists_seen: per side ('L', 'R'), the wrist was seen (None: no hidden-lap table)."""
    height = vertices @ up
    floor = floor_under(height, parts)
    scores = np.zeros(len(vertices))
    found: list[dict] = []
    hips = (joints["hip.L"] + joints["hip.R"]) / 2
    thighs = thigh_angles(joints, up)
    hip_height = float(hips @ up - floor)
    folded = min(thighs) >= SUPPORT["thigh_level_deg"] or thigh_drop < SUPPORT["seat_thigh_drop_max"]
    if not (folded and hip_height >= SUPPORT["seat_min_height_m"]):
        return _hidden_lap_table(parts, scores, found, lap_cover, wrists_seen)
    if heel_distance < SUPPORT["squat_heel_distance_max"]:  # hips just above the heels: squatting, on the feet
        found.append({"name": "none under the hips", "why": "squatting: the heels are "
                      f"{heel_distance:.2f} torso lengths from the hips in the photo"})
        return scores, found
    region = np.isin(parts, part_ids(("buttocks", "left_thigh", "right_thigh", "pelvis")))
    for side in "LR":  # the seat stops short of the knees
        near_knee = np.linalg.norm(vertices - joints[f"knee.{side}"], axis=1) < SUPPORT["seat_knee_gap_m"]
        region &= ~near_knee
    pelvis = np.isin(parts, part_ids(("buttocks", "pelvis")))
    seat = float(height[parts == PART_ID["buttocks"]].min())  # the seat is under the pelvis
    on_seat = pelvis & (height <= seat + SUPPORT["seat_band_m"])
    fitted_level = min(thighs) >= SUPPORT["thigh_level_deg"]  # else the fitted thighs' slope is wrong
    for side, name in (("L", "left"), ("R", "right")) if fitted_level else ():  # each thigh's back
        on_seat |= _back_of_thigh(vertices, region & (parts == PART_ID[f"{name}_thigh"]),
                                  joints[f"hip.{side}"], joints[f"knee.{side}"], up)
    scores[on_seat] = SUPPORT["seat_score"]
    found.append({"name": "seat", "height_m": round(seat - floor, 3), "vertices": int(on_seat.sum()),
                  "score": SUPPORT["seat_score"], "thigh_deg": [round(t, 1) for t in thighs],
                  "thigh_image_drop": None if np.isnan(thigh_drop) else round(thigh_drop, 2)})
    table_scores, tables = _tables(vertices, parts, joints, up, seat, floor)
    return _hidden_lap_table(parts, np.maximum(scores, table_scores), found + tables, lap_cover, wrists_seen)


def _hidden_lap_table(parts: np.ndarray, scores: np.ndarray, found: list[dict], lap_cover: float,
                      wrists_seen: dict[str, bool] | None) -> tuple[np.ndarray, list[dict]]:
    """A table top between the lap and the camera: the thighs are hidden in the photo (lap_cover below
    SUPPORT['table_lap_cover_max']), so each seen hand rests on it (palm and fingers: the fitted hand
    droops below the forearm, so the patch cannot come from its height; a side whose forearm already
    found a table keeps that patch)."""
    if not lap_cover < SUPPORT["table_lap_cover_max"] or wrists_seen is None:
        return scores, found
    for side, name in (("L", "left"), ("R", "right")):
        if not wrists_seen[side] or any(f["name"] == f"table under the {name} forearm" for f in found):
            continue
        hand = np.isin(parts, part_ids((f"{name}_palm", f"{name}_fingers")))
        scores[hand] = np.maximum(scores[hand], SUPPORT["table_score"])
        found.append({"name": f"table under the {name} hand", "vertices": int(hand.sum()),
                      "score": SUPPORT["table_score"], "lap_image_cover": round(lap_cover, 2)})
    return scores, found


def _tables(vertices: np.ndarray, parts: np.ndarray, joints: dict[str, np.ndarray], up: np.ndarray,
            seat: float, floor: float) -> tuple[np.ndarray, list[dict]]:
    """A table under each level forearm of a seated body that points ahead (seat, floor: heights along up)."""
    height = vertices @ up
    band = SUPPORT["band_m"]
    scores = np.zeros(len(vertices))
    found: list[dict] = []
    lateral = joints["hip.L"] - joints["hip.R"]
    facing = np.cross(lateral, up)  # the body faces -Y in Anny's rest: up x left points forward
    facing = unit(facing)
    for side, name in (("L", "left"), ("R", "right")):
        forearm = joints[f"wrist.{side}"] - joints[f"elbow.{side}"]
        level = angle_from_down(forearm, up) >= SUPPORT["forearm_level_deg"]
        flat = forearm - (forearm @ up) * up
        ahead = float(flat @ facing) / max(float(np.linalg.norm(flat)), 1e-9)
        if not level or ahead < SUPPORT["forearm_ahead"]:  # a table is in front, not at the side
            continue
        arm = np.isin(parts, part_ids((f"{name}_forearm", f"{name}_hand", f"{name}_palm", f"{name}_fingers")))
        top = float(height[arm & (parts == PART_ID[f"{name}_forearm"])].min())
        if top - seat < SUPPORT["table_above_seat_m"] or height[arm].min() < top - band:
            continue  # too low for a table, or the hand hangs below the forearm (nothing under it)
        on_table = arm & (height <= top + band)
        scores[on_table] = np.maximum(scores[on_table], SUPPORT["table_score"])
        found.append({"name": f"table under the {name} forearm", "height_m": round(top - floor, 3),
                      "vertices": int(on_table.sum()), "score": SUPPORT["table_score"]})
    return scores, found
