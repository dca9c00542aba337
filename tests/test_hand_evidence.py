"""Which hands the default localizer claims (backend/localizers/default/localizer.py's hand path),
on the real Anny body in its canonical pose (Z up, arms hanging: hands ~0.7-0.8 m above the floor)."""
from __future__ import annotations

import numpy as np

from backend.bodies.parts import PART_ID
from backend.localizers.default.hand_claims import _support_explains_colour
from backend.localizers.default.priors import HANDS
from backend.localizers.default.supports import Supports
from tests.fitted_arms import arms_fit

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


def test_a_hand_hanging_below_a_seat_s_height_needs_a_grasp(anny_body):
    """A seated body's hand hanging lower than the seat hangs beside it: the disc beyond the hand reads the
    seat's side. Held out (not hanging) at that height, or hanging above the seat's band, it keeps its claim."""
    v = anny_body.canonical_vertices.astype(np.float64)
    height = _hand_height(anny_body, "right")
    seat = {"name": "seat", "height_m": round(height + 3 * HANDS["near_seat_m"], 3)}  # well above the hand
    supports = Supports(scores=np.zeros(len(v)), up=UP, found=[{"name": "floor", "height_m": 0.0}, seat])
    hands = {"right": _cue(), "left": _cue()}
    out = _support_explains_colour(hands, v, anny_body.parts, supports, {"right": True, "left": False})
    assert out["right"]["score"] < 0.5 and out["right"]["explained_by"] == "seat"
    assert out["left"]["score"] == 0.8 and "explained_by" not in out["left"]
    low = {**seat, "height_m": round(height - 2 * HANDS["near_seat_m"], 3)}  # the hand hangs above the seat
    supports = Supports(scores=np.zeros(len(v)), up=UP, found=[{"name": "floor", "height_m": 0.0}, low])
    out = _support_explains_colour({"right": _cue()}, v, anny_body.parts, supports, {"right": True})
    assert out["right"]["score"] == 0.8


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


def test_one_forearm_held_out_with_some_object_evidence_is_a_claim(anny_body):
    from backend.localizers.default.hand_claims import _held_out

    level, hanging = np.array([0.0, -0.25, 0.02]), np.array([0.0, -0.02, -0.25])
    weak = HANDS["held_out_object_min"] + 0.02
    hands = {"right": {"score": 0.3, "object_near": weak}, "left": {"score": 0.1, "object_near": 0.02}}
    out = _held_out(hands, arms_fit(anny_body, level, hanging), UP)
    assert out["right"]["score"] == HANDS["held_out_score"] and out["right"].get("held_out")
    assert out["left"]["score"] == 0.1
    # Both forearms held out (balancing, gesturing): the pose says nothing about an object.
    assert _held_out(hands, arms_fit(anny_body, level, level), UP)["right"]["score"] == 0.3
    # No object evidence at that hand, or more at the other hand: no claim.
    empty = {"right": {"score": 0.3, "object_near": 0.02}, "left": {"score": 0.1, "object_near": 0.01}}
    assert _held_out(empty, arms_fit(anny_body, level, hanging), UP)["right"]["score"] == 0.3
    other = {"right": {"score": 0.3, "object_near": weak}, "left": {"score": 0.1, "object_near": weak + 0.1}}
    assert _held_out(other, arms_fit(anny_body, level, hanging), UP)["right"]["score"] == 0.3
    # A lying body: forearms' angle to gravity is no holding pose.
    lying = arms_fit(anny_body, level, hanging, torso=np.array([0.0, 1.0, 0.0]))
    assert _held_out(hands, lying, UP)["right"]["score"] == 0.3


def test_held_out_compares_the_evidence_above_the_edge_noise(anny_body):
    """A hand hanging beside the body has more of the silhouette's outline in its disc than a hand held
    out: "more evidence than the other hand" is decided on the evidence above the photo's edge noise."""
    from backend.localizers.default.hand_claims import _held_out

    level, hanging = np.array([0.0, -0.25, 0.02]), np.array([0.0, -0.02, -0.25])
    raw = HANDS["held_out_object_min"] + 0.03
    hands = {"right": {"score": 0.3, "object_near": raw}, "left": {"score": 0.1, "object_near": raw + 0.001}}
    fit = arms_fit(anny_body, level, hanging)
    assert _held_out(hands, fit, UP)["right"]["score"] == 0.3  # raw shares: the hanging hand reads more
    out = _held_out(hands, fit, UP, excess={"right": 0.11, "left": 0.09})
    assert out["right"]["score"] == HANDS["held_out_score"] and out["right"]["held_out"]
    assert _held_out(hands, fit, UP, excess={"right": 0.05, "left": 0.09})["right"]["score"] == 0.3
