"""Contact from the fitted body and the supports its pose needs under gravity (priors.SUPPORT).

Works on the fitted Anny vertices (N,3) in the fit frame. Gravity: the 'down' direction whose
plane under the lowest points carries the most body surface (swept over camera pitch/roll, since
MediaPipe's world frame follows the camera). Supports, each a plane: the floor under the lowest
points; a seat under the buttocks when the thighs are level and the hips well above the floor; a
table under a level forearm of a seated body. A vertex within SUPPORT['band_m'] of a support's
plane (or below it: penetration) and in the support's region is in contact, so contact is a patch;
a foot levelled flat on the floor (fit.rest_feet_on_floor) touches it with its sole (flat_foot_patch).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from backend.bodies.parts import PART_ID, part_ids
from backend.localizers.default.priors import SUPPORT


@dataclass
class Supports:
    scores: np.ndarray  # (N,) float in [0,1] per fitted-body vertex
    up: np.ndarray  # (3,) unit up in the fit frame
    found: list[dict] = field(default_factory=list)  # per support: name, height_m, vertices, score


def _rotation(pitch: float, roll: float) -> np.ndarray:
    p, r = np.radians(pitch), np.radians(roll)
    rx = np.array([[1, 0, 0], [0, np.cos(p), -np.sin(p)], [0, np.sin(p), np.cos(p)]])
    ry = np.array([[np.cos(r), 0, np.sin(r)], [0, 1, 0], [-np.sin(r), 0, np.cos(r)]])
    return rx @ ry


def vertex_areas(vertices: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """(N,) surface area (m²) each vertex stands for: a third of each adjacent triangle's area."""
    corners = vertices[faces]
    area = 0.5 * np.linalg.norm(np.cross(corners[:, 1] - corners[:, 0], corners[:, 2] - corners[:, 0]), axis=1)
    return np.bincount(faces.reshape(-1), np.repeat(area / 3.0, 3), minlength=len(vertices))


def estimate_up(vertices: np.ndarray, areas: np.ndarray | None = None) -> np.ndarray:
    """(3,) the up direction whose lowest band holds the most body surface (a prior favours no tilt).

    areas: (N,) per-vertex area (vertex_areas); without it every vertex counts the same, which lets
    densely meshed parts win: the toes' tops outweighed a kneeling body's shins (issue 17).
    """
    best, best_up = -np.inf, np.array([0.0, 0.0, 1.0])
    step = SUPPORT["up_sample"]
    sample = vertices[::step]
    weight = np.full(len(sample), 1.0 / len(sample)) if areas is None else areas[::step] / areas[::step].sum()
    for pitch in np.arange(-SUPPORT["tilt_max_deg"], SUPPORT["tilt_max_deg"] + 1e-6, SUPPORT["tilt_step_deg"]):
        for roll in (-10.0, -5.0, 0.0, 5.0, 10.0):
            up = _rotation(pitch, roll) @ np.array([0.0, 0.0, 1.0])
            height = sample @ up
            share = float(weight[height <= height.min() + SUPPORT["band_m"]].sum())
            score = share - SUPPORT["tilt_penalty"] * (abs(pitch) + abs(roll))
            if score > best:
                best, best_up = score, up
    return best_up


def _angle_from_down(direction: np.ndarray, up: np.ndarray) -> float:
    d = direction / max(np.linalg.norm(direction), 1e-9)
    return float(np.degrees(np.arccos(np.clip(-d @ up, -1.0, 1.0))))


def _back_of_thigh(vertices: np.ndarray, thigh: np.ndarray, hip: np.ndarray, knee: np.ndarray,
                   up: np.ndarray) -> np.ndarray:
    """(N,) bool: thigh vertices on its underside (within SUPPORT['thigh_band_m'] of its lowest
    line along the thigh), the surface a seat carries whatever the thigh's slope."""
    axis = (knee - hip) / max(np.linalg.norm(knee - hip), 1e-9)
    down = -(up - (up @ axis) * axis)
    down /= max(np.linalg.norm(down), 1e-9)
    depth = (vertices - hip) @ down
    out = np.zeros(len(vertices), bool)
    rows = np.flatnonzero(thigh)
    if rows.size:  # the lowest line, in slices along the thigh (the hip end bulges deeper)
        slices = np.floor(((vertices[rows] - hip) @ axis) / SUPPORT["thigh_slice_m"]).astype(np.int64)
        slices -= slices.min()
        deepest = np.full(slices.max() + 1, -np.inf)
        np.maximum.at(deepest, slices, depth[rows])
        out[rows] = depth[rows] >= deepest[slices] - SUPPORT["thigh_band_m"]
    return out


def flat_foot_patch(on_floor: np.ndarray, height: np.ndarray, parts: np.ndarray,
                    flat_feet: tuple[str, ...]) -> np.ndarray:
    """(N,) bool on_floor with each flat foot's patch replaced by its vertices within
    SUPPORT['flat_foot_band_m'] of its own sole: a levelled foot carries the weight on its whole
    sole, and the floor's 3 cm band would take the foot's rim as well."""
    out = on_floor.copy()
    for side in flat_feet:
        name = {"L": "left", "R": "right"}[side]
        foot = np.isin(parts, part_ids((f"{name}_foot", f"{name}_sole")))
        out[foot] = height[foot] <= float(height[foot].min()) + SUPPORT["flat_foot_band_m"]
    return out


def find_supports(vertices: np.ndarray, parts: np.ndarray, joints: dict[str, np.ndarray],
                  legs_seen: bool, feet_seen: dict[str, bool], areas: np.ndarray | None = None,
                  thigh_drop: float = float("nan"), flat_feet: tuple[str, ...] = ()) -> Supports:
    """Per-vertex support contact of the fitted body.

    joints: fitted joint positions ('hip.L', 'knee.L', 'ankle.L', 'elbow.L', 'wrist.L', ... .R).
    legs_seen: the knees were seen (else nothing below the waist is claimed: the pose there is a guess).
    feet_seen: per side ('L', 'R'), the ankle was seen (else that foot's floor contact is scored
        SUPPORT['unseen_score']: a kneeling body's knees still touch the floor when its feet are hidden).
    areas: (N,) per-vertex surface area (vertex_areas of the fitted mesh) for the gravity search.
    thigh_drop: cues.thigh_image_drop of the photo (NaN: unknown); below SUPPORT['seat_thigh_drop_max']
        the thighs are folded in the photo, which seats the body even when the fitted thighs hang.
    flat_feet: sides whose foot stands flat on the floor (fit.rest_feet_on_floor): its sole patch is
        the foot's vertices within SUPPORT['flat_foot_band_m'] of its own sole (flat_foot_patch).
    """
    up = estimate_up(vertices, areas)
    height = vertices @ up
    floor = float(height.min())
    scores = np.zeros(len(vertices))
    found: list[dict] = []
    if not legs_seen:
        return Supports(scores, up, [{"name": "none", "why": "knees not seen: the support is not visible"}])
    band = SUPPORT["band_m"]
    shoulders = (joints["shoulder.L"] + joints["shoulder.R"]) / 2
    hips = (joints["hip.L"] + joints["hip.R"]) / 2
    lying = _angle_from_down(hips - shoulders, up) > SUPPORT["lying_deg"]
    # a body lying down sinks into what carries it (bedding, soft tissue): the seat's deeper band
    on_floor = height <= floor + (SUPPORT["lying_band_m"] if lying else band)
    if lying:  # the head rests on the back half of the skull
        head = parts == PART_ID["head"]
        on_floor |= head & (height <= floor + SUPPORT["lying_head_band_m"])
    if not lying:
        on_floor = flat_foot_patch(on_floor, height, parts, flat_feet)
    scores[on_floor] = SUPPORT["floor_score"]
    for side, name in (("L", "left"), ("R", "right")):  # an unseen foot's floor contact is a hint only
        if not feet_seen[side]:
            foot = np.isin(parts, part_ids((f"{name}_foot", f"{name}_sole")))
            scores[on_floor & foot] = SUPPORT["unseen_score"]
    found.append({"name": "floor", "height_m": 0.0, "vertices": int(on_floor.sum()), "score": SUPPORT["floor_score"],
                  "unseen_feet": [s for s in "LR" if not feet_seen[s]]})

    thighs = [_angle_from_down(joints[f"knee.{s}"] - joints[f"hip.{s}"], up) for s in "LR"]
    hip_height = float(hips @ up - floor)
    folded = min(thighs) >= SUPPORT["thigh_level_deg"] or thigh_drop < SUPPORT["seat_thigh_drop_max"]
    if folded and hip_height >= SUPPORT["seat_min_height_m"]:
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
        scores[on_seat] = np.maximum(scores[on_seat], SUPPORT["seat_score"])
        found.append({"name": "seat", "height_m": round(seat - floor, 3), "vertices": int(on_seat.sum()),
                      "score": SUPPORT["seat_score"], "thigh_deg": [round(t, 1) for t in thighs],
                      "thigh_image_drop": None if np.isnan(thigh_drop) else round(thigh_drop, 2)})
        lateral = joints["hip.L"] - joints["hip.R"]
        facing = np.cross(lateral, up)  # the body faces -Y in Anny's rest: up x left points forward
        facing /= max(np.linalg.norm(facing), 1e-9)
        for side, name in (("L", "left"), ("R", "right")):
            forearm = joints[f"wrist.{side}"] - joints[f"elbow.{side}"]
            level = _angle_from_down(forearm, up) >= SUPPORT["forearm_level_deg"]
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
    if any(s["name"] == "seat" for s in found):
        seated_hidden_feet(scores, on_floor, parts, feet_seen, flat_feet, found[0])
    return Supports(scores, up, found)


def seated_hidden_feet(scores: np.ndarray, on_floor: np.ndarray, parts: np.ndarray, feet_seen: dict[str, bool],
                       flat_feet: tuple[str, ...], floor: dict) -> None:
    """A seated body's unseen foot that its fitted pose puts flat on the floor (one of flat_feet) rests
    on it: its patch gets SUPPORT['seated_hidden_foot_score'] instead of the unseen hint (in place;
    `floor`, the floor's found entry, lists those sides under 'hidden_feet_on_floor'). The seat carries
    the body, so the shins hang from the knees and the feet go down to the floor; MediaPipe's guess of
    hidden feet follows the seen body (a crate in front of the shins, a table, the frame's edge)."""
    rest = [side for side in "LR" if not feet_seen[side] and side in flat_feet]
    for side in rest:
        name = "left" if side == "L" else "right"
        foot = np.isin(parts, part_ids((f"{name}_foot", f"{name}_sole")))
        scores[on_floor & foot] = np.maximum(scores[on_floor & foot], SUPPORT["seated_hidden_foot_score"])
    floor["hidden_feet_on_floor"] = rest

