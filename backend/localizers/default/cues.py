"""From MediaPipe keypoints to per-part contact scores: pose class, support, hands.

All geometry uses MediaPipe's metric world keypoints (hip-centred, y down); the object-at-hand cue
uses the person mask and colours of the photo around each hand.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from backend.bodies.parts import PART_ID, PARTS
from backend.geometry import unit
from backend.localizers.default import detect as K
from backend.localizers.default.hand_object import POSE_HAND, object_near_hand, rare_colours
from backend.localizers.default.priors import DETECT, HANDS, POSE, POSE_PARTS, SUPPORT

_DOWN = np.array([0.0, 1.0, 0.0])
_SHOULDER = {"left": K.L_SHOULDER, "right": K.R_SHOULDER}
_HIP = {"left": K.L_HIP, "right": K.R_HIP}


@dataclass
class Cues:
    scores: np.ndarray  # (len(PARTS),) float in [0,1]
    pose_class: str
    angles: dict[str, float] = field(default_factory=dict)
    hands: dict[str, dict[str, float]] = field(default_factory=dict)


def _angle(v: np.ndarray, ref: np.ndarray) -> float:
    n = np.linalg.norm(v)
    return 0.0 if n < 1e-9 else float(np.degrees(np.arccos(np.clip(v @ ref / n, -1.0, 1.0))))


def classify_pose(obs: K.Observation) -> tuple[str, dict[str, float]]:
    """One of POSE_PARTS' classes, and the angles it was decided from."""
    w, seen = obs.world, obs.visibility >= DETECT["visible"]
    hips, shoulders = (w[K.L_HIP] + w[K.R_HIP]) / 2, (w[K.L_SHOULDER] + w[K.R_SHOULDER]) / 2
    torso = _angle(shoulders - hips, -_DOWN)
    thighs = [_angle(w[k] - w[h], _DOWN) for h, k in ((K.L_HIP, K.L_KNEE), (K.R_HIP, K.R_KNEE))]
    shins = [_angle(w[a] - w[k], _DOWN) for k, a in ((K.L_KNEE, K.L_ANKLE), (K.R_KNEE, K.R_ANKLE))]
    angles = {"torso_tilt_deg": round(torso, 1), "thigh_deg": round(float(np.mean(thighs)), 1),
              "shin_deg": round(float(np.mean(shins)), 1)}
    if torso >= POSE["torso_lying_min"] and seen[[K.L_HIP, K.R_HIP]].any():
        return "lying", angles
    legs = float(obs.visibility[[K.L_KNEE, K.R_KNEE, K.L_ANKLE, K.R_ANKLE]].mean())
    angles["leg_visibility"] = round(legs, 2)
    if legs < DETECT["visible"]:  # knee/ankle positions are guesses: do not decide the support from them
        return "upper_body", angles
    thigh, shin = float(np.mean(thighs)), float(np.mean(shins))
    feet = w[[K.L_HEEL, K.R_HEEL, K.L_TOE, K.R_TOE, K.L_ANKLE, K.R_ANKLE], 1].max()
    leg = np.linalg.norm(w[K.L_HIP] - w[K.L_KNEE]) + np.linalg.norm(w[K.L_KNEE] - w[K.L_ANKLE])
    hip_height = (feet - hips[1]) / max(leg, 1e-6)
    angles["hip_height_legs"] = round(float(hip_height), 2)
    if thigh >= POSE["thigh_sitting_min"]:
        return ("sitting_on_ground" if hip_height <= POSE["hips_on_ground"] else "sitting"), angles
    if thigh <= POSE["thigh_standing_max"] and shin >= POSE["shin_kneeling_min"]:
        return "kneeling", angles
    return "standing", angles


def finger_curl(hand_world: np.ndarray) -> float:
    """Mean bend of the index..pinky fingers in [0,1] (0 straight, 1 folded back on the palm)."""
    bends = []
    for base in (5, 9, 13, 17):  # MCP joints; PIP, DIP, TIP follow
        joints = hand_world[[0, base, base + 1, base + 2, base + 3]]
        directions = unit(np.diff(joints, axis=0))
        turn = np.degrees(np.arccos(np.clip((directions[:-1] * directions[1:]).sum(1), -1, 1))).sum()
        bends.append(turn / 270.0)  # three joints folded 90 deg each = a fist
    return float(np.clip(np.mean(bends), 0.0, 1.0))


def _reach(obs: K.Observation, side: str) -> float:
    """0 with the wrist hanging at hip height, 1 at shoulder height or a forearm in front."""
    w = obs.world
    wrist, shoulder, hip = w[POSE_HAND[side][0]], w[_SHOULDER[side]], w[_HIP[side]]
    span = max(hip[1] - shoulder[1], 1e-3)
    up = np.clip((hip[1] - wrist[1]) / span, 0.0, 1.0)
    # MediaPipe's z grows away from the camera: a wrist nearer the camera than its shoulder reaches forward.
    forward = np.clip((shoulder[2] - wrist[2]) / HANDS["reach_forward_m"], 0.0, 1.0)
    return float(max(up, forward))


def hand_cues(obs: K.Observation, hanging: dict[str, bool] | None = None,
              rare: np.ndarray | None = None) -> dict[str, dict[str, float]]:
    """Per side: reach, object evidence, finger curl (when the hand model found that hand), score.

    `hanging` (the default localizer's, from the fitted forearms): the object cue of a hanging
    forearm looks beyond the hand, where its load hangs (hand_object.py); None (the template
    localizer) looks at every hand. `rare`: rare_colours(obs) when the caller has it already."""
    out: dict[str, dict[str, float]] = {}
    rare = rare_colours(obs) if rare is None else rare
    for side in ("left", "right"):
        seen = float(obs.visibility[POSE_HAND[side][0]])
        curl = _matched_curl(obs, side)
        reach = _reach(obs, side)
        near = object_near_hand(obs, side, rare, hanging=bool(hanging and hanging.get(side)))
        grasp = HANDS["grasp_weight"] if curl >= HANDS["curl_grasp"] else 0.0
        score = max(near / (2.0 * HANDS["object_min"]), HANDS["reach_weight"] * reach, grasp)
        score *= min(1.0, 0.5 + seen)  # an occluded wrist (visibility < 0.5) halves the claim at most
        out[side] = {"visibility": round(seen, 3), "reach": round(reach, 3), "object_near": round(near, 3),
                     "finger_curl": round(curl, 3), "score": round(float(np.clip(score, 0, 1)), 3)}
        if hanging is not None:  # the report says where the object was looked for
            out[side]["object_looked"] = "beyond the hand (hanging forearm)" if hanging.get(side) else "at the hand"
    return out


def _matched_curl(obs: K.Observation, side: str) -> float:
    """Finger curl of the detected hand closest to this side's pose wrist, -1 when none is close."""
    wrist = obs.image[POSE_HAND[side][0], :2]
    best, curl = np.inf, -1.0
    for hand in obs.hands:
        d = float(np.linalg.norm(hand.image[0, :2] - wrist))
        if d < best:
            best, curl = d, finger_curl(hand.world)
    torso = np.linalg.norm(obs.image[K.L_SHOULDER, :2] - obs.image[K.L_HIP, :2])
    return curl if best <= 0.3 * max(torso, 1.0) else -1.0


def read_cues(obs: K.Observation) -> Cues:
    """Per-part contact scores from the photo alone (the human_contact answer)."""
    pose_class, angles = classify_pose(obs)
    scores = np.zeros(len(PARTS), dtype=np.float64)
    for name, value in POSE_PARTS[pose_class].items():
        scores[PART_ID[name]] = value
    hands = hand_cues(obs)
    for side, cue in hands.items():
        for part, weight in (("palm", HANDS["palm"]), ("fingers", HANDS["fingers"]), ("hand", HANDS["back_of_hand"])):
            i = PART_ID[f"{side}_{part}"]
            scores[i] = max(scores[i], weight * cue["score"])
    return Cues(scores=scores.clip(0, 1), pose_class=pose_class, angles=angles, hands=hands)


def image_torso(p: np.ndarray) -> tuple[np.ndarray, float]:
    """The hips' midpoint and the torso's length (shoulders' midpoint -> hips' midpoint) in the photo,
    from (33,2) pixel keypoints: the unit of the depth-free photo cues."""
    hips = (p[K.L_HIP] + p[K.R_HIP]) / 2
    return hips, float(np.linalg.norm(hips - (p[K.L_SHOULDER] + p[K.R_SHOULDER]) / 2))


def thigh_image_drop(obs: K.Observation) -> float:
    """How far the thighs reach down the photo along the torso, in torso lengths (hip->knee in the image,
    projected on the shoulders->hips axis, mean of both sides). Measured in the photo, not in MediaPipe's
    depth guess: a hanging (standing) thigh reaches ~0.7-0.9 torso lengths down it whatever the view, a
    seated thigh points forward (foreshortened from the front, level from the side) and reaches much less."""
    p = obs.image[:, :2]
    hips, length = image_torso(p)
    if length < 1e-6:
        return float("nan")
    axis = (hips - (p[K.L_SHOULDER] + p[K.R_SHOULDER]) / 2) / length
    return float(np.mean([(p[k] - p[h]) @ axis for h, k in ((K.L_HIP, K.L_KNEE), (K.R_HIP, K.R_KNEE))]) / length)


def feet_in_frame(obs: K.Observation) -> bool:
    """Every foot keypoint (ankles, heels, toes) lies inside the photo, seen or not: feet hidden behind
    something in the picture (a crate, a table) are there, feet cut off by the frame's edge may stand
    on anything (a step, a stool's footrest)."""
    p = obs.image[:, :2]
    height, width = obs.size
    feet = [K.L_ANKLE, K.R_ANKLE, K.L_HEEL, K.R_HEEL, K.L_TOE, K.R_TOE]
    return bool(((p[feet] >= 0.0) & (p[feet] <= [width - 1, height - 1])).all())


def heel_image_distance(obs: K.Observation) -> float:
    """How far the heels lie from the hips in the photo, in torso lengths (shoulders -> hips; from the
    hips' midpoint to the heels'), or NaN when a heel is not seen or a foot keypoint (ankle, heel, toe)
    lies outside the photo (feet cut off by the frame are MediaPipe's guesses). No depth involved: a
    seated body's heels are a shin below and a thigh ahead of its hips (seen from the front the drop
    shows, from the side both), a squatting body's hips come down to just above and behind its heels
    (see SUPPORT['squat_heel_distance_max'])."""
    p = obs.image[:, :2]
    if not feet_in_frame(obs) or (obs.visibility[[K.L_HEEL, K.R_HEEL]] < DETECT["visible"]).any():
        return float("nan")
    hips, length = image_torso(p)
    if length < 1e-6:
        return float("nan")
    return float(np.linalg.norm((p[K.L_HEEL] + p[K.R_HEEL]) / 2 - hips) / length)


def lap_image_cover(obs: K.Observation) -> float:
    """How much of the thighs the person mask covers in the photo: at 9 points along the middle of both
    hip -> knee segments (0.2-0.8 of the way), the mask's largest value within SUPPORT["table_lap_disc"]
    torso lengths of the point, averaged; NaN without a mask or with a thigh outside the photo.
    A seated body's thighs are in the mask unless something stands between them and the camera (a
    table top seen from above it). The disc, not the point: in a small photo MediaPipe's hip and knee
    landmarks can run along the gap between two slim standing legs, off both (dev seed 517: a standing
    hold and a backpack read 0.33 and 0.14 on the segments and put their hands on a table); a table top
    hides the whole width of the lap. A table top hides a thigh from the hip end onwards (its edge lies
    above the lap), so a thigh whose hip-end half is seen (mean cover >= 0.5 over its first 4 points)
    counts as fully covered: only its knee end is missing from the mask, as when the mask loses trousers
    against a floor of their colour (dev seed 2017 image 92: a standing body read 0.74, both hands were put
    on a table, 127 cm geodesic error; the table images' hidden thighs read 0.00-0.40 at the hip end)."""
    if obs.mask is None:
        return float("nan")
    height, width = obs.mask.shape
    p = obs.image[:, :2]
    t = np.linspace(0.2, 0.8, 9)[:, None]
    points = np.concatenate([p[h] + t * (p[k] - p[h]) for h, k in ((K.L_HIP, K.L_KNEE), (K.R_HIP, K.R_KNEE))])
    if ((points < 0) | (points > [width - 1, height - 1])).any():
        return float("nan")
    radius = SUPPORT["table_lap_disc"] * image_torso(p)[1]
    r = int(np.ceil(radius))
    dy, dx = np.mgrid[-r:r + 1, -r:r + 1]
    disc = dx ** 2 + dy ** 2 <= radius ** 2
    padded = np.pad(obs.mask, r)  # zeros outside the photo
    rows, cols = np.round(points[:, 1]).astype(int) + r, np.round(points[:, 0]).astype(int) + r
    windows = np.stack([padded[y - r:y + r + 1, x - r:x + r + 1] for y, x in zip(rows, cols)])  # (18, 2r+1, 2r+1)
    cover = np.where(disc, windows, 0.0).max(axis=(1, 2)).reshape(2, len(t))  # (thigh, hip -> knee)
    hip_end_seen = cover[:, :4].mean(axis=1) >= 0.5
    return float(np.where(hip_end_seen, 1.0, cover.mean(axis=1)).mean())
