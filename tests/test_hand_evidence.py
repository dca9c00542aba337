"""Which hands the default localizer claims (backend/localizers/default/localizer.py's hand path),
on the real Anny body in its canonical pose (Z up, arms hanging: hands ~0.7-0.8 m above the floor)."""
from __future__ import annotations

import numpy as np

from backend.bodies.parts import PART_ID
from backend.localizers.default.localizer import _support_explains_colour
from backend.localizers.default.priors import HANDS
from backend.localizers.default.supports import Supports

UP = np.array([0.0, 0.0, 1.0])


def _cue(score: float = 0.8, curl: float = -1.0) -> dict:
    return {"score": score, "finger_curl": curl, "object_near": 0.4}


def _hand_height(anny_body, side: str) -> float:
    v = anny_body.canonical_vertices.astype(np.float64)
    hand = np.isin(anny_body.parts, [PART_ID[f"{side}_palm"], PART_ID[f"{side}_fingers"]])
    return float((v[hand] @ UP).min() - (v @ UP).min())


def test_a_hand_at_a_seats_height_needs_a_grasp(anny_body):
    v = anny_body.canonical_vertices.astype(np.float64)
    height = _hand_height(anny_body, "right")
    seat = {"name": "seat", "height_m": round(height + 0.5 * HANDS["near_seat_m"], 3)}
    supports = Supports(scores=np.zeros(len(v)), up=UP, found=[{"name": "floor", "height_m": 0.0}, seat])
    out = _support_explains_colour({"right": _cue(), "left": _cue(curl=0.8)}, v, anny_body.parts, supports)
    assert out["right"]["score"] < 0.5 and out["right"]["explained_by"] == "seat"
    assert out["left"]["score"] == 0.8  # a curled hand grasps whatever it borders


def test_a_raised_hand_far_from_every_support_keeps_its_claim(anny_body):
    v = anny_body.canonical_vertices.astype(np.float64)
    height = _hand_height(anny_body, "right")
    assert height > HANDS["near_support_m"]  # canonical hands hang well above the floor
    seat = {"name": "seat", "height_m": round(height + 2 * HANDS["near_seat_m"], 3)}
    supports = Supports(scores=np.zeros(len(v)), up=UP, found=[{"name": "floor", "height_m": 0.0}, seat])
    out = _support_explains_colour({"right": _cue()}, v, anny_body.parts, supports)
    assert out["right"]["score"] == 0.8 and "explained_by" not in out["right"]


def test_a_hand_on_the_floor_needs_a_grasp(anny_body):
    v = anny_body.canonical_vertices.astype(np.float64)
    lowered = v.copy()
    right = np.isin(anny_body.parts, [PART_ID["right_palm"], PART_ID["right_fingers"], PART_ID["right_hand"]])
    # a hand beside a floor-sitter
    lowered[right, 2] -= _hand_height(anny_body, "right") - 0.5 * HANDS["near_support_m"]
    supports = Supports(scores=np.zeros(len(v)), up=UP, found=[{"name": "floor", "height_m": 0.0}])
    out = _support_explains_colour({"right": _cue()}, lowered, anny_body.parts, supports)
    assert out["right"]["score"] < 0.5 and out["right"]["explained_by"] == "floor"
