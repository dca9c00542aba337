"""The default localizer's hand evidence on tiny real inputs: a photo array with a person mask and
pose keypoints (backend/localizers/default/hand_object.py, hand_claims.py)."""
from __future__ import annotations

import numpy as np

from backend.localizers.default import detect as K
from backend.localizers.default.detect import Observation
from backend.localizers.default.hand_object import POSE_HAND, object_near_hand, rare_colours
from backend.localizers.default.priors import HANDS

SIZE = 400  # a colour is rare below 0.1% of its region (HANDS["rare_share"]): 150 background pixels here
GREY, SKIN, OBJECT = (110, 120, 130), (200, 160, 140), (30, 200, 60)
HAND = (250, 300)  # x, y of the right hand, at the end of a forearm hanging straight down the photo
TORSO = 150.0  # shoulders -> hips in pixels


def _photo(block: tuple[slice, slice] | None) -> Observation:
    """A standing person whose right arm hangs beside the body; `block` paints a 10x10 px object of
    a colour seen nowhere else."""
    rgb = np.zeros((SIZE, SIZE, 3), np.uint8)
    rgb[:] = GREY
    mask = np.zeros((SIZE, SIZE), np.float32)
    mask[75:380, 150:235] = 1.0  # the body
    mask[100:310, 244:257] = 1.0  # the right arm, the hand at its end
    rgb[mask > 0] = SKIN
    image = np.zeros((33, 3))
    image[K.L_SHOULDER, :2], image[K.R_SHOULDER, :2] = (160, 100), (235, 100)
    image[K.L_HIP, :2], image[K.R_HIP, :2] = (165, 250), (230, 250)
    image[K.R_ELBOW, :2] = (HAND[0], 200)
    image[list(POSE_HAND["right"]), :2] = HAND  # wrist, pinky, index, thumb: a coarse hand
    image[K.L_ELBOW, :2] = (150, 200)
    image[list(POSE_HAND["left"]), :2] = (150, 300)
    if block is not None:
        rgb[block] = OBJECT
    return Observation(rgb=rgb, image=image, visibility=np.ones(33), world=np.zeros((33, 3)), mask=mask)


def test_a_hanging_hands_load_is_looked_for_below_the_hand():
    beyond = HAND[1] + int(HANDS["load_beyond"] * TORSO)  # the centre of the disc below a hanging hand
    below = _photo((slice(beyond - 5, beyond + 5), slice(HAND[0] - 5, HAND[0] + 5)))  # a bag under the fingers
    rare = rare_colours(below)
    assert rare[beyond, HAND[0]] and not rare[150, 200] and not rare[20, 20]  # only the object is rare
    assert object_near_hand(below, "right", rare, hanging=True) > object_near_hand(below, "right", rare) > 0.0
    # The same object above the hand, beside the forearm (a wall's edge, a pattern behind the arm):
    # evidence at the hand, none where a hanging load would be.
    beside = _photo((slice(250, 260), slice(262, 272)))
    rare = rare_colours(beside)
    assert object_near_hand(beside, "right", rare) > 0.0
    assert object_near_hand(beside, "right", rare, hanging=True) == 0.0
    # Nothing near the hand: no evidence either way.
    empty = _photo(None)
    rare = rare_colours(empty)
    assert object_near_hand(empty, "right", rare, hanging=True) == object_near_hand(empty, "right", rare) == 0.0
