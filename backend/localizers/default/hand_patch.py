"""Where a hand in contact touches what it holds: a patch on the fitted hand, not the whole hand.

A hand claim used to paint the whole palm and fingers parts (105 + 1,374 vertices on Anny): a false
hand then cost 1,479 false vertices far from any true contact, and a true one still claimed the
fingers' far ends and their backs. The fitted hand keeps Anny's rest fingers (the fit poses the
wrist, not the finger joints), so the patch is decided from the palm's frame on the fitted body:

- holding (the forearm is not hanging): a held object lies against the palm; its axis sits
  HANDS["grasp_offset_m"] out from the palm's centre along the palm normal (the grasp centre), and
  the palm and finger vertices within HANDS["grasp_radius_m"] of it are the patch (the palm and the
  proximal and middle phalanges that close around a handle or a cup); of the fingers only those
  within HANDS["grasp_axis_radius_m"] of the handle's axis, which runs across the palm at the base
  of the fingers (the distal palmar crease, HANDS["grasp_distal_m"] beyond the palm's centre): the
  sphere alone also took the fingers' sides and tips far along them (on the fitted hands of the
  tuning seed's hold / hold_small / behind images F1 within the hand 0.81 -> 0.85);
- carrying a hanging load (the forearm within HANDS["hanging_deg"] of straight down): the load
  hangs from the hooked fingers, so the patch is the lowest HANDS["hang_band_m"] of the hand and the
  palm's distal half: the surface a handle or strap pulls on once the fingers close around it. The
  fingers' palmar side up to the palm's centre is not added: on the fitted hands of the tuning
  seed's carry images it added ~4,600 false vertices for 61 true ones (F1 within the hand 0.47 with
  it, 0.81 without at 3 cm; seed 17 overall, with the hanging-load colour disc: F1 0.518 against
  0.514 with it, geo 10.00 against 10.12 cm, carry 0.782 against 0.732; without the palm's half, at
  3 cm, F1 0.520, but a carried bag then leaves the palm out of contact, tests/test_default_localizer.py).
The rest of the hand, its back included, stays a hint (HANDS["back_of_hand"] x the claim).
"""
from __future__ import annotations

import numpy as np

from backend.bodies.parts import PART_ID
from backend.geometry import unit
from backend.localizers.default.priors import HANDS

_JOINT_SIDE = {"left": "L", "right": "R"}


def palm_frame(vertices: np.ndarray, parts: np.ndarray, side: str) -> tuple[np.ndarray, np.ndarray]:
    """(centre, unit normal) of this side's palm: the normal points from the back of the hand
    through the palm, towards what the hand holds."""
    centre = vertices[parts == PART_ID[f"{side}_palm"]].mean(axis=0)
    normal = centre - vertices[parts == PART_ID[f"{side}_hand"]].mean(axis=0)
    return centre, unit(normal)


def forearm_from_down(joints: dict[str, np.ndarray], side: str, up: np.ndarray) -> float:
    """Degrees between the fitted forearm (elbow -> wrist) and straight down; 0 without the joints."""
    key = _JOINT_SIDE[side]
    elbow, wrist = joints.get(f"elbow.{key}"), joints.get(f"wrist.{key}")
    if elbow is None or wrist is None:
        return 0.0
    forearm = np.asarray(wrist) - np.asarray(elbow)
    cos_down = float(-forearm @ up) / max(float(np.linalg.norm(forearm)), 1e-9)
    return float(np.degrees(np.arccos(np.clip(cos_down, -1.0, 1.0))))


def is_hanging(joints: dict[str, np.ndarray], side: str, up: np.ndarray) -> bool:
    """The forearm (elbow -> wrist of the fit) points within HANDS['hanging_deg'] of straight down."""
    key = _JOINT_SIDE[side]
    if f"elbow.{key}" not in joints or f"wrist.{key}" not in joints:
        return False
    return forearm_from_down(joints, side, up) <= HANDS["hanging_deg"]


def hand_patch(vertices: np.ndarray, faces: np.ndarray, parts: np.ndarray, side: str, up: np.ndarray,
               hanging: bool) -> np.ndarray:
    """(N,) bool: the palm and finger vertices of this side that touch a held or carried object."""
    inner = np.isin(parts, (PART_ID[f"{side}_palm"], PART_ID[f"{side}_fingers"]))
    centre, normal = palm_frame(vertices, parts, side)
    if hanging:
        height = vertices @ up
        low = height <= height[inner].min() + HANDS["hang_band_m"]
        return inner & (low | ((parts == PART_ID[f"{side}_palm"]) & (height <= centre @ up)))
    grasp = centre + HANDS["grasp_offset_m"] * normal
    near = inner & (np.linalg.norm(vertices - grasp, axis=1) <= HANDS["grasp_radius_m"])
    along = vertices[parts == PART_ID[f"{side}_fingers"]].mean(axis=0) - centre
    along -= normal * float(along @ normal)
    along = unit(along)
    axis = np.cross(normal, along)  # the handle's axis: across the palm, at the base of the fingers
    offset = vertices - (grasp + HANDS["grasp_distal_m"] * along)
    offset -= np.outer(offset @ axis, axis)
    around = np.linalg.norm(offset, axis=1) <= HANDS["grasp_axis_radius_m"]
    return near & ((parts == PART_ID[f"{side}_palm"]) | around)


def hand_scores(hands: dict[str, dict], vertices: np.ndarray, faces: np.ndarray, parts: np.ndarray,
                joints: dict[str, np.ndarray], up: np.ndarray) -> np.ndarray:
    """(N,) per-vertex hand contact: each side's claim score on its patch, the rest of the hand at
    HANDS['back_of_hand'] x score; records the patch kind and size in `hands` (the report)."""
    scores = np.zeros(len(vertices), dtype=np.float64)
    for side, cue in hands.items():
        hanging = is_hanging(joints, side, up)
        patch = hand_patch(vertices, faces, parts, side, up, hanging)
        cue["patch"] = "hanging load" if hanging else "grasp"
        cue["patch_vertices"] = int(patch.sum())
        rest = np.isin(parts, (PART_ID[f"{side}_palm"], PART_ID[f"{side}_fingers"], PART_ID[f"{side}_hand"]))
        scores[rest] = np.maximum(scores[rest], HANDS["back_of_hand"] * cue["score"])  # a hint, below 0.5
        scores[patch] = np.maximum(scores[patch], cue["score"])
    return scores
