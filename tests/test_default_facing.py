"""The feet's check on MediaPipe's left/right labels (backend/localizers/default/facing.py): real
MediaPipe on tests/data/anny_stand.jpg (image 2 of `python -m backend synth --seed 0`, a standing
body facing the camera), and the mirrored reading MediaPipe gives of such a body when it takes it as
seen from behind (every keypoint where it was, each left/right pair swapped)."""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from backend.localizers.default import detect as K
from backend.localizers.default.cues import classify_pose
from backend.localizers.default.facing import (labels_side_spread, mirrored_by_feet, mirrored_reading, toe_drops,
                                               torso_twist_cos, unmirrored, upper_body_mirrored)
from backend.localizers.default.priors import DETECT

DATA = Path(__file__).parent / "data"


@pytest.fixture(scope="module")
def standing():
    from backend.localizers.default.detect import Detector

    detector = Detector()
    try:
        return detector.detect(np.asarray(Image.open(DATA / "anny_stand.jpg").convert("RGB")))
    finally:
        detector.close()


def test_a_body_facing_the_camera_read_right_is_left_alone(standing):
    assert classify_pose(standing)[0] == "standing"
    assert labels_side_spread(standing) > DETECT["facing_spread_min"]  # left shoulder/hip on the photo's right
    assert min(toe_drops(standing)) > DETECT["facing_toe_drop_min"]  # toes nearer the camera: lower
    assert not mirrored_by_feet(standing, "standing")


def test_a_mirrored_reading_is_found_by_the_feet_and_turned_back(standing):
    mirrored = unmirrored(standing)  # the swap is its own inverse: this is MediaPipe's mirrored reading
    assert labels_side_spread(mirrored) == pytest.approx(-labels_side_spread(standing))
    np.testing.assert_allclose(mirrored.image[K.L_WRIST, :2], standing.image[K.R_WRIST, :2])
    np.testing.assert_allclose(mirrored.world[K.L_ANKLE], standing.world[K.R_ANKLE])  # the depth stays
    assert mirrored_by_feet(mirrored, "standing")
    back = unmirrored(mirrored)
    np.testing.assert_allclose(back.image, standing.image)
    np.testing.assert_allclose(back.world, standing.world)
    np.testing.assert_allclose(back.visibility, standing.visibility)
    # The feet decide only for a standing body with both feet seen: a kneeling foot stands on its toes,
    # a hidden foot's keypoints are MediaPipe's guesses.
    assert not mirrored_by_feet(mirrored, "kneeling")
    hidden = mirrored.visibility.copy()
    hidden[K.L_HEEL] = DETECT["visible"] - 0.2
    assert not mirrored_by_feet(replace(mirrored, visibility=hidden), "standing")


def test_an_upper_body_read_from_behind_over_legs_read_right_is_turned_back(standing):
    """MediaPipe may swap the upper body's labels only (dev seed 2017 image 119): its 3D torso then twists
    by more than a spine can, and the shoulders, not the hips or feet, are turned back."""
    assert torso_twist_cos(standing) > 0.8 and not upper_body_mirrored(standing, "standing")
    upper = unmirrored(standing, upper_only=True)
    np.testing.assert_allclose(upper.image[K.L_WRIST, :2], standing.image[K.R_WRIST, :2])
    np.testing.assert_allclose(upper.image[K.L_HIP], standing.image[K.L_HIP])  # the legs keep their labels
    assert torso_twist_cos(upper) < DETECT["twist_cos_max"]
    assert upper_body_mirrored(upper, "standing") and mirrored_reading(upper, "standing") == "upper body"
    np.testing.assert_allclose(unmirrored(upper, upper_only=True).world, standing.world)
    # A whole mirrored reading is the feet's whole swap; a right one is left alone; the feet decide for a
    # standing body only.
    assert not upper_body_mirrored(unmirrored(standing), "standing")
    assert mirrored_reading(unmirrored(standing), "standing") == "all"
    assert mirrored_reading(standing, "standing") is None and mirrored_reading(upper, "sitting") is None


def test_a_body_seen_from_behind_keeps_its_labels(standing):
    """Seen from behind, the labels say so and the toes are higher in the photo than the heels."""
    behind = unmirrored(standing)
    image = behind.image.copy()
    for heel, toe in ((K.L_HEEL, K.L_TOE), (K.R_HEEL, K.R_TOE)):
        image[toe, 1] = 2 * image[heel, 1] - image[toe, 1]  # the toe as far above its heel as it was below
    behind = replace(behind, image=image)
    assert max(toe_drops(behind)) < 0.0 and labels_side_spread(behind) < 0.0
    assert not mirrored_by_feet(behind, "standing")


def test_the_fit_of_the_turned_back_reading_faces_the_camera(standing, anny_body):
    """The fitted body of the corrected reading faces the camera like the person (its chest towards the
    camera, its left hip on the photo's right), as the fit of the right reading does; the fit of the
    mirrored reading turns its back to the camera."""
    from backend.bodies.parts import PART_ID
    from backend.localizers.default.fit import fit_pose

    parts = anny_body.parts

    def facing(obs) -> tuple[float, float]:  # the fit's frame: x the photo's right, -y towards the camera
        fit = fit_pose(obs.world, obs.visibility)
        front = fit.vertices[parts == PART_ID["chest"]].mean(0) - fit.vertices[parts == PART_ID["back"]].mean(0)
        return float(-front[1]), float(fit.joints["hip.L"][0] - fit.joints["hip.R"][0])

    mirrored = unmirrored(standing)
    assert min(facing(standing)) > 0 and min(facing(unmirrored(mirrored))) > 0
    assert max(facing(mirrored)) < 0
