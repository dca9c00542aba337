"""A seen shin that is short in the photo under a hanging thigh is folded back: the body kneels (issue 17).

MediaPipe's depth of a shin folded back behind a kneeling body (pointing away from the camera, or
towards it when seen from behind) is poor: dev seed 517 image 65 fits both legs straight (knees bent
9-10 deg, a standing body on its soles: 285 sole vertices claimed, the kneeling leg's shin missed,
geodesic error 125 cm). The photo itself says otherwise, without depth: a straight leg projects its
thigh and shin alike whatever the view, and a thigh that hangs down the photo (cues.thigh_image_drop
of a standing or kneeling body, 0.66-0.94 torso lengths on both seeds) over a shin only a fraction
as long means the shin points along the camera's depth. A knee only flexes backwards, so that shin
is folded back behind the thigh; fold_short_shins lays it level behind the knee, its foot along (the
top of the foot to the floor), and fit.rest_shins_on_floor / supports.kneeling_foot_patch take over.
Standing, carrying, leaning bodies on both seeds show their seen shins at >= 0.55 torso lengths.
"""
from __future__ import annotations

import numpy as np

from backend.localizers.default import detect as K
from backend.localizers.default.cues import image_torso
from backend.localizers.default.fit import (Fit, axis_rotation, foot_not_into_floor, knee_bend_deg, reposed,
                                           rest_directions, unit, world_rotations)
from backend.localizers.default.priors import DETECT, FIT
from backend.localizers.default.supports import lying_torso


_LEGS = {"L": (K.L_HIP, K.L_KNEE, K.L_ANKLE), "R": (K.R_HIP, K.R_KNEE, K.R_ANKLE)}


def short_shins_in_photo(image: np.ndarray, visibility: np.ndarray) -> tuple[str, ...]:
    """Sides ('L', 'R') whose hip, knee and ankle were seen, whose thigh hangs down the photo (hip -> knee along
    the shoulders -> hips axis at least FIT['hanging_thigh_drop'] torso lengths) and whose shin (knee -> ankle)
    is shorter in the photo than FIT['short_shin_image'] torso lengths. image: (33,>=2) pixel keypoints."""
    p = image[:, :2]
    hips, length = image_torso(p)
    if length < 1e-6:
        return ()
    axis = (hips - (p[K.L_SHOULDER] + p[K.R_SHOULDER]) / 2) / length
    out = []
    for side, (hip, knee, ankle) in _LEGS.items():
        if (visibility[[hip, knee, ankle]] < DETECT["visible"]).any():
            continue
        drop = float((p[knee] - p[hip]) @ axis) / length
        shin = float(np.linalg.norm(p[ankle] - p[knee])) / length
        if drop >= FIT["hanging_thigh_drop"] and shin < FIT["short_shin_image"]:
            out.append(side)
    return tuple(out)


def fold_short_shins(fit: Fit, image: np.ndarray, visibility: np.ndarray, up: np.ndarray) -> Fit:
    """The fit with each short-shinned side (short_shins_in_photo) whose fitted knee bends less than
    FIT['knee_folded_deg'] folded back about its knee hinge until the shin is level behind the thigh (the
    foot turned along), under an upright torso; `rested` names the folded sides. The same fit otherwise."""
    upright = not lying_torso(fit.joints, up)
    sides = [s for s in short_shins_in_photo(image, visibility) if knee_bend_deg(fit, s) < FIT["knee_folded_deg"]]
    if not upright or not sides:
        return fit
    rest = rest_directions()
    world = world_rotations(fit.deltas)
    angles = np.radians(np.arange(0.0, 180.5, 1.0))
    for side in sides:
        thigh, shin, foot = world[f"upperleg01.{side}"], f"lowerleg01.{side}", f"foot.{side}"
        hinge = unit(thigh[:, 0])  # the knee's hinge axis (fit._refine): flexion turns the shin about it
        direction = world[shin] @ rest[shin]
        turns = [axis_rotation(hinge, a) for a in angles]
        bend = [float(np.degrees(np.arccos(np.clip(unit(thigh @ rest[f"upperleg01.{side}"]) @ (t @ direction),
                                                   -1.0, 1.0)))) for t in turns]
        backwards = [float((thigh.T @ t @ world[shin])[2, 1]) >= 0.0 for t in turns]  # the knee's flexion side
        cost = [abs(float((t @ direction) @ up)) if back and b >= FIT["knee_folded_deg"] else np.inf
                for t, b, back in zip(turns, bend, backwards)]
        best = int(np.argmin(cost))
        if not np.isfinite(cost[best]):
            continue
        world[shin] = turns[best] @ world[shin]
        world[foot] = turns[best] @ world[foot]
        world[foot] = foot_not_into_floor(world, side, up)
    return reposed(fit, world, [f"{bone}.{side}" for side in sides for bone in ("lowerleg01", "foot")],
                   rested=sorted(set(fit.rested) | set(sides)))
