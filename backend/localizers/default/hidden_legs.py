"""A seated body's hidden shins hang from its knees onto the floor (issue 17: occluded legs follow
from the pose instead of being dropped).

When a crate, a table or the frame's edge hides a seated body's feet, MediaPipe's guess of the shins
and feet follows the seen body and is often wrong: a foot fitted on its toes (61-72 deg from level
on the tuning seed's 'occluded' images) or 15-23 cm above the floor. The seat carries the body, so
at rest the shins hang from the knees under gravity and the feet stand flat on the floor below them
(the common seated posture); hang_hidden_shins re-poses the hidden sides that way, and
fit.rest_feet_on_floor / supports.seated_hidden_feet then claim their soles. Seed 17 (bench/accuracy.py):
F1 0.592 -> 0.596, P 0.593 -> 0.594, geo 7.86 -> 7.82 cm; occluded 0.337 -> 0.394, the rest unchanged.
"""
from __future__ import annotations

import numpy as np

from backend.geometry import smallest_rotation, unit
from backend.localizers.default.fit import SOLE_NORMAL, Fit, world_rotations, rest_directions, reposed


def hang_hidden_shins(fit: Fit, up: np.ndarray, sides: tuple[str, ...]) -> Fit:
    """The fit with each side in `sides` (a hidden foot of a seated body; not a rested kneeling shin)
    re-posed: its shin turned about the knee to point straight down, its foot turned (heading kept) so
    the sole is level. The same fit when no side applies."""
    sides = tuple(s for s in sides if s not in fit.rested)
    if not sides:
        return fit
    rest = rest_directions()
    world = world_rotations(fit.deltas)
    for side in sides:
        shin, foot = f"lowerleg01.{side}", f"foot.{side}"
        turn = smallest_rotation(unit(world[shin] @ rest[shin]), -up)
        world[shin] = turn @ world[shin]
        world[foot] = turn @ world[foot]
        world[foot] = smallest_rotation(unit(world[foot] @ SOLE_NORMAL), -up) @ world[foot]
    return reposed(fit, world, [f"{bone}.{side}" for side in sides for bone in ("lowerleg01", "foot")])
