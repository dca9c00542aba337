"""Supports and the limb-depth fix of the default localizer on bodies in known poses (issue 17)."""
from __future__ import annotations

import numpy as np
import pytest

from backend.bodies.parts import PART_ID


def _generator_deltas(scenario: str, index: int) -> dict[str, np.ndarray]:
    """The generator's bone rotations for `scenario` (its jitter drawn from index)."""
    from backend.eval.synth.poses import pose_angles, rotation

    deltas = {}
    for bone, rotations in pose_angles(scenario, np.random.default_rng([0, index])).items():
        matrix = np.eye(3)
        for axis, degrees in rotations:
            matrix = matrix @ rotation(axis, degrees)
        deltas[bone] = matrix
    return deltas


def _posed(scenario: str, index: int) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Anny in the generator's pose (default phenotype), vertices and joints, Z up."""
    from backend.localizers.default.fit import JOINTS, _model, posed

    vertices, heads = posed(_generator_deltas(scenario, index))
    labels = list(_model().bone_labels)
    joints = {f"{j}.{s}": heads[labels.index(f"{b}.{s}")] for s in "LR" for j, b in JOINTS.items()}
    return vertices, joints


def _pitch(degrees: float) -> np.ndarray:
    a = np.radians(degrees)
    return np.array([[1.0, 0.0, 0.0], [0.0, np.cos(a), -np.sin(a)], [0.0, np.sin(a), np.cos(a)]])


@pytest.fixture(scope="module")
def kneeling(anny_body):
    """A kneeling body settled on its shins and feet, seen by a camera pitched 10 deg (the fit frame
    follows the camera, so gravity is not the frame's -Z)."""
    from backend.eval.synth.generate import settle

    vertices, joints = _posed("kneel", 5)
    shins = np.isin(anny_body.parts, [PART_ID["left_shin"], PART_ID["right_shin"]])
    feet = np.isin(anny_body.parts, [PART_ID["left_foot"], PART_ID["right_foot"]])
    settled = settle(vertices, shins, feet)
    rot = np.linalg.lstsq(vertices - vertices.mean(0), settled - settled.mean(0), rcond=None)[0]
    camera = _pitch(10.0)
    joints = {k: (camera @ (v @ rot)) for k, v in joints.items()}
    return settled @ camera.T, joints, camera @ np.array([0.0, 0.0, 1.0])


def test_a_kneeling_body_rests_on_its_shins_by_surface_area(kneeling, anny_body):
    """The lowest band with the most body surface is under the shins; by vertex count the densely
    meshed toes' tops won and gravity tilted onto the feet (issue 17, kneel F1 0.10)."""
    from backend.localizers.default.supports import find_supports, vertex_areas

    vertices, joints, true_up = kneeling
    supports = find_supports(vertices, anny_body.parts, joints, legs_seen=True, feet_seen={"L": True, "R": True},
                             areas=vertex_areas(vertices, anny_body.faces))
    assert np.degrees(np.arccos(np.clip(supports.up @ true_up, -1, 1))) <= 5.0
    on = supports.scores >= 0.5
    shins = np.isin(anny_body.parts, [PART_ID["left_shin"], PART_ID["right_shin"]])
    feet = np.isin(anny_body.parts, [PART_ID["left_foot"], PART_ID["right_foot"]])
    assert on[shins].sum() >= 40  # both shins' fronts on the floor
    assert on[feet].sum() < on[shins].sum() * 3  # the foot tops touch too, but do not take over
    assert not on[np.isin(anny_body.parts, [PART_ID["head"], PART_ID["back"], PART_ID["buttocks"]])].any()


def test_vertex_areas_sum_to_the_surface_area():
    from backend.localizers.default.supports import vertex_areas

    square = np.array([[0.0, 0.0, 0.0], [2.0, 0.0, 0.0], [2.0, 3.0, 0.0], [0.0, 3.0, 0.0]])
    areas = vertex_areas(square, np.array([[0, 1, 2], [0, 2, 3]]))
    assert areas.sum() == pytest.approx(6.0) and areas[0] == pytest.approx(2.0) and areas[1] == pytest.approx(1.0)


def test_a_foreshortened_shin_gets_its_depth_back():
    from backend.localizers.default.fit import _depth_from_length

    short = np.array([0.1, 0.05, -0.2])  # 0.23 m long: its depth (y) is too small for a 0.375 m shin
    out = _depth_from_length(short, 0.375)
    assert np.linalg.norm(out) == pytest.approx(0.375)
    assert out[0] == short[0] and out[2] == short[2] and out[1] > 0.05  # image plane kept, depth sign kept
    away = _depth_from_length(np.array([0.1, -0.05, -0.2]), 0.375)
    assert away[1] < -0.05
    long = np.array([0.3, 0.1, -0.3])
    assert np.array_equal(_depth_from_length(long, 0.375), long)  # already as long: unchanged


def test_a_kneeling_fit_with_rising_shins_rests_them_on_the_floor():
    """MediaPipe's folded legs come out with the shins rising ~20 deg from the knees: the shins are
    laid level about the knee hinge and the feet do not go through the floor; straight legs stay."""
    from backend.localizers.default.fit import ORDER, Fit, _joints, posed, rest_directions, rest_shins_on_floor

    up = np.array([0.0, 0.0, 1.0])

    def fit_of(knee_deg: float) -> Fit:
        deltas = {"root": np.eye(3), **{b: np.eye(3) for b in ORDER[1:]}}
        for side in "LR":
            deltas[f"lowerleg01.{side}"] = _pitch(knee_deg)
        vertices, heads = posed(deltas)
        return Fit(vertices=vertices, deltas=deltas, seen={}, residual_deg=0.0, joints=_joints(heads))

    def shin_tilt(fit: Fit, side: str) -> float:
        d = fit.joints[f"ankle.{side}"] - fit.joints[f"knee.{side}"]
        return float(np.degrees(np.arcsin(d @ up / np.linalg.norm(d))))

    kneeling = fit_of(112.0)  # thighs straight down, shins folded back past level
    assert rest_directions()["lowerleg01.L"][2] < 0 and shin_tilt(kneeling, "L") > 15.0
    rested = rest_shins_on_floor(kneeling, up)
    assert rested.rested == ["L", "R"]
    for side in "LR":
        assert abs(shin_tilt(rested, side)) <= 2.0
    knees = min(float(rested.joints[f"knee.{s}"] @ up) for s in "LR")
    assert float((rested.vertices @ up).min()) >= knees - 0.12  # nothing far below the knees (the feet)
    assert not rest_shins_on_floor(fit_of(0.0), up).rested  # standing: nothing folded, nothing moves


def _observation(points: dict[int, tuple[float, float]]):
    from backend.localizers.default.detect import Observation

    image = np.zeros((33, 3))
    for index, xy in points.items():
        image[index, :2] = xy
    return Observation(rgb=np.zeros((400, 400, 3), np.uint8), image=image, visibility=np.ones(33),
                       world=np.zeros((33, 3)), mask=None)


def test_the_thighs_drop_in_the_photo_tells_standing_from_seated():
    """Hip -> knee along the shoulders -> hips axis, in torso lengths: a hanging thigh reaches most of
    a torso length down the photo, a seated one pointing at the camera or sideways far less; the
    measure follows the torso, so a tilted photo reads the same."""
    from backend.localizers.default import detect as K
    from backend.localizers.default.cues import thigh_image_drop

    shoulders = {K.L_SHOULDER: (120.0, 100.0), K.R_SHOULDER: (80.0, 100.0)}
    hips = {K.L_HIP: (115.0, 200.0), K.R_HIP: (85.0, 200.0)}  # a torso 100 px long
    standing = _observation({**shoulders, **hips, K.L_KNEE: (117.0, 285.0), K.R_KNEE: (83.0, 285.0)})
    facing = _observation({**shoulders, **hips, K.L_KNEE: (118.0, 225.0), K.R_KNEE: (82.0, 225.0)})
    side = _observation({**shoulders, **hips, K.L_KNEE: (60.0, 205.0), K.R_KNEE: (30.0, 205.0)})
    assert thigh_image_drop(standing) == pytest.approx(0.85)
    assert thigh_image_drop(facing) == pytest.approx(0.25)
    assert thigh_image_drop(side) == pytest.approx(0.05)
    turn = np.array([[0.0, -1.0], [1.0, 0.0]])  # the same standing body in a photo turned 90 deg
    standing.image[:, :2] = standing.image[:, :2] @ turn.T
    assert thigh_image_drop(standing) == pytest.approx(0.85)
    assert np.isnan(thigh_image_drop(_observation({})))  # no torso in the photo: unknown


def test_thighs_folded_in_the_photo_seat_a_body_whose_fitted_thighs_hang(anny_body):
    """MediaPipe's depth of thighs pointing at the camera is poor: a seated body can fit with hanging
    thighs. The photo's folded thighs (thigh_drop below SUPPORT['seat_thigh_drop_max']) still seat it,
    on the buttocks only (the fitted thighs' slope is wrong, so their backs are not placed); the same
    body with the photo's thighs hanging, or unknown, stands on the floor alone."""
    from backend.localizers.default.priors import SUPPORT
    from backend.localizers.default.supports import find_supports, vertex_areas

    vertices, joints = _posed("stand", 2)
    areas = vertex_areas(vertices, anny_body.faces)
    kwargs = {"legs_seen": True, "feet_seen": {"L": True, "R": True}, "areas": areas}
    buttocks = anny_body.parts == PART_ID["buttocks"]
    thighs = np.isin(anny_body.parts, [PART_ID["left_thigh"], PART_ID["right_thigh"]])
    for drop in (float("nan"), 0.8):
        hanging = find_supports(vertices, anny_body.parts, joints, thigh_drop=drop, **kwargs)
        assert [s["name"] for s in hanging.found] == ["floor"]
        assert not (hanging.scores[buttocks] > 0).any()
    seated = find_supports(vertices, anny_body.parts, joints, thigh_drop=SUPPORT["seat_thigh_drop_max"] - 0.3,
                           **kwargs)
    assert [s["name"] for s in seated.found] == ["floor", "seat"]
    assert seated.found[1]["thigh_image_drop"] == pytest.approx(0.25)
    on = seated.scores >= 0.5
    assert on[buttocks].sum() >= 30
    assert not on[thighs].any()
    height = vertices @ seated.up
    assert height[on & buttocks].max() - height[buttocks].min() <= SUPPORT["seat_band_m"] + 1e-9


def test_the_heels_distance_in_the_photo_tells_a_squat_from_a_seat():
    """Hips -> heels in the photo, in torso lengths: a seated body's heels lie a shin below and a thigh
    ahead of its hips (from the front the drop shows, from the side both), a squatting body's hips come
    down to just above its heels. Unknown (NaN) when a heel is not seen or a foot is outside the photo
    (cut off by the frame: MediaPipe's guess)."""
    from backend.localizers.default import detect as K
    from backend.localizers.default.cues import heel_image_distance
    from backend.localizers.default.priors import SUPPORT

    shoulders = {K.L_SHOULDER: (220.0, 100.0), K.R_SHOULDER: (180.0, 100.0)}
    hips = {K.L_HIP: (215.0, 200.0), K.R_HIP: (185.0, 200.0)}  # a torso 100 px long

    def feet(x: float, y: float) -> dict:
        return {K.L_ANKLE: (x + 15, y - 8), K.R_ANKLE: (x - 15, y - 8), K.L_HEEL: (x + 16, y), K.R_HEEL: (x - 16, y),
                K.L_TOE: (x + 14, y + 4), K.R_TOE: (x - 14, y + 4)}

    seated = _observation({**shoulders, **hips, **feet(200.0, 330.0)})
    from_the_side = _observation({**shoulders, **hips, **feet(280.0, 290.0)})  # heels a thigh ahead
    squat = _observation({**shoulders, **hips, **feet(200.0, 290.0)})
    assert heel_image_distance(seated) == pytest.approx(1.3)
    assert heel_image_distance(from_the_side) == pytest.approx(np.hypot(0.8, 0.9))
    assert heel_image_distance(squat) == pytest.approx(0.9)
    limit = SUPPORT["squat_heel_distance_max"]
    assert heel_image_distance(squat) < limit < min(heel_image_distance(seated), heel_image_distance(from_the_side))
    turn = np.array([[0.0, -1.0], [1.0, 0.0]])  # the same squat in a photo turned 90 deg (about its centre)
    squat.image[:, :2] = (squat.image[:, :2] - 200.0) @ turn.T + 200.0
    assert heel_image_distance(squat) == pytest.approx(0.9)
    cut = _observation({**shoulders, **hips, **feet(200.0, 397.0)})  # the toes fall below the frame
    assert np.isnan(heel_image_distance(cut))
    unseen = _observation({**shoulders, **hips, **feet(200.0, 330.0)})
    unseen.visibility[K.R_HEEL] = 0.3  # hidden behind a crate
    assert np.isnan(heel_image_distance(unseen))


@pytest.mark.parametrize("scenario", ["squat", "sit"])
def test_a_squatting_body_has_no_seat_a_seated_one_keeps_it(scenario, anny_body):
    """The posed (true) squat has folded thighs and its hips above SUPPORT['seat_min_height_m'], so
    the thighs alone would seat it; with its heels just below the hips in the photo (heel_distance below
    SUPPORT['squat_heel_distance_max']) its weight is on the feet: the floor only, nothing on the buttocks.
    A seated body with its heels a shin below keeps the seat, and so does either body when the photo
    cannot tell (heel_distance NaN: heels hidden or cut off)."""
    from backend.localizers.default.priors import SUPPORT
    from backend.localizers.default.supports import find_supports, vertex_areas

    vertices, joints = _posed(scenario, 1)
    kwargs = {"legs_seen": True, "feet_seen": {"L": True, "R": True}, "areas": vertex_areas(vertices, anny_body.faces),
              "thigh_drop": 0.1}
    buttocks = anny_body.parts == PART_ID["buttocks"]
    unknown = find_supports(vertices, anny_body.parts, joints, **kwargs)
    assert [s["name"] for s in unknown.found][:2] == ["floor", "seat"]  # the squat's arms held ahead: tables too
    assert (unknown.scores[buttocks] >= 0.5).sum() >= 30
    drop = {"squat": 0.9, "sit": 1.3}[scenario]
    seen = find_supports(vertices, anny_body.parts, joints, heel_distance=drop, **kwargs)
    if scenario == "squat":
        assert drop < SUPPORT["squat_heel_distance_max"]
        assert [s["name"] for s in seen.found] == ["floor", "none under the hips"]  # no seat, no table
        assert "squatting" in seen.found[1]["why"]
        assert not (seen.scores[buttocks] >= 0.5).any()
        floor_only = seen.scores >= 0.5
        feet = np.isin(anny_body.parts, [PART_ID[p] for p in ("left_foot", "right_foot", "left_sole", "right_sole")])
        assert floor_only.any() and feet[floor_only].mean() > 0.9  # what touches is the feet on the floor
    else:
        assert drop > SUPPORT["squat_heel_distance_max"]
        assert [s["name"] for s in seen.found] == [s["name"] for s in unknown.found]
        np.testing.assert_array_equal(seen.scores, unknown.scores)


def test_the_lap_cover_in_the_photo_sees_a_table_top_in_front_of_the_thighs():
    """The person mask along the middle of both thighs (its largest value within a small disc of each
    point): 1 for a lap in plain view, also for slim legs beside the landmarks' segments, low when a
    table top hides it; NaN without a mask or with a thigh outside the photo."""
    from backend.localizers.default import detect as K
    from backend.localizers.default.cues import lap_image_cover

    points = {K.L_SHOULDER: (220.0, 100.0), K.R_SHOULDER: (180.0, 100.0), K.L_HIP: (215.0, 200.0),
              K.R_HIP: (185.0, 200.0), K.L_KNEE: (225.0, 260.0), K.R_KNEE: (175.0, 260.0)}
    seen = _observation(points)
    assert np.isnan(lap_image_cover(seen))  # no person mask
    seen.mask = np.ones((400, 400), np.float32)
    assert lap_image_cover(seen) == pytest.approx(1.0)
    seen.mask[202:400] = 0.0  # a table top's edge just below the hips, hiding the thighs
    assert lap_image_cover(seen) < 0.1
    seen.mask[:] = 1.0
    seen.mask[226:400] = 0.0  # only the knee ends missing: no table top hides a thigh seen at the hip end
    assert lap_image_cover(seen) == pytest.approx(1.0)
    seen.mask[:, 200:] = 0.0  # ...but the left thigh hidden from the hip down is
    assert lap_image_cover(seen) < 0.6
    seen.mask[:] = 0.0  # slim legs 5-8 px outside the segments (landmarks in the gap between the legs)
    for row in range(200, 262):
        left, right = 215.0 + (row - 200) / 6.0, 185.0 - (row - 200) / 6.0  # the segments' columns
        seen.mask[row, round(left) + 5:round(left) + 9] = 1.0
        seen.mask[row, round(right) - 8:round(right) - 4] = 1.0
    assert lap_image_cover(seen) == pytest.approx(1.0)
    seen.image[K.L_KNEE, :2] = (225.0, 700.0)  # the thigh runs out of the frame: the photo cannot tell
    assert np.isnan(lap_image_cover(seen))


def test_a_hidden_lap_puts_the_seen_hands_on_a_table(anny_body):
    """The posed (true) table body, seated with forearms ahead: when the photo shows its lap hidden
    (lap_cover below SUPPORT['table_lap_cover_max']) each seen hand without a forearm table rests on the
    table (palm and fingers); with the lap in view, unknown, or the wrist unseen, nothing changes."""
    from backend.localizers.default.priors import SUPPORT
    from backend.localizers.default.supports import find_supports, vertex_areas

    vertices, joints = _posed("table", 3)
    kwargs = {"legs_seen": True, "feet_seen": {"L": True, "R": True}, "areas": vertex_areas(vertices, anny_body.faces),
              "thigh_drop": 0.1, "heel_distance": 1.3, "wrists_seen": {"L": True, "R": True}}
    hands = {n: np.isin(anny_body.parts, [PART_ID[f"{n}_palm"], PART_ID[f"{n}_fingers"]]) for n in ("left", "right")}
    plain = find_supports(vertices, anny_body.parts, joints, lap_cover=0.95, **kwargs)
    names = [s["name"] for s in plain.found]
    assert names[:2] == ["floor", "seat"] and not any(n.endswith("hand") for n in names)
    for cover in (float("nan"), SUPPORT["table_lap_cover_max"] + 0.05):
        same = find_supports(vertices, anny_body.parts, joints, lap_cover=cover, **kwargs)
        assert [s["name"] for s in same.found] == names
        np.testing.assert_array_equal(same.scores, plain.scores)
    hidden = find_supports(vertices, anny_body.parts, joints, lap_cover=0.4, **kwargs)
    tables = {s["name"] for s in hidden.found if s["name"].startswith("table")}
    assert {f"table under the {n} {what}" for n in ("left", "right") for what in ("forearm", "hand")} & tables
    for n in ("left", "right"):
        assert (f"table under the {n} forearm" in tables) != (f"table under the {n} hand" in tables)
        if f"table under the {n} hand" in tables:
            assert (hidden.scores[hands[n]] >= 0.5).all()
            assert not (plain.scores[hands[n]] >= 0.5).all()
    np.testing.assert_array_equal(np.maximum(hidden.scores, plain.scores), hidden.scores)  # only adds
    unseen = find_supports(vertices, anny_body.parts, joints, lap_cover=0.4,
                           **{**kwargs, "wrists_seen": {"L": False, "R": False}})
    np.testing.assert_array_equal(unseen.scores, plain.scores)


def _laid_down(scenario: str, index: int, camera_deg: float = 10.0):
    """A posed body turned onto its back (the generator's lean_back by 90 deg), seen by a camera pitched
    camera_deg: vertices, joints, true up."""
    from backend.eval.synth.poses import lean_back

    vertices, joints = _posed(scenario, index)
    turn = _pitch(camera_deg) @ np.asarray(lean_back(np.eye(3), 90.0)).T
    return vertices @ turn.T, {k: turn @ v for k, v in joints.items()}, _pitch(camera_deg) @ np.array([0.0, 0.0, 1.0])


def test_a_lying_body_with_head_and_legs_raised_rests_on_its_back_only(anny_body):
    """Lying on the back, head and legs raised (the generator's lie_raised pose): the support is the plane
    the torso rests on, so the back and buttocks touch and the raised head, thighs and shins are free
    (over the plane under the lowest points, 7 cm deep, the head and the upper arms were claimed)."""
    from backend.localizers.default.priors import SUPPORT
    from backend.localizers.default.supports import find_supports, vertex_areas

    vertices, joints, true_up = _laid_down("lie_raised", 3)
    supports = find_supports(vertices, anny_body.parts, joints, legs_seen=True, feet_seen={"L": True, "R": True},
                             areas=vertex_areas(vertices, anny_body.faces))
    assert np.degrees(np.arccos(np.clip(supports.up @ true_up, -1, 1))) <= 5.0
    assert supports.found[0]["head_rests"] is False and supports.found[0]["head_gap_m"] > SUPPORT["lying_head_gap_m"]
    on = supports.scores >= 0.5
    part = {name: anny_body.parts == PART_ID[name] for name in PART_ID}
    assert on[part["back"]].sum() >= 30 and on[part["buttocks"]].sum() >= 20
    assert not on[part["head"]].any()
    for name in ("left_shin", "right_shin", "left_foot", "right_foot", "chest", "abdomen"):
        assert not on[part[name]].any(), name
    height = vertices @ supports.up
    torso = np.isin(anny_body.parts, [PART_ID[n] for n in ("back", "buttocks", "chest", "abdomen", "pelvis")])
    assert height[on].max() - height[torso].min() <= SUPPORT["lying_band_m"] + 1e-9


def test_a_nodded_face_lifts_the_head_of_a_body_lying_flat(anny_body):
    """Lying flat, the back of the head rests on the bed; the same fitted body with the photo's face nodded
    towards the feet (head_flex, which the fit does not pose) has its head lifted by the neck."""
    from backend.localizers.default.priors import SUPPORT
    from backend.localizers.default.supports import find_supports, vertex_areas

    vertices, joints, _ = _laid_down("stand", 1)
    kwargs = {"legs_seen": True, "feet_seen": {"L": True, "R": True}, "areas": vertex_areas(vertices, anny_body.faces)}
    head = anny_body.parts == PART_ID["head"]
    flat = find_supports(vertices, anny_body.parts, joints, **kwargs)
    assert flat.found[0]["head_rests"] is True and (flat.scores[head] >= 0.5).sum() >= 30
    assert (flat.scores[anny_body.parts == PART_ID["back"]] >= 0.5).sum() >= 30
    nodded = find_supports(vertices, anny_body.parts, joints, head_flex=SUPPORT["lying_head_flex_deg"] + 10, **kwargs)
    assert nodded.found[0]["head_rests"] is False and not (nodded.scores[head] >= 0.5).any()
    assert nodded.found[0]["head_flex_deg"] == pytest.approx(SUPPORT["lying_head_flex_deg"] + 10)


def test_head_flexion_reads_the_face_turned_towards_the_feet():
    from backend.localizers.default import detect as K
    from backend.localizers.default.lying import head_flexion_deg

    world = np.zeros((33, 3))  # MediaPipe world axes: y down; a body lying along x, head at -x, face up (-y)
    world[[K.L_HIP, K.R_HIP]] = [[0.0, 0.0, 0.1], [0.0, 0.0, -0.1]]
    world[[K.L_SHOULDER, K.R_SHOULDER]] = [[-0.5, 0.0, 0.15], [-0.5, 0.0, -0.15]]
    world[[7, 8]] = [[-0.7, 0.0, 0.07], [-0.7, 0.0, -0.07]]  # the ears
    a = np.radians(30.0)
    world[K.NOSE] = [-0.7 + 0.1 * np.sin(a), -0.1 * np.cos(a), 0.0]  # the face turned 30 deg towards the feet
    seen = np.ones(33)
    assert head_flexion_deg(world, seen) == pytest.approx(30.0)
    world[K.NOSE] = [-0.7 - 0.1 * np.sin(a), -0.1 * np.cos(a), 0.0]  # tilted back
    assert head_flexion_deg(world, seen) == pytest.approx(-30.0)
    seen[K.NOSE] = 0.1
    assert np.isnan(head_flexion_deg(world, seen))


def _side_view_keypoints(neck_deg: float) -> np.ndarray:
    """(33,2) pixel keypoints of a body lying along the photo's x axis seen from its side, face up (-y in
    the photo), its neck bent neck_deg from the torso's line towards the face."""
    from backend.localizers.default import detect as K

    p = np.zeros((33, 2))
    p[[K.L_HIP, K.R_HIP]] = [[300.0, 200.0], [300.0, 204.0]]
    p[[K.L_SHOULDER, K.R_SHOULDER]] = [[150.0, 200.0], [150.0, 204.0]]
    a = np.radians(neck_deg)
    ears = np.array([150.0, 202.0]) + 40.0 * np.array([-np.cos(a), -np.sin(a)])
    p[[7, 8]] = [ears + [0.0, -2.0], ears + [0.0, 2.0]]
    p[K.NOSE] = ears + [-5.0, -20.0]  # the face points up the photo
    return p


def test_the_neck_bend_is_read_in_the_photo_towards_the_face():
    from backend.localizers.default import detect as K
    from backend.localizers.default.lying import neck_image_bend_deg

    seen = np.ones(33)
    assert neck_image_bend_deg(_side_view_keypoints(25.0), seen) == pytest.approx(25.0)
    assert neck_image_bend_deg(_side_view_keypoints(-10.0), seen) == pytest.approx(-10.0)  # the head tipped back
    flipped = _side_view_keypoints(25.0) * [-1.0, 1.0]  # the same body seen from its other side
    assert neck_image_bend_deg(flipped, seen) == pytest.approx(25.0)
    seen[7] = 0.2  # an ear not seen
    assert np.isnan(neck_image_bend_deg(_side_view_keypoints(25.0), seen))
    seen[7], seen[K.L_HIP] = 1.0, 0.2
    assert np.isnan(neck_image_bend_deg(_side_view_keypoints(25.0), seen))


def test_a_neck_bent_in_the_photo_lifts_the_head_of_a_body_lying_flat(anny_body):
    """The fitted body lies flat, its head on the bed (MediaPipe's world landmarks keep a flexed neck near
    neutral); with the photo's neck bent towards the face past SUPPORT['lying_neck_bend_deg'] its head is
    lifted off the bed by the neck, and the back and buttocks still rest on it; a straight neck keeps it."""
    from backend.localizers.default.priors import SUPPORT
    from backend.localizers.default.supports import find_supports, vertex_areas

    vertices, joints, _ = _laid_down("stand", 1)
    kwargs = {"legs_seen": True, "feet_seen": {"L": True, "R": True}, "areas": vertex_areas(vertices, anny_body.faces)}
    head = anny_body.parts == PART_ID["head"]
    straight = find_supports(vertices, anny_body.parts, joints, neck_bend=SUPPORT["lying_neck_bend_deg"] - 7, **kwargs)
    assert straight.found[0]["head_rests"] is True and (straight.scores[head] >= 0.5).sum() >= 30
    bent = find_supports(vertices, anny_body.parts, joints, neck_bend=SUPPORT["lying_neck_bend_deg"] + 8, **kwargs)
    assert bent.found[0]["head_rests"] is False and not (bent.scores[head] >= 0.5).any()
    assert bent.found[0]["neck_bend_deg"] == pytest.approx(SUPPORT["lying_neck_bend_deg"] + 8)
    for name in ("back", "buttocks"):
        part = anny_body.parts == PART_ID[name]
        np.testing.assert_array_equal(bent.scores[part], straight.scores[part])
        assert (bent.scores[part] >= 0.5).sum() >= 20, name


def test_an_arm_the_fit_sinks_into_the_bed_is_not_claimed(anny_body):
    """Lying on the back with the head and legs raised, the right arm swung 40 deg back behind the trunk (a
    lying body's arm MediaPipe puts too deep): the arm sinks below the bed the torso rests on, which it
    cannot, so it is not claimed, while the weight stays on the buttocks and back and the left arm (at the
    body's side, above the bed) is free as before."""
    from backend.eval.synth.poses import lean_back, pose_angles, rotation
    from backend.localizers.default.fit import JOINTS, _model, posed
    from backend.localizers.default.priors import SUPPORT
    from backend.localizers.default.supports import find_supports, vertex_areas

    labels = list(_model().bone_labels)
    kwargs = {"legs_seen": True, "feet_seen": {"L": True, "R": True}}
    turn = _pitch(10.0) @ np.asarray(lean_back(np.eye(3), 90.0)).T
    angles = pose_angles("lie_raised", np.random.default_rng([0, 3]))
    found = {}
    for swung in (False, True):
        deltas = {}
        for bone, rotations in {**angles, **({"upperarm01.R": [("x", 40.0)]} if swung else {})}.items():
            matrix = np.eye(3)
            for axis, degrees in rotations:
                matrix = matrix @ rotation(axis, degrees)
            deltas[bone] = matrix
        rest, heads = posed(deltas)
        vertices = rest @ turn.T
        joints = {f"{j}.{s}": turn @ heads[labels.index(f"{b}.{s}")] for s in "LR" for j, b in JOINTS.items()}
        found[swung] = find_supports(vertices, anny_body.parts, joints, areas=vertex_areas(vertices, anny_body.faces),
                                     **kwargs)
        height = vertices @ found[swung].up
        torso = np.isin(anny_body.parts, [PART_ID[n] for n in ("back", "buttocks", "chest", "abdomen", "pelvis")])
        arm = np.isin(anny_body.parts, [PART_ID[f"right_{n}"] for n in ("upper_arm", "forearm", "hand")])
        above = height[arm] - height[torso].min()
        assert (above.min() < -SUPPORT["lying_sunk_m"]) == swung, above.min()
        if swung:  # without the rule, the band would take part of it (it is not over the edge)
            assert ((above >= -SUPPORT["lying_below_m"]) & (above <= SUPPORT["lying_band_m"])).sum() >= 50
    right_arm = np.isin(anny_body.parts, [PART_ID[f"right_{n}"] for n in ("upper_arm", "forearm", "hand", "palm",
                                                                           "fingers")])
    assert found[True].found[0]["sunk_limbs"] == ["right arm"] and found[False].found[0]["sunk_limbs"] == []
    assert not (found[True].scores[right_arm] >= 0.5).any()
    for name in ("back", "buttocks"):
        part = anny_body.parts == PART_ID[name]
        assert (found[True].scores[part] >= 0.5).sum() >= 20, name
    changed = (found[True].scores[~right_arm] >= 0.5) != (found[False].scores[~right_arm] >= 0.5)
    assert changed.sum() <= 10  # the shoulder's skin moves with the arm
    left_arm = np.isin(anny_body.parts, [PART_ID[f"left_{n}"] for n in ("upper_arm", "forearm", "hand")])
    assert not (found[True].scores[left_arm] >= 0.5).any()


def test_a_body_that_would_fall_backwards_leans_on_a_wall_behind(anny_body):
    """Tilted back 30 deg about the ankles with the feet flat on the floor, the body's centre of mass is far
    behind its floor contact: it leans on a wall, touched by the back (and the buttocks or head) within the
    floor's band of the plane the back rests on; upright, or tilted forward, there is no wall."""
    from backend.eval.synth.poses import lean_back, rotation
    from backend.localizers.default.fit import JOINTS, _model, posed as pose_body
    from backend.localizers.default.priors import SUPPORT
    from backend.localizers.default.supports import find_supports, vertex_areas

    back = anny_body.parts == PART_ID["back"]
    front = np.isin(anny_body.parts, [PART_ID[n] for n in ("chest", "abdomen", "left_sole", "right_sole")])
    kwargs = {"legs_seen": True, "feet_seen": {"L": True, "R": True}}
    labels = list(_model().bone_labels)
    for degrees, wall in ((30.0, True), (0.0, False), (-30.0, False)):
        flat_feet = {f"foot.{s}": rotation("x", degrees) for s in "LR"}  # the ankles bend, the soles stay flat
        rest, heads = pose_body(flat_feet)
        turn = np.asarray(lean_back(np.eye(3), degrees)).T
        vertices = rest @ turn.T
        posed = {f"{j}.{s}": turn @ heads[labels.index(f"{b}.{s}")] for s in "LR" for j, b in JOINTS.items()}
        supports = find_supports(vertices, anny_body.parts, posed, areas=vertex_areas(vertices, anny_body.faces),
                                 **kwargs)
        names = [s["name"] for s in supports.found]
        assert ("wall behind" in names) is wall, (degrees, supports.found)
        if wall:
            leaning = vertices, posed
            entry = supports.found[names.index("wall behind")]
            assert entry["com_behind_m"] >= SUPPORT["backing_com_behind_m"]
            on = supports.scores >= SUPPORT["backing_score"] - 1e-9
            assert on[back].sum() >= 40 and not on[front & (vertices[:, 2] > 0.2)].any()
            # the patch is the back's rearmost band across the lean (+Y): far from the front of the body
            assert vertices[on & back, 1].min() > vertices[back, 1].mean()
        else:
            assert not (supports.scores[back] > 0).any()
    unseen = find_supports(*leaning[:1], anny_body.parts, leaning[1], legs_seen=True, feet_seen={"L": False, "R": True})
    assert "wall behind" not in [s["name"] for s in unseen.found]  # where the feet stand is a guess


def test_a_reclined_seated_torso_rests_on_a_backrest(anny_body):
    """Seated with the torso reclined 45 deg back at the lowest spine bone (~42 deg hips to shoulders), the
    back rests on a backrest (the back's rearmost band across the torso); the same seat upright has none."""
    from backend.eval.synth.poses import pose_angles, rotation
    from backend.localizers.default.fit import JOINTS, _model, posed
    from backend.localizers.default.priors import SUPPORT
    from backend.localizers.default.supports import find_supports, vertex_areas

    labels = list(_model().bone_labels)
    back = anny_body.parts == PART_ID["back"]
    for recline, rests in ((45.0, True), (0.0, False)):
        deltas = {}
        for bone, rotations in {**pose_angles("sit", np.random.default_rng([0, 2])),
                                "spine05": [("x", -recline)]}.items():
            matrix = np.eye(3)
            for axis, degrees in rotations:
                matrix = matrix @ rotation(axis, degrees)
            deltas[bone] = matrix
        vertices, heads = posed(deltas)
        joints = {f"{j}.{s}": heads[labels.index(f"{b}.{s}")] for s in "LR" for j, b in JOINTS.items()}
        supports = find_supports(vertices, anny_body.parts, joints, legs_seen=True, feet_seen={"L": True, "R": True},
                                 areas=vertex_areas(vertices, anny_body.faces))
        names = [s["name"] for s in supports.found]
        assert "seat" in names and ("backrest" in names) is rests, supports.found
        if rests:
            entry = supports.found[names.index("backrest")]
            assert entry["recline_deg"] >= SUPPORT["backrest_recline_deg"]
            on = supports.scores >= SUPPORT["backing_score"] - 1e-9
            assert on[back].sum() >= 40
            assert vertices[on & back, 1].mean() > vertices[back, 1].mean()  # the back's rear surface (+Y)
        else:
            assert not (supports.scores[back] > 0).any()


def _fit_of(deltas: dict[str, np.ndarray]):
    from backend.localizers.default.fit import ORDER, Fit, _joints, posed

    full = {"root": np.eye(3), **{b: np.eye(3) for b in ORDER[1:]}, **deltas}
    vertices, heads = posed(full)
    return Fit(vertices=vertices, deltas=full, seen={}, residual_deg=0.0, joints=_joints(heads))


def _roll(degrees: float) -> np.ndarray:
    a = np.radians(degrees)
    return np.array([[np.cos(a), 0.0, np.sin(a)], [0.0, 1.0, 0.0], [-np.sin(a), 0.0, np.cos(a)]])


def test_a_standing_foot_fitted_askew_is_levelled_and_its_sole_patch_is_the_flat_foot(anny_body):
    """MediaPipe's heel/toe depth tilts a standing foot by a few degrees; a foot on the floor lies flat
    on it: rest_feet_on_floor turns each foot about the ankle until its sole is level (the camera's
    pitch does not matter: the fit frame follows the camera), and the floor's patch on a levelled foot
    is its sole within SUPPORT['flat_foot_band_m'], the same patch as Anny's rest foot flat on the floor.
    Without levelling the 3 cm band took the toes and half the foot's side."""
    from backend.localizers.default.fit import rest_feet_on_floor, sole_tilt_deg
    from backend.localizers.default.priors import SUPPORT
    from backend.localizers.default.supports import find_supports, vertex_areas

    camera = _pitch(10.0)
    up = camera @ np.array([0.0, 0.0, 1.0])
    askew = _fit_of({"root": camera, "foot.L": _pitch(12.0), "foot.R": _roll(8.0)})  # toes down; rolled
    feet = {s: np.isin(anny_body.parts, [PART_ID[f"{n}_foot"], PART_ID[f"{n}_sole"]])
            for s, n in (("L", "left"), ("R", "right"))}
    assert sole_tilt_deg(askew, "L", up) == pytest.approx(12.0, abs=1.0)
    levelled = rest_feet_on_floor(askew, up, feet)
    assert levelled.levelled == ["L", "R"]
    for side in "LR":
        assert sole_tilt_deg(levelled, side, up) <= 0.5
    kwargs = {"legs_seen": True, "feet_seen": {"L": True, "R": True},
              "areas": vertex_areas(levelled.vertices, anny_body.faces)}
    on = find_supports(levelled.vertices, anny_body.parts, levelled.joints, flat_feet=("L", "R"),
                       **kwargs).scores >= 0.5
    rest = _fit_of({}).vertices[:, 2]
    for side in "LR":
        flat = feet[side] & (rest <= rest[feet[side]].min() + SUPPORT["flat_foot_band_m"])  # the flat foot
        assert (on & flat).sum() / (on & feet[side]).sum() >= 0.97  # precision within the foot
        assert (on & flat).sum() / flat.sum() >= 0.97  # recall
    before = find_supports(askew.vertices, anny_body.parts, askew.joints, **kwargs).scores >= 0.5
    flat = {s: feet[s] & (rest <= rest[feet[s]].min() + SUPPORT["flat_foot_band_m"]) for s in "LR"}
    assert (before & flat["L"]).sum() / (before & feet["L"]).sum() < 0.8  # the 3 cm band takes the toes' tops
    assert (before & flat["R"]).sum() / flat["R"].sum() < 0.3  # the rolled foot touches on its edge only


def test_a_foot_on_its_toes_or_off_the_floor_keeps_its_fit(anny_body):
    """A heel raised past FIT['foot_level_deg'] (on tiptoe) and a lifted foot are not flattened."""
    from backend.localizers.default.fit import rest_feet_on_floor
    from backend.localizers.default.priors import FIT

    feet = {s: np.isin(anny_body.parts, [PART_ID[f"{n}_foot"], PART_ID[f"{n}_sole"]])
            for s, n in (("L", "left"), ("R", "right"))}
    up = np.array([0.0, 0.0, 1.0])
    tiptoe = _fit_of({"foot.L": _pitch(FIT["foot_level_deg"] + 10.0), "foot.R": _pitch(FIT["foot_level_deg"] + 10.0)})
    assert rest_feet_on_floor(tiptoe, up, feet).levelled == []
    lifted = _fit_of({"upperleg01.R": _pitch(-40.0), "foot.R": _pitch(10.0), "foot.L": _pitch(10.0)})  # a step
    assert rest_feet_on_floor(lifted, up, feet).levelled == ["L"]


def test_a_foot_at_the_end_of_a_leg_stretched_along_the_floor_keeps_its_fit(anny_body, monkeypatch):
    """Legs stretched ahead (sitting on the floor) with the toes pointed: the soles are within
    FIT['foot_level_deg'] of level and on the floor, but a sole flat under a level shin is past the
    ankle's range (FIT['foot_flat_shin_max_deg']), so the heels, not the soles, stay on the floor."""
    from backend.localizers.default.fit import rest_feet_on_floor, shin_from_down_deg, sole_tilt_deg
    from backend.localizers.default.priors import FIT

    feet = {s: np.isin(anny_body.parts, [PART_ID[f"{n}_foot"], PART_ID[f"{n}_sole"]])
            for s, n in (("L", "left"), ("R", "right"))}
    up = np.array([0.0, 0.0, 1.0])
    stretched = _fit_of({"upperleg01.L": _pitch(-80.0), "upperleg01.R": _pitch(-80.0),
                         "foot.L": _pitch(45.0), "foot.R": _pitch(45.0)})
    for side in "LR":
        assert sole_tilt_deg(stretched, side, up) <= FIT["foot_level_deg"]
        assert shin_from_down_deg(stretched, side, up) > FIT["foot_flat_shin_max_deg"]
    assert rest_feet_on_floor(stretched, up, feet).levelled == []
    monkeypatch.setitem(FIT, "foot_flat_shin_max_deg", 180.0)  # without the ankle's range they would be flattened
    assert rest_feet_on_floor(stretched, up, feet).levelled == ["L", "R"]


def test_a_seated_body_s_hidden_foot_rests_on_the_floor(anny_body):
    """A crate or table hides a seated body's shins: its hidden foot, which the fit puts flat on the
    floor, is claimed (the seat carries the body, the shins hang to the floor); a standing body's
    hidden foot stays a hint (a step or a footrest may be under it), and so does a hidden foot that
    the fit does not put flat on the floor."""
    from backend.localizers.default.priors import SUPPORT
    from backend.localizers.default.supports import find_supports, vertex_areas

    feet = {s: np.isin(anny_body.parts, [PART_ID[f"{n}_foot"], PART_ID[f"{n}_sole"]])
            for s, n in (("L", "left"), ("R", "right"))}
    hidden = {"legs_seen": True, "feet_seen": {"L": False, "R": True}}
    for scenario, seated in (("sit", True), ("stand", False)):
        vertices, joints = _posed(scenario, 0)
        areas = vertex_areas(vertices, anny_body.faces)
        found = find_supports(vertices, anny_body.parts, joints, areas=areas, flat_feet=("L", "R"), **hidden)
        assert ("seat" in [s["name"] for s in found.found]) is seated
        left = found.scores[feet["L"]]
        if seated:
            assert found.found[0]["hidden_feet_on_floor"] == ["L"]
            height = (vertices @ found.up)[feet["L"]]
            sole = height <= height.min() + SUPPORT["flat_foot_band_m"]
            assert sole.sum() >= 150 and np.array_equal(left >= 0.5, sole)  # the sole's patch, as a seen foot's
        else:
            assert left.max() == pytest.approx(SUPPORT["unseen_score"])
        not_flat = find_supports(vertices, anny_body.parts, joints, areas=areas, flat_feet=("R",), **hidden)
        assert not_flat.scores[feet["L"]].max() <= SUPPORT["unseen_score"]


def test_fingertips_in_the_floor_band_without_the_palm_are_no_floor_contact(anny_body):
    """A hand reaching down (its straight fingers' tips in the floor band, its palm above) does not rest on
    the floor: those fingers are not floor contact; a hand whose palm is down keeps its fingers."""
    from backend.localizers.default.priors import SUPPORT
    from backend.localizers.default.supports import palm_down_hands

    parts = anny_body.parts
    height = anny_body.canonical_vertices[:, 2].astype(float).copy()
    fingers = {s: parts == PART_ID[f"{s}_fingers"] for s in ("left", "right")}
    palms = {s: parts == PART_ID[f"{s}_palm"] for s in ("left", "right")}
    floor = float(height[fingers["left"]].min())
    # the right hand lies palm down: its palm and fingers at the floor's height
    height[palms["right"] | fingers["right"]] = floor + 0.005
    assert height[palms["left"]].min() > floor + SUPPORT["band_m"]  # the rest pose's hand hangs, fingers down
    on_floor = height <= floor + SUPPORT["band_m"]
    assert on_floor[fingers["left"]].sum() > 20 and on_floor[fingers["right"]].all()
    out = palm_down_hands(on_floor, height, parts, floor)
    assert not out[fingers["left"]].any()
    assert out[fingers["right"]].all() and out[palms["right"]].all()
    assert (out[~fingers["left"]] == on_floor[~fingers["left"]]).all()


def test_a_kneeling_leg_s_foot_touches_the_floor_with_its_lowest_part_only(anny_body):
    """The foot of a leg kneeling on its shin keeps only its vertices within kneeling_foot_band_m of its own
    lowest point as floor contact (not the floor's 3 cm band over the whole foot); the other foot and the
    rest of the body keep theirs."""
    from backend.localizers.default.priors import SUPPORT
    from backend.localizers.default.supports import kneeling_foot_patch

    parts = anny_body.parts
    height = anny_body.canonical_vertices[:, 2].astype(float)
    floor = float(height.min())
    on_floor = height <= floor + SUPPORT["band_m"]
    left = np.isin(parts, [PART_ID["left_foot"], PART_ID["left_sole"]])
    out = kneeling_foot_patch(on_floor, height, parts, ("L",))
    lowest = float(height[left].min())
    assert out[left].sum() > 0 and out[left].sum() < on_floor[left].sum()
    assert (height[left & out] <= lowest + SUPPORT["kneeling_foot_band_m"]).all()
    assert (out[~left] == on_floor[~left]).all()
    assert (kneeling_foot_patch(on_floor, height, parts, ()) == on_floor).all()


def test_a_body_seated_behind_something_that_hides_its_knees_rests_on_the_seat_and_its_feet(anny_body):
    """A crate hides the knees (legs_seen False): a seated pose still seats the body (buttocks on the
    seat, its levelled hidden feet on the floor), nothing else below the waist is claimed (not the
    guessed shins or knees); a standing body with hidden knees, or a seated one whose fit levels no
    foot, claims no floor, and the standing one no support at all."""
    from backend.localizers.default.priors import SUPPORT
    from backend.localizers.default.supports import find_supports, vertex_areas

    parts = anny_body.parts
    feet = np.isin(parts, [PART_ID[n] for n in ("left_foot", "left_sole", "right_foot", "right_sole")])
    buttocks = parts == PART_ID["buttocks"]
    hidden = {"legs_seen": False, "feet_seen": {"L": False, "R": False}}
    vertices, joints = _posed("sit", 0)
    areas = vertex_areas(vertices, anny_body.faces)
    seated = find_supports(vertices, parts, joints, areas=areas, flat_feet=("L", "R"), **hidden)
    assert [s["name"] for s in seated.found] == ["floor", "seat"]
    assert seated.found[0]["hidden_feet_on_floor"] == ["L", "R"]
    on = seated.scores >= 0.5
    assert on[buttocks].sum() >= 30 and on[feet].sum() >= 300
    assert seated.scores[feet].max() == pytest.approx(SUPPORT["seated_hidden_foot_score"])
    below_waist = np.isin(parts, [PART_ID[n] for n in ("left_shin", "right_shin", "left_knee", "right_knee")
                                  if n in PART_ID])
    assert not on[below_waist].any()
    no_feet = find_supports(vertices, parts, joints, areas=areas, **hidden)
    assert not (no_feet.scores[feet] > 0).any() and (no_feet.scores[buttocks] >= 0.5).any()
    vertices, joints = _posed("stand", 0)
    standing = find_supports(vertices, parts, joints, areas=vertex_areas(vertices, anny_body.faces),
                             flat_feet=("L", "R"), **hidden)
    assert [s["name"] for s in standing.found] == ["none"] and not standing.scores.any()


def test_a_seated_body_s_hidden_shins_hang_from_the_knees_onto_the_floor(anny_body):
    """A crate hides a seated body's feet and the fit puts the left one on its toes in the air:
    hang_hidden_shins turns that shin straight down from the knee and lays the foot flat, so it stands
    on the floor beside the seen right foot (rest_feet_on_floor levels it and seated_hidden_feet claims
    its sole); the knee, the thigh and the other leg do not move, and a rested (kneeling) side is kept."""
    from dataclasses import replace

    from backend.eval.synth.poses import pose_angles, rotation
    from backend.localizers.default.fit import rest_feet_on_floor, sole_tilt_deg
    from backend.localizers.default.hidden_legs import hang_hidden_shins
    from backend.localizers.default.supports import find_supports, vertex_areas

    seated = {}
    for bone, rotations in pose_angles("sit", np.random.default_rng([0, 0])).items():
        matrix = np.eye(3)
        for axis, degrees in rotations:
            matrix = matrix @ rotation(axis, degrees)
        seated[bone] = matrix
    deltas = dict(seated)
    deltas["lowerleg01.L"] = deltas["lowerleg01.L"] @ _pitch(25.0)  # the guessed shin swings back...
    deltas["foot.L"] = _pitch(60.0)  # ...and its foot points down, on its toes
    fit = _fit_of(deltas)
    up = np.array([0.0, 0.0, 1.0])
    assert sole_tilt_deg(fit, "L", up) > 45.0
    hung = hang_hidden_shins(fit, up, ("L",))
    shin = hung.joints["ankle.L"] - hung.joints["knee.L"]
    assert shin @ -up / np.linalg.norm(shin) > 0.999 and sole_tilt_deg(hung, "L", up) < 0.5
    for joint in ("knee.L", "hip.L", "knee.R", "ankle.R"):
        assert np.allclose(hung.joints[joint], fit.joints[joint], atol=1e-6)
    parts = anny_body.parts
    feet = {s: np.isin(parts, [PART_ID[f"{n}_foot"], PART_ID[f"{n}_sole"]]) for s, n in (("L", "left"), ("R", "right"))}
    height = hung.vertices @ up
    assert abs(height[feet["L"]].min() - height[feet["R"]].min()) < 0.05  # beside the seen foot
    levelled = rest_feet_on_floor(hung, up, feet)
    assert "L" in levelled.levelled
    found = find_supports(levelled.vertices, parts, levelled.joints, legs_seen=True,
                          feet_seen={"L": False, "R": True}, areas=vertex_areas(levelled.vertices, anny_body.faces),
                          flat_feet=tuple(levelled.levelled))
    assert "L" in found.found[0]["hidden_feet_on_floor"] and (found.scores[feet["L"]] >= 0.5).sum() >= 150
    kneeling = replace(fit, rested=["L"])
    assert hang_hidden_shins(kneeling, up, ("L",)) is kneeling


def test_feet_inside_the_photo_tell_hidden_feet_from_feet_cut_off_by_the_frame():
    """Every foot keypoint inside the photo (seen or not): something in the picture hides the feet; one
    outside it: the frame cut them off (tests/data/camera.jpg's right toe falls below the photo)."""
    from backend.localizers.default import detect as K
    from backend.localizers.default.cues import feet_in_frame

    feet = {K.L_ANKLE: (215.0, 322.0), K.R_ANKLE: (185.0, 322.0), K.L_HEEL: (216.0, 330.0),
            K.R_HEEL: (184.0, 330.0), K.L_TOE: (214.0, 334.0), K.R_TOE: (186.0, 334.0)}
    hidden = _observation(feet)
    hidden.visibility[[K.L_ANKLE, K.R_ANKLE, K.L_HEEL, K.R_HEEL, K.L_TOE, K.R_TOE]] = 0.1  # behind a crate
    assert feet_in_frame(hidden)
    assert not feet_in_frame(_observation({**feet, K.R_TOE: (186.0, 401.0)}))  # below the 400 px frame
    assert not feet_in_frame(_observation({**feet, K.L_HEEL: (-3.0, 330.0)}))


def test_a_standing_body_whose_legs_are_hidden_inside_the_photo_stands_on_its_feet(anny_body):
    """Knees and feet hidden by something in the photo (feet_in_frame) and a pose that seats no body: a
    person in view is carried by something, so the floor under the fitted feet is claimed (their soles,
    at SUPPORT['hidden_feet_score'], marked uncertain), nothing else; the same body with its feet cut off
    by the frame (feet_in_frame False, the default) claims no support."""
    from backend.localizers.default.priors import SUPPORT
    from backend.localizers.default.supports import find_supports, vertex_areas

    parts = anny_body.parts
    feet = np.isin(parts, [PART_ID[n] for n in ("left_foot", "left_sole", "right_foot", "right_sole")])
    soles = np.isin(parts, [PART_ID["left_sole"], PART_ID["right_sole"]])
    vertices, joints = _posed("stand", 0)
    kwargs = {"legs_seen": False, "feet_seen": {"L": False, "R": False}, "flat_feet": ("L", "R"),
              "areas": vertex_areas(vertices, anny_body.faces)}
    hidden = find_supports(vertices, parts, joints, feet_in_frame=True, **kwargs)
    assert [s["name"] for s in hidden.found] == ["floor"] and hidden.found[0]["uncertain"]
    on = hidden.scores >= 0.5
    assert on[feet].sum() >= 600 and not on[~feet].any()
    assert on[soles].mean() > 0.9  # the soles, not the tops of the feet
    assert hidden.scores[on].max() == pytest.approx(SUPPORT["hidden_feet_score"])
    cut_off = find_supports(vertices, parts, joints, **kwargs)
    assert [s["name"] for s in cut_off.found] == ["none"] and not cut_off.scores.any()


def test_with_nothing_claimed_the_strongest_support_hint_is(anny_body):
    """A standing body whose feet the photo cut off: the floor under them is a hint only (unseen_score),
    so nothing is claimed; surest_hint_claimed claims that hint (and nothing weaker), says so, and
    leaves a body with a claim, or with no hint at all, as it was."""
    from backend.localizers.default.priors import SUPPORT
    from backend.localizers.default.supports import Supports, find_supports, surest_hint_claimed, vertex_areas

    parts = anny_body.parts
    vertices, joints = _posed("stand", 0)
    unseen = find_supports(vertices, parts, joints, legs_seen=True, feet_seen={"L": False, "R": False},
                           areas=vertex_areas(vertices, anny_body.faces))
    assert unseen.scores.max() == pytest.approx(SUPPORT["unseen_score"])
    weaker = np.zeros(len(parts), bool)
    weaker[np.flatnonzero(parts == PART_ID["left_palm"])[:5]] = True
    unseen.scores[weaker] = 0.2  # a weaker hint elsewhere stays one
    claimed = surest_hint_claimed(unseen)
    on = claimed.scores >= 0.5
    assert np.array_equal(on, unseen.scores >= SUPPORT["unseen_score"] - SUPPORT["surest_hint_margin"])
    assert on.sum() > 300 and not on[weaker].any() and claimed.found[-1]["name"] == "surest hint"
    assert claimed.found[-1]["from_score"] == pytest.approx(SUPPORT["unseen_score"], abs=1e-3)
    seen = find_supports(vertices, parts, joints, legs_seen=True, feet_seen={"L": True, "R": True},
                         areas=vertex_areas(vertices, anny_body.faces))
    assert surest_hint_claimed(seen) is seen
    empty = Supports(np.zeros(len(parts)), seen.up, [])
    assert surest_hint_claimed(empty) is empty
    faint = Supports(np.where(weaker, 0.01, 0.0), seen.up, [])  # a faint hint: it alone, not the bare body
    assert np.array_equal(surest_hint_claimed(faint).scores >= 0.5, weaker)


def test_a_squat_balances_on_its_feet_without_a_wall_behind(anny_body):
    """A squat whose torso the fit reclines 30 deg and tips 10 deg back about the flat feet puts the centre of
    mass behind the heels, where backing.backing alone finds a wall; the photo's heels just below the hips (a
    squat) say the body balances on its feet: no wall, nothing claimed above the floor's band."""
    from backend.eval.synth.poses import lean_back, pose_angles, rotation
    from backend.localizers.default.backing import backing
    from backend.localizers.default.fit import JOINTS, _model, posed
    from backend.localizers.default.priors import SUPPORT
    from backend.localizers.default.supports import estimate_up, find_supports, vertex_areas

    labels = list(_model().bone_labels)
    deltas = {}
    for bone, rotations in {**pose_angles("squat", np.random.default_rng([0, 2])), "spine05": [("x", -30.0)]}.items():
        matrix = np.eye(3)
        for axis, degrees in rotations:
            matrix = matrix @ rotation(axis, degrees)
        deltas[bone] = matrix
    for side in "LR":  # the ankles bend, the soles stay flat
        deltas[f"foot.{side}"] = deltas.get(f"foot.{side}", np.eye(3)) @ rotation("x", 10.0)
    rest, heads = posed(deltas)
    turn = np.asarray(lean_back(np.eye(3), 10.0)).T
    vertices = rest @ turn.T
    joints = {f"{j}.{s}": turn @ heads[labels.index(f"{b}.{s}")] for s in "LR" for j, b in JOINTS.items()}
    areas = vertex_areas(vertices, anny_body.faces)
    up = estimate_up(vertices, areas)
    height = vertices @ up
    _, wall = backing(vertices, anny_body.parts, joints, up, height <= height.min() + SUPPORT["band_m"], areas)
    assert wall is not None and wall["com_behind_m"] >= SUPPORT["backing_com_behind_m"]  # the pose alone leans
    squat = find_supports(vertices, anny_body.parts, joints, legs_seen=True, feet_seen={"L": True, "R": True},
                          areas=areas, thigh_drop=0.1, heel_distance=0.9)
    assert [s["name"] for s in squat.found] == ["floor", "none under the hips"]
    claimed = squat.scores > 0
    assert claimed.any() and (height[claimed] <= height.min() + SUPPORT["band_m"] + 1e-9).all()


def test_straight_legs_under_a_seat_are_stretched_out_on_the_floor(anny_body):
    """A body fitted with straight legs hanging 45 deg ahead under hips held up (MediaPipe's depth of legs
    stretched towards the camera) and a seat found for it sits on the floor with its legs stretched out:
    stretch_legs_on_floor turns the legs about the hips until the heels are level with the buttocks; the
    settled body's supports are the floor under its buttocks and heels: no seat, no soles flat on the floor,
    not the hands at its sides. Bent knees (a chair), legs whose ankles were not seen, or no seat keep the
    fit."""
    from backend.eval.synth.poses import rotation
    from backend.localizers.default.priors import FIT
    from backend.localizers.default.stretched_legs import knee_bend_deg, stretch_legs_on_floor
    from backend.localizers.default.supports import find_supports, vertex_areas

    parts = anny_body.parts
    up = np.array([0.0, 0.0, 1.0])
    seat, seen = [{"name": "floor"}, {"name": "seat"}], np.ones(33)
    fit = _fit_of({f"upperleg01.{s}": rotation("x", -45.0) for s in "LR"})
    assert max(knee_bend_deg(fit, s) for s in "LR") < 10.0 < FIT["stretched_knee_deg"]  # the rest pose's knees
    stretched = stretch_legs_on_floor(fit, up, seat, seen, parts)
    assert stretched.stretched == ["L", "R"]
    height = stretched.vertices @ up
    buttocks = float(height[parts == PART_ID["buttocks"]].min())
    for name in ("left", "right"):
        foot = np.isin(parts, [PART_ID[f"{name}_foot"], PART_ID[f"{name}_sole"]])
        assert abs(float(height[foot].min()) - buttocks) < 0.01  # the heel on the floor, level with the buttocks
    supports = find_supports(stretched.vertices, parts, stretched.joints, legs_seen=True,
                             feet_seen={"L": True, "R": True}, areas=vertex_areas(stretched.vertices, anny_body.faces),
                             thigh_drop=0.3, up=up)
    assert [s["name"] for s in supports.found] == ["floor"]
    on = supports.scores >= 0.5
    assert on[parts == PART_ID["buttocks"]].sum() >= 5
    soles = np.isin(parts, [PART_ID["left_sole"], PART_ID["right_sole"]])
    heels = on & np.isin(parts, [PART_ID[n] for n in ("left_foot", "right_foot", "left_sole", "right_sole")])
    assert heels.sum() >= 10 and on[soles].mean() < 0.2  # the heels' patch, not the soles
    hands = np.isin(parts, [PART_ID[f"{s}_{p}"] for s in ("left", "right") for p in ("hand", "palm", "fingers")])
    assert not on[hands].any()
    bent = _fit_of({**{f"upperleg01.{s}": rotation("x", -90.0) for s in "LR"},
                    **{f"lowerleg01.{s}": rotation("x", 90.0) for s in "LR"}})
    assert stretch_legs_on_floor(bent, up, seat, seen, parts) is bent  # a chair's bent knees
    hidden = seen.copy()
    hidden[[27, 28]] = 0.2  # both ankles behind a crate: the straight shins are guesses
    assert stretch_legs_on_floor(fit, up, seat, hidden, parts) is fit
    assert stretch_legs_on_floor(fit, up, seat[:1], seen, parts) is fit  # nothing holds the hips up


def test_an_arm_through_the_floor_neither_sets_it_nor_touches_it(anny_body):
    """The fit has no collision: a floor-sitter's arm fitted hanging through the floor (its right forearm and
    hand 12 cm lower) leaves the floor under the buttocks (seats.floor_under) and is not on it; the other
    hand, level with the buttocks, would still be."""
    from backend.localizers.default.seats import floor_under
    from backend.localizers.default.supports import find_supports, vertex_areas

    parts = anny_body.parts
    vertices, joints = _posed("sit_ground", 0)
    kwargs = {"legs_seen": True, "feet_seen": {"L": True, "R": True}, "areas": vertex_areas(vertices, anny_body.faces)}
    up = np.array([0.0, 0.0, 1.0])  # the posed body stands on z = 0: gravity is known
    before = find_supports(vertices, parts, joints, up=up, **kwargs)
    arm = np.isin(parts, [PART_ID[n] for n in ("right_forearm", "right_hand", "right_palm", "right_fingers")])
    through = vertices.copy()
    through[arm, 2] = through[arm, 2] - (through[arm, 2].min() - vertices[:, 2].min()) - 0.12
    assert floor_under(through @ up, parts) == pytest.approx(floor_under(vertices @ up, parts))
    after = find_supports(through, parts, joints, up=up, **kwargs)
    on = after.scores >= 0.5
    assert not on[arm].any()
    assert (on[~arm] == (before.scores >= 0.5)[~arm]).mean() > 0.99  # the rest of the body touches as it did
    feet = np.isin(parts, [PART_ID["left_foot"], PART_ID["right_foot"]])
    assert on[parts == PART_ID["buttocks"]].any() and on[feet].any()


def _legs_in_photo(shin_l: float, shin_r: float) -> np.ndarray:
    """(33,3) pixel keypoints of an upright body facing the camera: torso 100 px, thighs hanging 85 px
    down the photo, each shin shin_l / shin_r px long straight down from its knee."""
    from backend.localizers.default import detect as K

    image = np.zeros((33, 3))
    points = {K.L_SHOULDER: (240, 100), K.R_SHOULDER: (200, 100), K.L_HIP: (235, 200), K.R_HIP: (205, 200),
              K.L_KNEE: (235, 285), K.R_KNEE: (205, 285), K.L_ANKLE: (235, 285 + shin_l),
              K.R_ANKLE: (205, 285 + shin_r)}
    for index, xy in points.items():
        image[index, :2] = xy
    return image


def test_a_short_shin_in_the_photo_under_a_hanging_thigh_is_folded_back(anny_body):
    """MediaPipe fitted a kneeling body's legs straight (dev seed 517 image 65: a standing body on its soles,
    geodesic error 125 cm); the photo shows the thighs hanging over shins a fraction as long, so the shins
    point along the camera's depth, and a knee only flexes backwards: fold_short_shins lays each such shin
    level behind its knee (rested, so the kneeling foot's patch applies) and, with both folded, the supports
    of the settled body are under its shins, not its soles. Shins as long as the thighs in the photo, a
    lying torso, or unseen ankles keep the fit."""
    from backend.localizers.default.fit import world_rotations, rest_directions
    from backend.localizers.default.folded_shins import fold_short_shins, short_shins_in_photo
    from backend.localizers.default.stretched_legs import knee_bend_deg
    from backend.localizers.default.supports import find_supports, vertex_areas

    parts = anny_body.parts
    up = np.array([0.0, 0.0, 1.0])
    seen = np.ones(33)
    standing = _fit_of({})
    assert short_shins_in_photo(_legs_in_photo(25, 85), seen) == ("L",)
    one = fold_short_shins(standing, _legs_in_photo(25, 85), seen, up)
    assert one.rested == ["L"]
    shin = world_rotations(one.deltas)["lowerleg01.L"] @ rest_directions()["lowerleg01.L"]
    assert abs(float(shin @ up)) < 0.05 and knee_bend_deg(one, "L") > 80.0  # level, folded back
    assert float(shin @ np.array([0.0, 1.0, 0.0])) > 0.9  # behind the knee: Anny faces -Y
    assert knee_bend_deg(one, "R") < 10.0  # the long shin keeps its fit
    both = fold_short_shins(standing, _legs_in_photo(25, 20), seen, up)
    assert both.rested == ["L", "R"]
    supports = find_supports(both.vertices, parts, both.joints, legs_seen=True, feet_seen={"L": True, "R": True},
                             areas=vertex_areas(both.vertices, anny_body.faces), kneeling_feet=("L", "R"))
    on = supports.scores >= 0.5
    for name in ("left", "right"):
        assert on[parts == PART_ID[f"{name}_shin"]].sum() >= 20
        assert on[parts == PART_ID[f"{name}_sole"]].sum() == 0  # not standing on its soles
    assert fold_short_shins(standing, _legs_in_photo(85, 85), seen, up) is standing
    assert fold_short_shins(standing, _legs_in_photo(25, 20), seen, np.array([0.0, 1.0, 0.0])) is standing  # lying
    hidden = seen.copy()
    hidden[[27, 28]] = 0.2  # ankles behind something: their place in the photo is a guess
    assert fold_short_shins(standing, _legs_in_photo(25, 20), hidden, up) is standing


def test_knees_on_the_floor_under_thighs_that_do_not_hang_in_the_photo_sit_on_a_seat(anny_body):
    """A crate hides a seated body's shins and feet; MediaPipe's guess folds them back and the fit kneels
    (tuning seed 'occluded' 133: the shins claimed, truly the buttocks and the soles). Its thighs reach only
    0.61 torso lengths down the photo, a kneeling body's 0.74-0.94: seat_folded_kneel re-poses it seated
    (thighs level ahead, hidden shins hanging onto the floor), and the supports of that body are a seat under
    the buttocks and the floor under the feet, no shin on the floor. Thighs hanging in the photo (a kneel),
    a seen foot, or an unknown drop keep the kneeling fit."""
    from backend.localizers.default.fit import kneeling_sides
    from backend.localizers.default.folded_thighs import seat_folded_kneel
    from backend.localizers.default.supports import find_supports, vertex_areas

    parts = anny_body.parts
    up = np.array([0.0, 0.0, 1.0])
    kneel = _fit_of(_generator_deltas("kneel", 3))  # the fit frame is Anny's, Z up
    assert kneeling_sides(kneel, up) == ("L", "R")
    hidden = {"L": False, "R": False}
    seated = seat_folded_kneel(kneel, up, 0.61, hidden)
    assert seated is not kneel and kneeling_sides(seated, up) == ()
    for side in "LR":  # the thighs level ahead (Anny faces -Y), the shins hanging straight down
        thigh = seated.joints[f"knee.{side}"] - seated.joints[f"hip.{side}"]
        shin = seated.joints[f"ankle.{side}"] - seated.joints[f"knee.{side}"]
        assert abs(thigh[2]) < 0.03 and thigh[1] < -0.3 and shin[2] < -0.9 * np.linalg.norm(shin)
    supports = find_supports(seated.vertices, parts, seated.joints, legs_seen=True, feet_seen=hidden,
                             areas=vertex_areas(seated.vertices, anny_body.faces), flat_feet=("L", "R"))
    assert "seat" in [s["name"] for s in supports.found]
    on = supports.scores >= 0.5
    assert on[parts == PART_ID["buttocks"]].sum() >= 30
    assert not on[np.isin(parts, [PART_ID["left_shin"], PART_ID["right_shin"]])].any()
    assert on[np.isin(parts, [PART_ID["left_sole"], PART_ID["right_sole"]])].sum() >= 100  # the hidden feet
    assert seat_folded_kneel(kneel, up, 0.85, hidden) is kneel  # thighs hang: it kneels
    assert seat_folded_kneel(kneel, up, float("nan"), hidden) is kneel
    assert seat_folded_kneel(kneel, up, 0.61, {"L": True, "R": False}) is kneel  # a seen foot: the shin is seen


def test_a_body_whose_hidden_legs_hold_its_buttocks_at_the_floor_sits_on_them(anny_body):
    """Knees hidden, no seat in the pose, and the fitted buttocks near the lowest point (dev seed 517 image 22:
    legs stretched towards the camera, the right foot claimed, truly the buttocks and the left heel; geodesic
    error 73 cm): the body sits on the floor, and only its buttocks are claimed (uncertain), not the guessed
    feet. A standing body whose knees are hidden keeps standing on its feet (hidden_feet_on_floor)."""
    from backend.eval.synth.poses import rotation
    from backend.localizers.default.priors import SUPPORT
    from backend.localizers.default.supports import find_supports

    parts = anny_body.parts
    up = np.array([0.0, 0.0, 1.0])
    hidden = {"L": False, "R": False}
    floor_sitter = _fit_of({f"upperleg01.{s}": rotation("x", -90.0) for s in "LR"})  # legs level ahead
    supports = find_supports(floor_sitter.vertices, parts, floor_sitter.joints, legs_seen=False, feet_seen=hidden,
                             feet_in_frame=True, up=up)
    on = supports.scores >= 0.5
    assert on[parts == PART_ID["buttocks"]].sum() >= 30
    feet = np.isin(parts, [PART_ID[n] for n in ("left_foot", "right_foot", "left_sole", "right_sole")])
    assert not on[feet].any() and supports.found[0]["uncertain"]
    assert supports.scores.max() == SUPPORT["hidden_feet_score"]
    standing = _fit_of({})
    supports = find_supports(standing.vertices, parts, standing.joints, legs_seen=False, feet_seen=hidden,
                             feet_in_frame=True, up=up)
    on = supports.scores >= 0.5
    assert on[feet].sum() >= 20 and not on[parts == PART_ID["buttocks"]].any()


def test_a_body_sitting_on_the_floor_rests_on_its_buttocks_not_the_front_of_its_pelvis(anny_body):
    """MediaPipe's depth leans a floor-sitter's torso far forward (dev seed 517 image 112: 60 deg), so the front
    of the pelvis is the lowest point of the hips and the floor's band took it, not the buttocks; sitting, the
    body rests on its sitting bones: on_buttocks drops the pelvis and claims the buttocks' lowest patch."""
    from backend.eval.synth.poses import rotation
    from backend.localizers.default.priors import SUPPORT
    from backend.localizers.default.stretched_legs import on_buttocks
    from backend.localizers.default.supports import find_supports

    parts = anny_body.parts
    up = np.array([0.0, 0.0, 1.0])
    leaning = _fit_of({"root": rotation("x", 50.0),  # the torso leant forward (Anny faces -Y)
                       **{f"upperleg01.{s}": rotation("x", -140.0) for s in "LR"}})  # the legs level ahead
    seen = {"L": True, "R": True}
    supports = find_supports(leaning.vertices, parts, leaning.joints, legs_seen=True, feet_seen=seen, up=up)
    pelvis, buttocks = parts == PART_ID["pelvis"], parts == PART_ID["buttocks"]
    assert (supports.scores[pelvis] >= 0.5).sum() > (supports.scores[buttocks] >= 0.5).sum()  # the fit's error
    scores = on_buttocks(supports.scores, leaning.vertices, parts, up)
    assert not (scores[pelvis] > 0).any()
    assert (scores[buttocks] >= 0.5).sum() >= 30 and scores.max() == SUPPORT["floor_score"]
    height = leaning.vertices @ up
    assert height[buttocks & (scores >= 0.5)].max() <= height[buttocks].min() + SUPPORT["seat_band_m"] + 1e-9


def test_a_kneeling_fit_whose_shins_dip_towards_the_toes_rests_them_on_the_floor(anny_body):
    """MediaPipe's depth may tip a kneeling body's shins down behind the knees (tuning seed image 95: 10 deg,
    the toes into the floor and the knees 23-24 cm above them, the top of a foot claimed, F1 0): the knees are
    still within FIT['knee_on_floor_m'] of the lowest point, so rest_shins_on_floor lays both shins level."""
    from backend.eval.synth.poses import rotation
    from backend.localizers.default.fit import rest_shins_on_floor
    from backend.localizers.default.priors import FIT

    up = np.array([0.0, 0.0, 1.0])
    deltas = _generator_deltas("kneel", 3)
    for side in "LR":  # the shins folded 96 deg -> 70 deg: they dip below level towards the feet
        deltas[f"lowerleg01.{side}"] = rotation("x", 70.0)
    dipping = _fit_of(deltas)
    lowest = float((dipping.vertices @ up).min())
    knees = [float(dipping.joints[f"knee.{s}"] @ up) - lowest for s in "LR"]
    assert min(knees) > 0.12 and max(knees) < FIT["knee_on_floor_m"]  # above the old 12 cm
    rested = rest_shins_on_floor(dipping, up)
    assert rested.rested == ["L", "R"]
    lowest = float((rested.vertices @ up).min())
    assert max(float(rested.joints[f"knee.{s}"] @ up) - lowest for s in "LR") < 0.12  # the knees down on the floor


def test_the_arm_on_the_cameras_side_of_a_lying_body_is_not_claimed(anny_body):
    """Lying on the back, head and legs raised, seen from its side (the body turned 90 deg about gravity, so
    one shoulder is ~0.33 m nearer the camera), the right arm swung 25 deg back so the fit lays it on the bed
    within the band (not sunk): on the camera's side its height is MediaPipe's depth and it is not claimed;
    seen from the other side, the same arm (now the far one) is claimed as the fit lays it."""
    from backend.eval.synth.poses import lean_back, pose_angles, rotation
    from backend.localizers.default.fit import JOINTS, _model, posed
    from backend.localizers.default.priors import SUPPORT
    from backend.localizers.default.supports import find_supports, vertex_areas

    labels = list(_model().bone_labels)
    deltas = {}
    for bone, rotations in {**pose_angles("lie_raised", np.random.default_rng([0, 3])),
                            "upperarm01.R": [("x", 25.0)]}.items():
        matrix = np.eye(3)
        for axis, degrees in rotations:
            matrix = matrix @ rotation(axis, degrees)
        deltas[bone] = matrix
    rest, heads = posed(deltas)
    right_arm = np.isin(anny_body.parts, [PART_ID[f"right_{n}"] for n in ("upper_arm", "forearm", "hand", "palm",
                                                                           "fingers")])
    torso = np.isin(anny_body.parts, [PART_ID[n] for n in ("back", "buttocks", "chest", "abdomen", "pelvis")])
    claimed = {}
    for side, degrees in (("right arm", 90.0), ("left arm", -90.0)):
        turn = _pitch(10.0) @ _yaw(degrees) @ np.asarray(lean_back(np.eye(3), 90.0)).T
        vertices = rest @ turn.T
        joints = {f"{j}.{s}": turn @ heads[labels.index(f"{b}.{s}")] for s in "LR" for j, b in JOINTS.items()}
        supports = find_supports(vertices, anny_body.parts, joints, legs_seen=True, feet_seen={"L": True, "R": True},
                                 areas=vertex_areas(vertices, anny_body.faces))
        assert supports.found[0]["near_arm"] == side and supports.found[0]["sunk_limbs"] == []
        height = vertices @ supports.up
        assert abs(height[right_arm].min() - height[torso].min()) < SUPPORT["lying_band_m"]  # on the bed, not sunk
        claimed[side] = int((supports.scores[right_arm] >= 0.5).sum())
        for name in ("back", "buttocks"):
            assert (supports.scores[anny_body.parts == PART_ID[name]] >= 0.5).sum() >= 20, name
    assert claimed["right arm"] == 0 and claimed["left arm"] >= 50


def test_no_arm_is_near_when_the_shoulders_are_as_deep(anny_body):
    """A camera above the middle of the bed sees both shoulders at the same depth: neither arm is the near one."""
    from backend.localizers.default.lying import near_arm
    from backend.localizers.default.priors import SUPPORT

    joints = {"shoulder.L": np.array([0.2, 1.0, 0.0]), "shoulder.R": np.array([-0.2, 1.0, 0.0])}
    assert near_arm(joints) is None
    joints["shoulder.R"] = joints["shoulder.R"] + [0.0, -SUPPORT["lying_near_shoulder_m"] - 0.01, 0.0]
    assert near_arm(joints) == "right arm"


def _yaw(degrees: float) -> np.ndarray:
    a = np.radians(degrees)
    return np.array([[np.cos(a), -np.sin(a), 0.0], [np.sin(a), np.cos(a), 0.0], [0.0, 0.0, 1.0]])


def test_the_standing_vertical_follows_the_torso_and_the_spine_lies_near_level(anny_body):
    """standing_vertical reads the rest pose's +Z off the fitted torso (a rigid turn of the rest body); a
    resting normal pitched along the spine beyond SUPPORT['lying_spine_pitch_deg'] is turned back to it,
    one within it is kept, and the roll about the spine is kept either way."""
    from backend.localizers.default.fit import rest_posed
    from backend.localizers.default.lying import spine_near_level, standing_vertical
    from backend.localizers.default.priors import SUPPORT

    turn = _pitch(-80.0) @ _yaw(30.0)
    vertical = standing_vertical(rest_posed()[0] @ turn.T + [0.3, -0.2, 1.0], anny_body.parts)
    np.testing.assert_allclose(vertical, turn @ [0.0, 0.0, 1.0], atol=1e-6)
    bound = SUPPORT["lying_spine_pitch_deg"]
    vertical = np.array([0.0, 1.0, 0.0])  # a body lying along Y; the bed's normal near +Z
    for pitch, roll in ((bound + 3.0, 6.0), (-(bound + 3.0), -4.0), (bound / 2, 5.0)):
        p, r = np.radians(pitch), np.radians(roll)
        up = np.array([np.sin(r) * np.cos(p), np.sin(p), np.cos(r) * np.cos(p)])
        out, had = spine_near_level(up, vertical)
        assert had == pytest.approx(pitch)
        assert np.degrees(np.arcsin(out @ vertical)) == pytest.approx(float(np.clip(pitch, -bound, bound)))
        assert np.degrees(np.arctan2(out[0], out[2])) == pytest.approx(roll)  # the roll about the spine kept
        assert np.linalg.norm(out) == pytest.approx(1.0)


def test_a_lying_body_is_not_rocked_onto_its_shoulder_blades_beyond_the_bound(anny_body, monkeypatch):
    """The generator's lie_raised pose laid on its back with its standing vertical level: the tilt with the
    most torso surface on the plane rocks it past SUPPORT['lying_spine_pitch_deg'] onto the default body's
    shoulder blades; the bound keeps the plane near level, so less of the upper back is claimed while the
    buttocks still are."""
    from backend.localizers.default import priors
    from backend.localizers.default.supports import find_supports, vertex_areas

    vertices, joints, true_up = _laid_down("lie_raised", 3)
    kwargs = {"legs_seen": True, "feet_seen": {"L": True, "R": True}, "areas": vertex_areas(vertices, anny_body.faces)}
    bounded = find_supports(vertices, anny_body.parts, joints, **kwargs)
    assert abs(bounded.found[0]["spine_pitch_deg"]) > priors.SUPPORT["lying_spine_pitch_deg"]
    monkeypatch.setitem(priors.SUPPORT, "lying_spine_pitch_deg", 90.0)
    free = find_supports(vertices, anny_body.parts, joints, **kwargs)
    back = anny_body.parts == PART_ID["back"]
    buttocks = anny_body.parts == PART_ID["buttocks"]
    assert (bounded.scores[back] >= 0.5).sum() < (free.scores[back] >= 0.5).sum()
    assert (bounded.scores[buttocks] >= 0.5).sum() >= 20
    for supports in (bounded, free):
        assert np.degrees(np.arccos(np.clip(supports.up @ true_up, -1, 1))) <= 5.0


def test_a_floor_sitter_whose_fitted_feet_are_lowest_rests_on_its_buttocks_without_a_wall(anny_body):
    """Sitting on the floor with the legs ahead, MediaPipe's depth tilts the shins down: the fitted heels,
    not the buttocks, are lowest. Folded thighs over buttocks within SUPPORT['floor_sitting_buttocks_m'] of
    the floor sit on it (supports.sits_on_floor): the buttocks are claimed, the upright torso leans on no
    wall (the standing balance would read its centre of mass far behind the heels). Hips at a seat's height
    keep the seat; the same body standing is not sitting."""
    from backend.eval.synth.poses import rotation
    from backend.localizers.default.priors import SUPPORT
    from backend.localizers.default.supports import find_supports, sits_on_floor, vertex_areas

    parts = anny_body.parts
    up = np.array([0.0, 0.0, 1.0])
    fit = _fit_of({**{f"upperleg01.{s}": rotation("x", -90.0) for s in "LR"},
                   **{f"lowerleg01.{s}": rotation("x", 15.0) for s in "LR"}})  # thighs level, shins 15 deg down
    height = fit.vertices @ up
    buttocks = float(height[parts == PART_ID["buttocks"]].min() - height.min())
    assert 0.05 < buttocks < SUPPORT["floor_sitting_buttocks_m"]  # the heels are lowest, the buttocks just above
    assert sits_on_floor(height - height.min(), parts, fit.joints, up)
    supports = find_supports(fit.vertices, parts, fit.joints, legs_seen=True, feet_seen={"L": True, "R": True},
                             areas=vertex_areas(fit.vertices, anny_body.faces), up=up)
    names = [s["name"] for s in supports.found]
    assert names == ["floor"] and supports.found[0]["sitting_on_it"], supports.found
    on = supports.scores >= 0.5
    assert on[parts == PART_ID["buttocks"]].sum() >= 20
    assert not on[np.isin(parts, [PART_ID["back"], PART_ID["head"]])].any()  # no wall behind the upright torso
    standing = _fit_of({})
    height = standing.vertices @ up
    assert not sits_on_floor(height - height.min(), parts, standing.joints, up)
