"""Contact from the fitted body and the supports its pose needs under gravity (priors.SUPPORT).

Works on the fitted Anny vertices (N,3) in the fit frame. Gravity: the 'down' direction whose
plane under the lowest points carries the most body surface (swept over camera pitch/roll, since
MediaPipe's world frame follows the camera). Supports, each a plane: the floor under the lowest
points (under a lying body: the plane its torso rests on, lying.py); a seat under the buttocks when
the thighs are level and the hips well above the floor; a table under a level forearm of a seated
body (both in seats.py); a wall behind a standing body that would fall backwards, a backrest behind a reclined seated
torso (backing.py). A vertex within SUPPORT['band_m'] of a support's
plane (or below it: penetration) and in the support's region is in contact, so contact is a patch;
a foot levelled flat on the floor (fit.rest_feet_on_floor) touches it with its sole (flat_foot_patch).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from backend.bodies.parts import PART_ID, part_ids
from backend.localizers.default.backing import backing, backrest
from backend.localizers.default.lying import lying_contact
from backend.localizers.default.priors import SUPPORT
from backend.localizers.default.resting import resting_direction
from backend.localizers.default.seats import angle_from_down as _angle_from_down
from backend.localizers.default.seats import ARMS, floor_under, seat_supports, thigh_angles
from backend.localizers.default.stretched_legs import on_buttocks


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


def lying_torso(joints: dict[str, np.ndarray], up: np.ndarray) -> bool:
    """Whether the torso (hips -> shoulders) is more than SUPPORT['lying_deg'] from gravity's up: the body lies."""
    shoulders = (joints["shoulder.L"] + joints["shoulder.R"]) / 2
    hips = (joints["hip.L"] + joints["hip.R"]) / 2
    return _angle_from_down(hips - shoulders, up) > SUPPORT["lying_deg"]


def estimate_up(vertices: np.ndarray, areas: np.ndarray | None = None) -> np.ndarray:
    """(3,) the up direction whose lowest band holds the most body surface (a prior favours no tilt).

    areas: (N,) per-vertex area (vertex_areas); without it every vertex counts the same, which lets
    densely meshed parts win: the toes' tops outweighed a kneeling body's shins (issue 17).
    """
    step = SUPPORT["up_sample"]
    sample = vertices[::step]
    weight = np.full(len(sample), 1.0 / len(sample)) if areas is None else areas[::step] / areas[::step].sum()
    tilts = [(pitch, roll) for pitch in np.arange(-SUPPORT["tilt_max_deg"], SUPPORT["tilt_max_deg"] + 1e-6,
                                                  SUPPORT["tilt_step_deg"]) for roll in (-10.0, -5.0, 0.0, 5.0, 10.0)]
    dirs = np.stack([_rotation(pitch, roll) @ np.array([0.0, 0.0, 1.0]) for pitch, roll in tilts])
    tilt = np.array([abs(pitch) + abs(roll) for pitch, roll in tilts])
    return resting_direction(sample, weight, dirs, tilt, SUPPORT["band_m"], SUPPORT["tilt_penalty"])


def foot_vertices(parts: np.ndarray, side: str) -> np.ndarray:
    """(N,) bool: the foot and sole vertices of side 'L' or 'R'."""
    name = "left" if side == "L" else "right"
    return np.isin(parts, part_ids((f"{name}_foot", f"{name}_sole")))


def flat_foot_patch(on_floor: np.ndarray, height: np.ndarray, parts: np.ndarray,
                    flat_feet: tuple[str, ...]) -> np.ndarray:
    """(N,) bool on_floor with each flat foot's patch replaced by its vertices within
    SUPPORT['flat_foot_band_m'] of its own sole: a levelled foot carries the weight on its whole
    sole, and the floor's 3 cm band would take the foot's rim as well."""
    out = on_floor.copy()
    for side in flat_feet:
        foot = foot_vertices(parts, side)
        out[foot] = height[foot] <= float(height[foot].min()) + SUPPORT["flat_foot_band_m"]
    return out


def kneeling_foot_patch(on_floor: np.ndarray, height: np.ndarray, parts: np.ndarray,
                        sides: tuple[str, ...]) -> np.ndarray:
    """(N,) bool on_floor with the floor patch of each kneeling leg's foot (sides, 'L'/'R') cut to its
    vertices within SUPPORT['kneeling_foot_band_m'] of the foot's own lowest point: a kneeling body's
    weight is on its knees and shins, the foot behind only touches (its toes, or the instep's ridge),
    and the floor's 3 cm band would take the whole top of a foot the fit lays level."""
    out = on_floor.copy()
    for side in sides:
        foot = foot_vertices(parts, side)
        out[foot] &= height[foot] <= float(height[foot].min()) + SUPPORT["kneeling_foot_band_m"]
    return out


def below_the_hands(height: np.ndarray, parts: np.ndarray, band: float) -> tuple[np.ndarray, float]:
    """(N,) bool within `band` of the floor and the floor's height (seats.floor_under: the lowest point but
    the arms'); an arm that reaches more than `band` below it passes through it (the fit's hanging arm), so
    it is not on it."""
    hands = {name: np.isin(parts, part_ids(tuple(a for a in ARMS if a.startswith(name)))) for name in ("left", "right")}
    floor = floor_under(height, parts)
    out = height <= floor + band
    for hand in hands.values():
        if hand.any() and float(height[hand].min()) < floor - band:
            out &= ~hand
    return out, floor


def palm_down_hands(on_floor: np.ndarray, height: np.ndarray, parts: np.ndarray, floor: float) -> np.ndarray:
    """(N,) bool on_floor without the fingers of a hand whose palm is above the floor band: a hand
    rests on the floor palm (or its heel) down; fingertips alone in the band are the fit's straight
    fingers of a hand reaching down (MediaPipe gives the pose no finger joints), e.g. a floor-sitter's
    hands beside the hips, palm 6-7 cm up (tuning seed: 129-370 finger vertices claimed per image)."""
    out = on_floor.copy()
    for name in ("left", "right"):
        palm = parts == PART_ID[f"{name}_palm"]
        if palm.any() and float(height[palm].min()) > floor + SUPPORT["band_m"]:
            out[parts == PART_ID[f"{name}_fingers"]] = False
    return out


def find_supports(vertices: np.ndarray, parts: np.ndarray, joints: dict[str, np.ndarray],
                  legs_seen: bool, feet_seen: dict[str, bool], areas: np.ndarray | None = None,
                  thigh_drop: float = float("nan"), heel_distance: float = float("nan"),
                  lap_cover: float = float("nan"), wrists_seen: dict[str, bool] | None = None,
                  head_flex: float = float("nan"), neck_bend: float = float("nan"), flat_feet: tuple[str, ...] = (),
                  kneeling_feet: tuple[str, ...] = (), feet_in_frame: bool = False,
                  up: np.ndarray | None = None) -> Supports:
    """Per-vertex support contact of the fitted body.

    joints: fitted joint positions ('hip.L', 'knee.L', 'ankle.L', 'elbow.L', 'wrist.L', ... .R).
    legs_seen: the knees were seen (else only a seat the pose shows and its levelled hidden feet are
        claimed, hidden_knees_seat: the pose below the waist is a guess).
    feet_seen: per side ('L', 'R'), the ankle was seen (else that foot's floor contact is scored
        SUPPORT['unseen_score']: a kneeling body's knees still touch the floor when its feet are hidden).
    areas: (N,) per-vertex surface area (vertex_areas of the fitted mesh) for the gravity search.
    thigh_drop: cues.thigh_image_drop of the photo (NaN: unknown); below SUPPORT['seat_thigh_drop_max']
        the thighs are folded in the photo, which seats the body even when the fitted thighs hang.
    heel_distance: cues.heel_image_distance of the photo (NaN: unknown); below
        SUPPORT['squat_heel_distance_max'] the body squats on its feet: no seat.
    lap_cover: cues.lap_image_cover of the photo (NaN: unknown); below SUPPORT['table_lap_cover_max'] a
        table top hides the lap and the hands of wrists_seen (per side, 'L'/'R') rest on it.
    head_flex: lying.head_flexion_deg of the photo (NaN: unknown): a lying body's nodded head is lifted.
    neck_bend: lying.neck_image_bend_deg of the photo (NaN: unknown): a lying body's bent neck lifts its head.
    flat_feet: sides whose foot stands flat on the floor (fit.rest_feet_on_floor): its sole patch is
        the foot's vertices within SUPPORT['flat_foot_band_m'] of its own sole (flat_foot_patch).
    kneeling_feet: sides whose shin the fit laid on the floor (fit.rest_shins_on_floor): that foot's
        floor patch is its lowest part only (kneeling_foot_patch).
    feet_in_frame: cues.feet_in_frame of the photo (False: unknown); with the knees hidden and no seat,
        the hidden feet inside the photo stand on the floor (hidden_knees_seat).
    up: (3,) gravity's up when already known (the body was re-posed on it: stretched_legs.py), else searched.
    """
    up = estimate_up(vertices, areas) if up is None else up
    height = vertices @ up
    floor = float(height.min())
    scores = np.zeros(len(vertices))
    found: list[dict] = []
    if not legs_seen:
        return hidden_knees_seat(vertices, parts, joints, up, feet_seen, flat_feet, feet_in_frame)
    band = SUPPORT["band_m"]
    lying = lying_torso(joints, up)
    on_floor, lie = height <= floor + band, {}
    if lying:  # the support is the plane the torso rests on (lying.py); raised head and legs are free
        on_floor, up, lie = lying_contact(vertices, parts, up, areas, head_flex, neck_bend, joints)
        height = vertices @ up
        floor = float(height.min())
    if not lying:
        on_floor, floor = below_the_hands(height, parts, band)
        on_floor = flat_foot_patch(on_floor, height, parts, flat_feet)
        on_floor = kneeling_foot_patch(on_floor, height, parts, kneeling_feet)
    on_floor = palm_down_hands(on_floor, height, parts, floor)
    scores[on_floor] = SUPPORT["floor_score"]
    for side in "LR":  # an unseen foot's floor contact is a hint only
        if not feet_seen[side]:
            scores[on_floor & foot_vertices(parts, side)] = SUPPORT["unseen_score"]
    found.append({"name": "floor", "height_m": 0.0, "vertices": int(on_floor.sum()), "score": SUPPORT["floor_score"],
                  "unseen_feet": [s for s in "LR" if not feet_seen[s]], **lie})

    seat_scores, seated_found = seat_supports(vertices, parts, joints, up, thigh_drop, heel_distance, lap_cover,
                                              wrists_seen)
    scores = np.maximum(scores, seat_scores)
    found += seated_found
    seated = any(f["name"] == "seat" for f in found)  # a backrest, or a wall behind seen feet (backing.py)
    tables = any(f["name"].startswith("table") for f in found)
    if seated:
        seated_hidden_feet(scores, on_floor, parts, feet_seen, flat_feet, found[0])
    # A squat balances on its feet (the hips go back as the torso leans forward): no wall behind it (backing.py).
    squatting = any(f["name"] == "none under the hips" for f in found)
    if (not lying and not seated and not squatting and not on_floor[parts == PART_ID["buttocks"]].any()
            and sits_on_floor(height - floor, parts, joints, up)):
        scores = on_buttocks(scores, vertices, parts, up)
        found[0]["sitting_on_it"] = True
        seated = True  # it balances on its buttocks: a backrest (a wall) only behind a reclined torso
    if not lying and not squatting and (seated or (all(feet_seen.values()) and not tables)):
        on_back, behind = (backrest(vertices, parts, joints, up, areas) if seated
                           else backing(vertices, parts, joints, up, on_floor, areas))
        if behind is not None:
            scores[on_back] = np.maximum(scores[on_back], SUPPORT["backing_score"])
            found.append(behind)
    return Supports(scores, up, found)


def sits_on_floor(height: np.ndarray, parts: np.ndarray, joints: dict[str, np.ndarray], up: np.ndarray) -> bool:
    """Folded thighs (both at least SUPPORT['thigh_level_deg'] from hanging) over buttocks less than
    SUPPORT['floor_sitting_buttocks_m'] above the lowest point (height: (N,) above it): the body sits on the
    floor, its hips too low for a seat (seats.seat_supports), its legs ahead. MediaPipe's depth of legs
    pointing at the camera tilts them down, so the fitted feet, not the buttocks, are lowest: the floor
    alone misses the buttocks (find_supports then rests them on it: stretched_legs.on_buttocks), and the
    standing balance reads the upright torso as leaning on a wall (dev seed 9017 image 82: back and head
    claimed, 37 cm geodesic error)."""
    thighs = thigh_angles(joints, up)
    buttocks = float(height[parts == PART_ID["buttocks"]].min())
    return min(thighs) >= SUPPORT["thigh_level_deg"] and buttocks < SUPPORT["floor_sitting_buttocks_m"]


def seated_hidden_feet(scores: np.ndarray, on_floor: np.ndarray, parts: np.ndarray, feet_seen: dict[str, bool],
                       flat_feet: tuple[str, ...], floor: dict) -> None:
    """A seated body's unseen foot that its fitted pose puts flat on the floor (one of flat_feet) rests
    on it: its patch gets SUPPORT['seated_hidden_foot_score'] instead of the unseen hint (in place;
    `floor`, the floor's found entry, lists those sides under 'hidden_feet_on_floor'). The seat carries
    the body, so the shins hang from the knees and the feet go down to the floor; MediaPipe's guess of
    hidden feet follows the seen body (a crate in front of the shins, a table, the frame's edge). Dev seeds
    17/2017/5017/9017: 45 of 46 hidden feet rested here were in the truth; the one that was not (9017 image
    67, 81 cm) belonged to a body sitting on the floor, whose hidden shins MediaPipe hung as if from a
    0.63 m seat."""
    rest = [side for side in "LR" if not feet_seen[side] and side in flat_feet]
    for side in rest:
        foot = foot_vertices(parts, side)
        scores[on_floor & foot] = np.maximum(scores[on_floor & foot], SUPPORT["seated_hidden_foot_score"])
    floor["hidden_feet_on_floor"] = rest


def hidden_knees_seat(vertices: np.ndarray, parts: np.ndarray, joints: dict[str, np.ndarray], up: np.ndarray,
                      feet_seen: dict[str, bool], flat_feet: tuple[str, ...], feet_in_frame: bool = False) -> Supports:
    """The supports of a body whose knees are hidden (a crate, a table or the frame in front of the legs):
    only a seat follows from the seen body, when the fitted thighs seat it (seats.seat_supports); then its
    buttocks rest on the seat and its hidden feet that the fit levels on the floor rest there
    (seated_hidden_feet). The floor under guessed legs is not claimed otherwise, and no seat means no
    support (the support is not visible) unless the feet are inside the photo (feet_in_frame): then
    something in the picture hides them and they stand on the floor behind it (hidden_feet_on_floor). The
    photo's thigh drop (cues.thigh_image_drop) is not used: it measures MediaPipe's guessed knees (-0.05
    torso lengths, knees above the hips, for tests/data/camera.jpg's cameraman bent over a tripod, which
    it would seat)."""
    scores = np.zeros(len(vertices))
    seat_scores, found = seat_supports(vertices, parts, joints, up)
    height = vertices @ up
    if not any(f["name"] == "seat" for f in found):
        if float(height[parts == PART_ID["buttocks"]].min() - height.min()) < SUPPORT["floor_sitting_buttocks_m"]:
            return buttocks_on_floor(height, parts, up)
        if feet_in_frame:
            return hidden_feet_on_floor(height, parts, up, flat_feet)
        return Supports(scores, up, [{"name": "none", "why": "knees not seen and the pose seats no body: "
                                      "the support is not visible"}])
    on_floor = flat_foot_patch(height <= float(height.min()) + SUPPORT["band_m"], height, parts, flat_feet)
    floor = {"name": "floor", "height_m": 0.0, "vertices": 0, "score": SUPPORT["seated_hidden_foot_score"],
             "unseen_feet": [s for s in "LR" if not feet_seen[s]], "why": "knees not seen: only the seated "
             "body's levelled feet"}
    seated_hidden_feet(scores, on_floor, parts, {"L": False, "R": False}, flat_feet, floor)
    floor["vertices"] = int((scores > 0).sum())
    return Supports(np.maximum(scores, seat_scores), up, [floor, *found])


def hidden_feet_on_floor(height: np.ndarray, parts: np.ndarray, up: np.ndarray,
                         flat_feet: tuple[str, ...]) -> Supports:
    """The support of a body whose knees and feet are hidden by something inside the photo and whose pose
    seats no body: a person in view is carried by something, and a body that is not seated stands on its
    feet, so the floor under the fitted feet (the flat_foot_patch of the levelled ones, the floor's band
    of the others) is claimed at SUPPORT['hidden_feet_score'], uncertain: the legs are the fit's guess.
    height: (N,) the fitted vertices along `up`."""
    on_floor = flat_foot_patch(height <= float(height.min()) + SUPPORT["band_m"], height, parts, flat_feet)
    on_feet = on_floor & (foot_vertices(parts, "L") | foot_vertices(parts, "R"))
    scores = np.where(on_feet, SUPPORT["hidden_feet_score"], 0.0)
    return Supports(scores, up, [{"name": "floor", "height_m": 0.0, "vertices": int(on_feet.sum()),
                                  "score": SUPPORT["hidden_feet_score"], "unseen_feet": ["L", "R"], "uncertain": True,
                                  "why": "knees and feet hidden inside the photo, the pose seats no body: "
                                         "the most probable support, the floor under the feet"}])


def buttocks_on_floor(height: np.ndarray, parts: np.ndarray, up: np.ndarray) -> Supports:
    """The support of a body whose knees are hidden, whose pose seats no body and whose fitted buttocks are
    less than SUPPORT['floor_sitting_buttocks_m'] above its lowest point: no standing, kneeling or squatting
    body holds them that low, so it sits on the floor, and only that is sure (its hidden legs are the fit's
    guess, a foot claimed on the wrong side costs ~100 cm of geodesic error): the buttocks' patch within
    SUPPORT['seat_band_m'] of their lowest point, scored SUPPORT['hidden_feet_score'] (uncertain).
    height: (N,) the fitted vertices along `up`."""
    buttocks = parts == PART_ID["buttocks"]
    on = np.isin(parts, part_ids(("buttocks", "pelvis"))) & (height <= float(height[buttocks].min())
                                                              + SUPPORT["seat_band_m"])
    scores = np.where(on, SUPPORT["hidden_feet_score"], 0.0)
    return Supports(scores, up, [{"name": "floor", "height_m": 0.0, "vertices": int(on.sum()),
                                  "score": SUPPORT["hidden_feet_score"], "unseen_feet": ["L", "R"], "uncertain": True,
                                  "why": "knees hidden, the fitted buttocks near the floor: sitting on it"}])


def surest_hint_claimed(supports: Supports) -> Supports:
    """`supports` with its strongest hints (the vertices within SUPPORT['surest_hint_margin'] of the top score,
    when that is below the 0.5 claim) raised to SUPPORT['surest_hint_score']: for a body with no contact
    claimed at all. A person in view is carried by something, and an empty answer is the worst one (DECO's
    geodesic error counts every vertex as predicted: 30-70 cm); hands stay as their evidence says (holding is a
    choice, being carried is not). The found entry 'surest hint' says which score was raised."""
    top = float(supports.scores.max(initial=0.0))
    if top <= 0.0 or top >= 0.5:
        return supports
    raised = (supports.scores > 0.0) & (supports.scores >= top - SUPPORT["surest_hint_margin"])
    scores = np.where(raised, np.maximum(supports.scores, SUPPORT["surest_hint_score"]), supports.scores)
    entry = {"name": "surest hint", "vertices": int(raised.sum()), "score": SUPPORT["surest_hint_score"],
             "from_score": round(top, 3), "uncertain": True,
             "why": "nothing reached a claim: the strongest support hint is the most probable contact"}
    return Supports(scores, supports.up, [*supports.found, entry])
