"""Knees fitted on the floor under thighs that do not hang in the photo: the body sits, it does not kneel (issue 17).

When a crate, a table or the body itself hides the shins and feet, MediaPipe's guess folds the shins
back and the fit kneels on them: fit.rest_shins_on_floor lays them down and the floor under the knees
is claimed (tuning seed 'occluded' image 133 and 'sit_ground' 67, dev seed 517 'occluded' 58: shins
claimed, truly the buttocks and the feet; F1 0). A kneeling body's thighs hang from its hips to its
knees on the floor, and in the photo they reach 0.74-0.94 torso lengths down it (both seeds'
kneels); those three reach 0.58-0.63 (cues.thigh_image_drop), so the hips are not a thigh above the
knees: something carries them. seat_folded_kneel re-poses such a body as seated, the common posture
that hidden_legs.py also assumes: the thighs turned level ahead, the hidden shins
hanging from the knees onto the floor (hidden_legs.hang_hidden_shins); the supports of the settled
body (a seat under the buttocks, the levelled hidden feet on the floor) follow.
"""
from __future__ import annotations

import numpy as np

from backend.geometry import smallest_rotation, unit
from backend.localizers.default.fit import Fit, kneeling_sides, reposed, rest_directions, world_rotations
from backend.localizers.default.hidden_legs import hang_hidden_shins
from backend.localizers.default.priors import FIT
from backend.localizers.default.supports import lying_torso


def seat_folded_kneel(fit: Fit, up: np.ndarray, thigh_drop: float, feet_seen: dict[str, bool]) -> Fit:
    """The fit re-posed seated when it kneels (kneeling_sides: both legs) on shins whose feet were not seen
    (feet_seen: per side, the ankle was seen) under an upright torso whose thighs reach less than
    FIT['hanging_thigh_drop'] torso lengths down the photo (thigh_drop: cues.thigh_image_drop, NaN unknown):
    each thigh turned level ahead (its spread to the side kept), each shin hanging from its knee
    (hidden_legs.hang_hidden_shins). The same fit otherwise."""
    upright = not lying_torso(fit.joints, up)
    if not (upright and thigh_drop < FIT["hanging_thigh_drop"]) or kneeling_sides(fit, up) != ("L", "R") \
            or any(feet_seen.values()):
        return fit
    rest = rest_directions()
    world = world_rotations(fit.deltas)
    lateral = unit(fit.joints["hip.L"] - fit.joints["hip.R"])
    facing = unit(np.cross(lateral, up))  # Anny faces -Y in its rest: up x left points ahead (seats._tables)
    for side in "LR":  # level ahead, keeping the thigh's spread to the side (a kneel's thigh may hang behind)
        bone = f"upperleg01.{side}"
        thigh = world[bone] @ rest[bone]
        world[bone] = smallest_rotation(thigh, unit(facing + float(thigh @ lateral) * lateral)) @ world[bone]
    seated = reposed(fit, world, ["upperleg01.L", "upperleg01.R"])  # the shins and feet follow their thighs
    return hang_hidden_shins(seated, up, ("L", "R"))
