"""Which way the person faces, from the feet on the floor: a check on MediaPipe's left/right labels.

MediaPipe decides left from right (and so whether it sees the person's front or back) mostly from the
face. A face it cannot read (the synthetic body's featureless head; a face turned down, masked or in
shadow) can make it take a person facing the camera as seen from behind: every keypoint is where it
should be in the photo, but each left/right pair is swapped (and the torso turned around), so the fitted
body is the mirror image of the person and a hand's contact is painted on the other hand (the dev
seed's worst one-handed holds: 46, 59, 74, 57-76 cm of geodesic error each).

The feet tell the facing without the face: a camera that sees feet standing on a floor is above the
floor, so of a flat foot the end nearer the camera is lower in the photo. The toes of a person facing
the camera are nearer it than the heels, and lower in the photo; seen from behind they are higher.
So a standing body whose labels say "seen from behind" (its left shoulder and hip on the photo's
left) while both toes are lower in the photo than their heels is mirrored: swap the labels
(mirrored_by_feet, unmirrored).

Measured on the synthetic sets (true pose known; seeds 17 and 517, 150 images each): MediaPipe is
mirrored in 6 + 6 images, all of a person facing the camera; of the 22 + 19 whose labels say "from
behind", the standing ones with both feet seen are 8 mirrored (the smaller of the two toe drops
+0.011..+0.134 torso lengths) and 20 truly from behind (the smaller drop -0.047..-0.187: at least one
toe higher than its heel; the other foot's up to +0.040 in three). The other four
mirrored images (feet hidden, kneeling, lying) are left as MediaPipe read them: a kneeling foot stands
on its toes and a lying body's feet are not on the floor, so the feet say nothing of the facing there.

Effect (bench/accuracy.py, the rule fires on exactly the 8 mirrored standing images): dev seed 517 F1
0.5732 -> 0.5781, geo 7.86 -> 7.20 cm (holds 46/59/74: 57-76 cm -> 0.1-0.3 cm each; 16 loses its hand:
1.1 -> 85 cm, the raised hand with a small white cup shows less colour than the other); seed 17 F1
0.6262 -> 0.6253, geo 4.56 -> 4.56 (104 0.09 -> 0.39; 44 0.68 -> 0.49: its claim was on the wrong hand in
the photo and so, mirrored, on the right hand of the body; 123, a body leaning back into a wall, 0.62 ->
0.38: MediaPipe's depth reads the lean as seen from behind, so the corrected body leans forward and no
wall is found). The left/right swap alone, not the exact mirror (labels swapped and depth reversed):
that also turned the feet and the held-out arms the wrong way (seed 17 F1 0.6204, geo 5.05; 517 0.5762,
7.23).

MediaPipe may also mirror the upper body alone: shoulders and arms read as from behind, hips and legs as
facing the camera. Its own 3D torso then twists by more than 90 deg, which no spine does; with the feet
on the hips' side the upper body's labels are swapped back (upper_body_mirrored). Eight seeds: it fires
once (dev seed 2017 image 119, geo 63.0 -> 0.4 cm; that seed's mean 3.84 -> 3.42).

Not caught: MediaPipe sometimes mirrors the heel and toe keypoints with the rest, and then the feet agree
with the wrong labels (dev seeds: 5017 image 4, a bag carried in the right hand, toe drops -0.23 / -0.18,
the load claimed on the left hand, 121 cm of geodesic error; 9017 image 76, -0.02 / -0.02, 50 cm). The person mask
below the ankles does not settle it either. Over the standing images of seeds 17, 2017, 5017 and 9017 its
lowest row within 0.12 torso lengths of each ankle reads 0.09-0.43 torso lengths below it when the body faces
the camera (median 0.30) and 0.13-0.25 from behind (median 0.21). A bar at 0.26 would catch 9017 #76 only,
and it would sit 0.01 above the highest back view of 39.

Not used: MediaPipe Hands' own handedness. On seeds 17 and 5017 it names the true hand for 86 of 115 and 82
of 102 detected hands, and its wrong answers score 0.50-0.99, as high as its right ones; the pose's labels
are right for 114 and 100 of them. Only 3 of those hands sat in a mirrored reading, and there the handedness
was right once: it cannot overrule the pose.
"""
from __future__ import annotations

from dataclasses import replace

import numpy as np

from backend.geometry import unit
from backend.localizers.default import detect as K
from backend.localizers.default.cues import image_torso
from backend.localizers.default.priors import DETECT

# BlazePose's 33 landmarks with each left/right pair swapped (eyes 1-3 / 4-6, ears, mouth corners,
# shoulders ... toes); the nose (0) stays.
_SWAP = np.array([0, 4, 5, 6, 1, 2, 3, 8, 7, 10, 9] + [i + 1 if i % 2 else i - 1 for i in range(11, 33)])
# The same with only the upper body's pairs swapped (face, shoulders, arms, hands: 0-22), the hips and legs kept.
_SWAP_UPPER = np.concatenate([_SWAP[:K.L_HIP], np.arange(K.L_HIP, 33)])


def pair_spreads(obs: K.Observation) -> tuple[float, float]:
    """(shoulders, hips): how far the labelled left one lies to the photo's right of the right one, in
    torso lengths: positive where the labels say the body faces the camera, negative seen from behind."""
    p = obs.image[:, :2]
    torso = max(image_torso(p)[1], 1e-6)
    return tuple(float(p[left, 0] - p[right, 0]) / torso for left, right in ((K.L_SHOULDER, K.R_SHOULDER),
                                                                            (K.L_HIP, K.R_HIP)))


def labels_side_spread(obs: K.Observation) -> float:
    """The mean of the shoulders' and the hips' pair_spreads: positive for a body the labels say faces the
    camera, negative for one they say is seen from behind, near 0 seen from the side."""
    return float(np.mean(pair_spreads(obs)))


def toe_drops(obs: K.Observation) -> tuple[float, float]:
    """(left, right): how much lower in the photo each toe is than its heel, in torso lengths."""
    p = obs.image[:, :2]
    torso = max(image_torso(p)[1], 1e-6)
    return tuple(float((p[toe, 1] - p[heel, 1]) / torso)
                 for heel, toe in ((K.L_HEEL, K.L_TOE), (K.R_HEEL, K.R_TOE)))


def _feet_face_the_camera(obs: K.Observation, pose_class: str) -> bool:
    """Both seen feet of a standing body point towards the camera: each toe lower in the photo than its
    heel by more than DETECT['facing_toe_drop_min']."""
    feet = [K.L_HEEL, K.R_HEEL, K.L_TOE, K.R_TOE]
    if pose_class != "standing" or (obs.visibility[feet] < DETECT["visible"]).any():
        return False
    return min(toe_drops(obs)) > DETECT["facing_toe_drop_min"]


def mirrored_by_feet(obs: K.Observation, pose_class: str) -> bool:
    """The labels say the body is seen from behind (labels_side_spread <= -DETECT['facing_spread_min'])
    while both seen feet of a standing body point towards the camera (_feet_face_the_camera): MediaPipe
    mirrored the person."""
    return labels_side_spread(obs) <= -DETECT["facing_spread_min"] and _feet_face_the_camera(obs, pose_class)


def torso_twist_cos(obs: K.Observation) -> float:
    """The cosine between MediaPipe's 3D shoulder line and hip line (left minus right), both taken across
    the torso's axis: 1 for an untwisted torso; below 0 the shoulders face the other way from the hips,
    a turn of more than 90 deg about the spine, which no spine makes (about 45-60 deg at most)."""
    w = obs.world
    axis = w[K.L_SHOULDER] + w[K.R_SHOULDER] - w[K.L_HIP] - w[K.R_HIP]
    axis = unit(axis)
    lines = [w[left] - w[right] for left, right in ((K.L_SHOULDER, K.R_SHOULDER), (K.L_HIP, K.R_HIP))]
    shoulders, hips = (line - (line @ axis) * axis for line in lines)
    return float(shoulders @ hips / max(float(np.linalg.norm(shoulders) * np.linalg.norm(hips)), 1e-9))


def upper_body_mirrored(obs: K.Observation, pose_class: str) -> bool:
    """MediaPipe read the upper body as seen from behind and the legs as facing the camera: its torso
    twists impossibly (torso_twist_cos below DETECT['twist_cos_max']), the labelled left shoulder lies at
    least DETECT['facing_spread_min'] torso lengths left of the right one in the photo while the hips'
    labels say "facing the camera", and the feet agree with the hips (_feet_face_the_camera). Then the
    upper body's labels are the mirrored ones (dev seed 2017 image 119: shoulders -0.40, hips +0.19,
    twist cosine -0.73: the raised hand holding a cup was taken for the other one, 63 cm of geodesic
    error). A whole mirrored reading (mirrored_by_feet) is turned back whole."""
    shoulders, hips = pair_spreads(obs)
    return (shoulders <= -DETECT["facing_spread_min"] and hips > 0.0
            and torso_twist_cos(obs) < DETECT["twist_cos_max"] and _feet_face_the_camera(obs, pose_class))


def mirrored_reading(obs: K.Observation, pose_class: str) -> str | None:
    """Which of MediaPipe's labels the feet say are mirrored: "upper body" (upper_body_mirrored, the more
    specific reading: its shoulders alone may pull the labels' mean spread below the whole mirror's bar),
    "all" (mirrored_by_feet), or None."""
    if upper_body_mirrored(obs, pose_class):
        return "upper body"
    return "all" if mirrored_by_feet(obs, pose_class) else None


def unmirrored(obs: K.Observation, upper_only: bool = False) -> K.Observation:
    """The observation of the person MediaPipe mirrored: each left/right keypoint pair swapped. The
    photo positions stay (they are right, only their labels are not) and so does the depth of each
    keypoint: MediaPipe reads depth from the photo (a body leaning back into a wall, an arm held towards
    the camera), and the fit turns the torso to face where the swapped left/right pairs say. Reversing
    the depth as well (the exact mirror of its reading) turned those the wrong way: on the 8 mirrored
    images of seeds 17/517 it lost a leaning body's wall (F1 0.62 -> 0.16). Hands and the mask are
    unchanged (the hand cues match hands to the pose wrists by position). upper_only: swap only the
    upper body's pairs (upper_body_mirrored)."""
    swap = _SWAP_UPPER if upper_only else _SWAP
    return replace(obs, image=obs.image[swap].copy(), world=obs.world[swap].copy(),
                   visibility=obs.visibility[swap].copy())
