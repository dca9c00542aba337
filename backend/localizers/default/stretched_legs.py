"""A body held up on straight legs sits on the floor with its legs stretched out ahead (issue 17).

MediaPipe's depth of legs pointing at the camera is poor: a body sitting on the floor with its legs
stretched towards the camera fits with the legs hanging 40-70 deg from down, the hips 0.5-0.8 m above
the lowest point, and the photo's short thighs (cues.thigh_image_drop) seat it on a chair that is not
there: soles flat on the floor claimed, the heels' and buttocks' patches missed (tuning seed image 82,
dev seed 97 and 112: geodesic error 18-75 cm). A seat at a chair's height puts the feet on the floor
with the knees bent (the fitted seen knees of seated bodies on both seeds bend at least 38 deg); a
seen leg whose knee is straight (bent less than FIT['stretched_knee_deg']) under hips the fit holds up
on folded thighs is a leg stretched out ahead along the camera's depth. stretch_legs_on_floor turns
both legs together about the hips (the depth error tilts them alike) until that leg is level, then each
leg about its hip until its foot's lowest point is level with the buttocks (a bent leg's knee rises:
one leg stretched, one knee up); the supports of the re-posed body (the floor under its buttocks and
heels, seats.floor_under without the hanging arms) follow, on the gravity found before the re-pose.
A body sitting on the floor gets no wall from its fitted lean (backing.backing), and it rests on its
buttocks (on_buttocks): MediaPipe's depth may lean the fitted torso far forward (dev seed 517 image 112:
60 deg, the front of the pelvis lowest and claimed, the buttocks not), but sitting, the pelvis carries the
body on its sitting bones, under the buttocks.
"""
from __future__ import annotations

import numpy as np

from backend.bodies.parts import PART_ID, part_ids
from backend.geometry import smallest_rotation, unit
from backend.localizers.default import detect as K
from backend.localizers.default.fit import Fit, axis_rotation, knee_bend_deg, reposed, world_rotations
from backend.localizers.default.priors import DETECT, FIT, SUPPORT

_LANDMARKS = {"L": (K.L_KNEE, K.L_ANKLE), "R": (K.R_KNEE, K.R_ANKLE)}
_LEG = ("upperleg01", "lowerleg01", "foot")


def straight_seen_legs(fit: Fit, visibility: np.ndarray) -> tuple[str, ...]:
    """Sides whose knee and ankle were seen and whose fitted knee bends less than FIT['stretched_knee_deg']."""
    return tuple(side for side, marks in _LANDMARKS.items()
                 if (visibility[list(marks)] >= DETECT["visible"]).all()
                 and knee_bend_deg(fit, side) < FIT["stretched_knee_deg"])


def stretch_legs_on_floor(fit: Fit, up: np.ndarray, found: list[dict], visibility: np.ndarray,
                          parts: np.ndarray) -> Fit:
    """The fit with both legs turned about the hips so its straight seen legs (straight_seen_legs) lie on
    the floor ahead, when the supports `found` (supports.find_supports' entries) hold the hips up on folded
    thighs (a seat, or a squat: 'none under the hips'); `stretched` names the straight sides. The legs turn
    level (hip -> ankle), then each down (or up) until its foot's lowest point is as low as the buttocks and
    pelvis (both rest on the floor; FIT['stretched_passes'] passes). The same fit otherwise.
    parts: (N,) Anny part ids of the vertices."""
    held_up = any(f["name"] in ("seat", "none under the hips") for f in found)
    straight = straight_seen_legs(fit, visibility) if held_up else ()
    if not straight:
        return fit
    leg = unit(sum(unit(fit.joints[f"ankle.{s}"] - fit.joints[f"hip.{s}"]) for s in straight))
    ahead = leg - (leg @ up) * up
    if np.linalg.norm(ahead) < 1e-3:
        return fit
    ahead = unit(ahead)
    axis = unit(np.cross(ahead, up))  # turning `ahead` about it by a negative angle lowers it
    turns = {side: smallest_rotation(leg, ahead) for side in "LR"}
    out = _legs_turned(fit, turns, straight)
    for _ in range(FIT["stretched_passes"]):  # each leg down, or up (a bent leg's knee rises), until its foot's
        # lowest point (the heel of a straight leg, the sole of a bent one) is level with the buttocks
        height = out.vertices @ up
        seat = float(height[np.isin(parts, part_ids(("buttocks", "pelvis")))].min())  # what the body sits on
        for side, name in (("L", "left"), ("R", "right")):
            foot = np.isin(parts, part_ids((f"{name}_foot", f"{name}_sole")))
            heel = int(np.argmin(np.where(foot, height, np.inf)))
            reach = max(float(np.linalg.norm(out.vertices[heel] - out.joints[f"hip.{side}"])), 0.1)
            down = -float(np.arcsin(np.clip((height[heel] - seat) / reach, -1.0, 1.0)))
            turns[side] = axis_rotation(axis, down) @ turns[side]
        out = _legs_turned(fit, turns, straight)
    return out


def _legs_turned(fit: Fit, turns: dict[str, np.ndarray], straight: tuple[str, ...]) -> Fit:
    """The fit with each side's leg (thigh, shin, foot) turned by the world rotation turns[side] about its hip."""
    world = world_rotations(fit.deltas)
    bones = [f"{bone}.{side}" for side in "LR" for bone in _LEG]
    for side in "LR":
        for bone in _LEG:
            world[f"{bone}.{side}"] = turns[side] @ world[f"{bone}.{side}"]
    return reposed(fit, world, bones, stretched=list(straight))


def on_buttocks(scores: np.ndarray, vertices: np.ndarray, parts: np.ndarray, up: np.ndarray) -> np.ndarray:
    """(N,) scores of a body sitting on the floor with its legs stretched out (stretch_legs_on_floor): the front
    of its pelvis does not touch the floor, its buttocks do, within SUPPORT['seat_band_m'] (soft, as on a seat)
    of their lowest point, at SUPPORT['floor_score']."""
    height = vertices @ up
    buttocks = parts == PART_ID["buttocks"]
    out = np.where(parts == PART_ID["pelvis"], 0.0, scores)
    on = buttocks & (height <= float(height[buttocks].min()) + SUPPORT["seat_band_m"])
    out[on] = np.maximum(out[on], SUPPORT["floor_score"])
    return out
