"""The default localizer's hand evidence on tiny real inputs: a photo array with a person mask and
pose keypoints (backend/localizers/default/hand_object.py, hand_claims.py)."""
from __future__ import annotations

import numpy as np

from backend.localizers.default import detect as K
from backend.localizers.default.detect import Observation
from backend.localizers.default.hand_object import POSE_HAND, object_near_hand, rare_colours
from backend.localizers.default.priors import HANDS
from tests.fitted_arms import arms_fit

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


def test_a_held_out_forearm_beside_an_unseen_arm_is_a_claim(anny_body):
    """Seen from behind, the far arm is hidden and its fitted forearm is MediaPipe's guess (often raised
    as high as the holding one): the seen forearm held out is the holding pose by itself."""
    from backend.localizers.default.hand_claims import _held_out
    from backend.localizers.default.priors import DETECT

    up = np.array([0.0, 0.0, 1.0])
    level = np.array([0.0, -0.25, 0.02])
    evidence = HANDS["held_out_object_min"] + 0.02
    fit = arms_fit(anny_body, level, level)  # both forearms held out in the fit
    seen_both = {"right": {"score": 0.3, "object_near": evidence, "visibility": 0.99},
                 "left": {"score": 0.1, "object_near": 0.02, "visibility": 0.99}}
    assert _held_out(seen_both, fit, up)["right"]["score"] == 0.3  # both seen held out: no one-hand pose
    hidden = {**seen_both, "left": {**seen_both["left"], "visibility": DETECT["visible"] - 0.3}}
    out = _held_out(hidden, fit, up)
    assert out["right"]["score"] == HANDS["held_out_score"] and out["right"]["held_out"]
    assert out["right"]["other_arm_seen"] is False  # the report says why no lower arm was needed
    assert out["left"]["score"] == 0.1  # the hidden hand gains nothing
    # Still only with object evidence at the seen hand.
    bare = {**hidden, "right": {**hidden["right"], "object_near": HANDS["held_out_object_min"] - 0.05}}
    assert _held_out(bare, fit, up)["right"]["score"] == 0.3


def test_the_report_says_where_the_object_was_looked_for():
    from backend.localizers.default.cues import hand_cues

    photo = _photo(None)
    cues = hand_cues(photo, {"right": True, "left": False})
    assert cues["right"]["object_looked"].startswith("beyond the hand")
    assert cues["left"]["object_looked"] == "at the hand"
    assert "object_looked" not in hand_cues(photo)["right"]  # the template localizer's report as it was


def _noisy_outline(photo: Observation) -> Observation:
    """The same photo with the silhouette's outline blended into a textured background: every pixel
    just outside the person mask gets its own mix of skin and background, so the blends are rare."""
    from scipy import ndimage

    person = photo.mask >= HANDS["person_mask"]
    outline = ndimage.binary_dilation(person, iterations=2) & ~person
    rng = np.random.default_rng(0)
    rgb = photo.rgb.copy()
    mix = rng.uniform(0.0, 1.0, (int(outline.sum()), 1))
    blend = mix * np.array(SKIN) + (1 - mix) * np.array(GREY) + rng.integers(-40, 40, (int(outline.sum()), 3))
    rgb[outline] = np.clip(blend, 0, 255).astype(np.uint8)
    return Observation(rgb=rgb, image=photo.image, visibility=photo.visibility, world=photo.world, mask=photo.mask)


def test_the_silhouette_edge_noise_is_no_object():
    from backend.localizers.default.hand_object import object_excess

    empty = _noisy_outline(_photo(None))
    rare = rare_colours(empty)
    assert object_near_hand(empty, "right", rare) > 0.0  # the blended outline beside the hand reads as colour
    excess = object_excess(empty, {"left": False, "right": False}, rare)
    assert excess["right"] < HANDS["excess_min"] and excess["left"] < HANDS["excess_min"]
    # An object in the hand (a shaded 24x24 px box of colours seen nowhere else) stands out above the same noise.
    holding = _noisy_outline(_photo(None))
    box = (slice(HAND[1] - 12, HAND[1] + 12), slice(HAND[0] - 12, HAND[0] + 12))
    shade = np.random.default_rng(1).integers(-50, 50, (24, 24, 1))
    holding.rgb[box] = np.clip(np.array(OBJECT) + shade, 0, 255).astype(np.uint8)
    rare = rare_colours(holding)
    held = object_excess(holding, {"left": False, "right": False}, rare)
    assert held["right"] >= HANDS["excess_min"] and held["left"] < HANDS["excess_min"]
    # Without a person mask there is no outline to measure: no evidence.
    bare = Observation(rgb=holding.rgb, image=holding.image, visibility=holding.visibility, world=holding.world,
                       mask=None)
    assert object_excess(bare, {}, rare_colours(bare)) == {"left": 0.0, "right": 0.0}


def test_a_colour_claim_within_the_edge_noise_or_just_at_the_bar_stays_a_hint():
    """Colour alone claims a hand only above the photo's silhouette-edge noise and clearly above the bar
    (HANDS['colour_alone_min']); a held-out forearm or a grasp keeps the claim either way."""
    from backend.localizers.default.hand_claims import _colour_alone

    cue = {"score": 0.6, "object_near": 0.36, "finger_curl": -1.0}
    low, high = HANDS["excess_min"] - 0.05, HANDS["excess_min"] + 0.05
    out = _colour_alone({"right": cue, "left": dict(cue)}, {"right": low, "left": high})
    assert out["right"]["score"] < 0.5 and out["right"]["explained_by"] == "silhouette edge"
    assert out["left"]["score"] == 0.6 and out["left"]["object_excess"] == round(high, 3)
    weak = {**cue, "score": (0.5 + HANDS["colour_alone_min"]) / 2}  # a claim, but only just
    out = _colour_alone({"right": weak}, {"right": high})
    assert out["right"]["score"] < 0.5 and out["right"]["explained_by"] == "weak colour"
    # The pose of holding (a forearm held out) or a grasp keeps the claim: the colour is not all it rests on.
    for evidence in ({"held_out": True}, {"finger_curl": 0.8}):
        for base, noise in ((cue, low), (weak, high)):
            kept = _colour_alone({"right": {**base, **evidence}}, {"right": noise})
            assert kept["right"]["score"] == base["score"] and "explained_by" not in kept["right"]


def test_the_hand_s_own_skin_beyond_the_mask_is_no_object():
    """Spread fingers the person mask missed are background pixels of the face's colour: rare in the
    background, they read as an object at the hand; hand_object.skin_beyond_mask finds them (not an object
    of another colour beside them), and a colour-alone claim resting on them stays a hint."""
    from backend.localizers.default.hand_claims import _colour_alone
    from backend.localizers.default.hand_object import object_excess, skin_beyond_mask

    photo = _photo((slice(HAND[1] - 5, HAND[1] + 5), slice(HAND[0] + 20, HAND[0] + 30)))  # an object 2 cm off
    photo.image[K.NOSE, :2] = (192, 95)  # the face: the body's skin
    rng = np.random.default_rng(3)
    for offset in (0, 6, 12):  # three fingers, 2 px wide, 9 px long, beyond the mask's edge at x = 257
        photo.rgb[HAND[1] + offset:HAND[1] + offset + 2, 257:266] = np.clip(
            np.array(SKIN) + rng.integers(0, 8, (2, 9, 3)), 0, 255).astype(np.uint8)
    skin = skin_beyond_mask(photo)
    assert skin[HAND[1], 258:266].all() and skin[HAND[1] + 12, 258:266].all()
    assert not skin[HAND[1], HAND[0] + 20:HAND[0] + 30].any()  # the object's colour is no skin
    assert not skin[photo.mask > 0].any() and not skin[20, 20]  # only beyond the mask, only near it
    rare = rare_colours(photo)
    raw = object_excess(photo, {"left": False, "right": False}, rare)["right"]
    skinless = object_excess(photo, {"left": False, "right": False}, rare & ~skin)["right"]
    assert skinless < raw
    cue = {"score": 0.7, "object_near": 0.5, "finger_curl": -1.0}
    out = _colour_alone({"right": cue}, {"right": HANDS["excess_min"] + 0.1}, {"right": HANDS["excess_min"] - 0.05})
    assert out["right"]["score"] < 0.5 and out["right"]["explained_by"] == "the hand's own skin"
    kept = _colour_alone({"right": {**cue, "held_out": True}}, {"right": 0.3}, {"right": 0.0})
    assert kept["right"]["score"] == 0.7  # a held-out hand keeps its own fingers' evidence
    bare = Observation(rgb=photo.rgb, image=photo.image, visibility=photo.visibility, world=photo.world, mask=None)
    assert skin_beyond_mask(bare) is None


def _shades(rng, shape: tuple[int, int], base: tuple[int, int, int]) -> np.ndarray:
    """Pixels of `base` with +-60 per channel of noise: each of their colours rare in its region."""
    return np.clip(np.array(base) + rng.integers(-60, 60, (*shape, 3)), 0, 255).astype(np.uint8)


def test_colour_along_the_body_s_side_is_no_held_object():
    """A shadow cast on a wall right behind the body runs along its right side and arm, past the hand: the
    object cue at the hand fires, and so does the torso's edge on that side (hand_object.torso_side_rare);
    an object in the hand leaves the torso's edge plain. The claim of a hand hanging on a rare side stays a
    hint; a bent arm keeps it (an object held against the torso's side reads the same)."""
    from backend.localizers.default.hand_claims import _body_side_explains_colour
    from backend.localizers.default.hand_object import torso_side_rare

    rng = np.random.default_rng(2)
    hanging = {"left": False, "right": False}
    shadow = _photo(None)
    for cols in (slice(236, 244), slice(257, 266)):  # beside the torso and beside the arm
        shadow.rgb[110:340, cols] = _shades(rng, (230, cols.stop - cols.start), (60, 50, 70))
    rare = rare_colours(shadow)
    side = torso_side_rare(shadow, hanging, rare)
    assert object_near_hand(shadow, "right", rare) > 0.5
    assert side["right"] >= HANDS["side_edge_rare_max"] and side["left"] == 0.0
    held = _photo(None)
    held.rgb[HAND[1] - 12:HAND[1] + 12, HAND[0] - 12:HAND[0] + 12] = _shades(rng, (24, 24), OBJECT)
    rare = rare_colours(held)
    assert object_near_hand(held, "right", rare) > 0.2 and torso_side_rare(held, hanging, rare)["right"] < 0.05
    claim = {"score": 0.9, "object_near": 0.7, "finger_curl": 0.6}
    both_hang = {"left": True, "right": True}
    out = _body_side_explains_colour({"right": claim, "left": dict(claim)}, side, both_hang)
    assert out["right"]["score"] < 0.5 and out["right"]["explained_by"] == "body side"
    assert out["left"]["score"] == 0.9 and out["left"]["side_edge_rare"] == 0.0
    bent = _body_side_explains_colour({"right": claim}, side, {"right": False})
    assert bent["right"]["score"] == 0.9 and "explained_by" not in bent["right"]
    # A bent arm's claim by colour alone (no grasp, not held out) gives way only on a side rarer still
    # (HANDS['side_bent_max']: a backpack seen past the body), never when held out.
    colour = {**claim, "finger_curl": -1.0}
    for rare_side, kept in ((HANDS["side_bent_max"] + 0.05, False), (HANDS["side_bent_max"] - 0.05, True)):
        out = _body_side_explains_colour({"right": colour}, {"right": rare_side}, {"right": False})
        assert (out["right"]["score"] == 0.9) is kept, (rare_side, out)
    held_out = _body_side_explains_colour({"right": {**colour, "held_out": True}}, {"right": 0.9}, {"right": False})
    assert held_out["right"]["score"] == 0.9


def test_a_curled_hand_without_an_object_is_a_fist():
    from backend.localizers.default.hand_claims import _fist_without_object

    curled = {"score": HANDS["grasp_weight"], "object_near": 0.05, "finger_curl": 0.7}
    out = _fist_without_object({"right": curled, "left": dict(curled)},
                               {"right": HANDS["grasp_object_min"] - 0.05, "left": HANDS["grasp_object_min"] + 0.1})
    assert out["right"]["score"] < 0.5 and out["right"]["fist"]
    assert out["left"]["score"] == HANDS["grasp_weight"] and "fist" not in out["left"]
    open_hand = {**curled, "finger_curl": 0.2, "score": 0.3}  # not curled: the rule does not apply
    assert _fist_without_object({"right": open_hand}, {"right": 0.0})["right"] == open_hand
