"""The patch a claimed hand touches on the fitted body (backend/localizers/default/hand_patch.py),
on the real Anny body in its canonical pose (Z up)."""
from __future__ import annotations

import numpy as np
import pytest

from backend.bodies.parts import PART_ID
from backend.localizers.default.hand_patch import hand_patch, hand_scores, is_hanging, palm_frame
from backend.localizers.default.priors import HANDS

UP = np.array([0.0, 0.0, 1.0])


@pytest.fixture(scope="module")
def body(anny_body):
    return anny_body.canonical_vertices.astype(np.float64), anny_body.faces, anny_body.parts


@pytest.mark.parametrize("side", ["left", "right"])
def test_grasp_patch_is_the_palm_side_near_the_grasp_centre(body, side):
    vertices, faces, parts = body
    patch = hand_patch(vertices, faces, parts, side, UP, hanging=False)
    palm, fingers = parts == PART_ID[f"{side}_palm"], parts == PART_ID[f"{side}_fingers"]
    assert not (patch & ~(palm | fingers)).any()  # never the back of the hand, never another part
    assert patch[palm].mean() > 0.9  # the palm holds the object
    assert 0.1 < patch[fingers].mean() < 0.6  # the fingers' near half, not all 1,374 vertices
    centre, normal = palm_frame(vertices, parts, side)
    grasp = centre + HANDS["grasp_offset_m"] * normal
    assert np.linalg.norm(vertices[patch] - grasp, axis=1).max() <= HANDS["grasp_radius_m"] + 1e-9
    # The normal points from the back of the hand through the palm.
    back = vertices[parts == PART_ID[f"{side}_hand"]].mean(0)
    assert (vertices[palm].mean(0) - back) @ normal > 0


def test_hanging_patch_is_the_hooked_fingers(body):
    vertices, faces, parts = body
    hand = np.isin(parts, [PART_ID["right_palm"], PART_ID["right_fingers"]])
    # The canonical arms hang at the sides: the fingertips are the hand's lowest points.
    patch = hand_patch(vertices, faces, parts, "right", UP, hanging=True)
    height = vertices @ UP
    assert patch[hand & (height <= height[hand].min() + 0.01)].all()  # the fingertips carry the load
    assert not patch[hand & (height > vertices[parts == PART_ID["right_palm"]].mean(0) @ UP)].any()
    assert patch[parts == PART_ID["right_palm"]].any()  # the palm's distal half pulls on a handle
    # The fingers above the lowest band stay hints (on the fitted hands of the tuning seed's carry images
    # their palmar side was ~4,600 false vertices for 61 true ones).
    fingers = parts == PART_ID["right_fingers"]
    assert not patch[fingers & (height > height[hand].min() + HANDS["hang_band_m"])].any()


def test_forearm_hanging_or_held_out():
    joints = {"elbow.R": np.array([0.0, 0.0, 1.0]), "wrist.R": np.array([0.0, -0.05, 0.75]),
              "elbow.L": np.array([0.0, 0.0, 1.0]), "wrist.L": np.array([0.0, -0.25, 1.05])}
    assert is_hanging(joints, "right", UP) and not is_hanging(joints, "left", UP)
    assert not is_hanging({}, "right", UP)  # no joints: a grasp, not a hanging load


def test_scores_claim_only_the_patch(body):
    vertices, faces, parts = body
    hands = {"right": {"score": 0.8}, "left": {"score": 0.3}}
    joints = {"elbow.R": np.array([0.0, 0.0, 1.0]), "wrist.R": np.array([0.0, -0.25, 1.05])}
    scores = hand_scores(hands, vertices, faces, parts, joints, UP)
    claimed = scores >= 0.5
    assert claimed.sum() == hands["right"]["patch_vertices"] and hands["right"]["patch"] == "grasp"
    assert not claimed[np.isin(parts, [PART_ID["right_hand"], PART_ID["left_palm"], PART_ID["left_fingers"]])].any()
    back = parts == PART_ID["right_hand"]
    assert np.allclose(scores[back], HANDS["back_of_hand"] * 0.8)  # the rest of the hand stays a hint


@pytest.mark.parametrize("side", ["left", "right"])
def test_grasp_patch_keeps_the_fingers_around_the_handle(body, side):
    """Of the fingers, the grasp claims those around a handle across the palm at the base of the fingers,
    not their far halves: the patch's fingers lie within grasp_axis_radius_m of that axis."""
    vertices, faces, parts = body
    patch = hand_patch(vertices, faces, parts, side, UP, hanging=False)
    fingers = parts == PART_ID[f"{side}_fingers"]
    centre, normal = palm_frame(vertices, parts, side)
    along = vertices[fingers].mean(0) - centre
    along -= normal * (along @ normal)
    along /= np.linalg.norm(along)
    reach = (vertices - centre) @ along  # how far along the fingers from the palm's centre
    assert patch[fingers & (reach < 0.06)].mean() > 0.5  # the proximal phalanges close around it
    assert not patch[fingers & (reach > HANDS["grasp_distal_m"] + HANDS["grasp_axis_radius_m"])].any()
