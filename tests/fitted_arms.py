"""A stand-in fitted body for hand-claim tests: Anny's rest vertices with hips, shoulders, elbows and
wrists placed by hand (the claims read those joints only)."""
from __future__ import annotations

import numpy as np

UP = np.array([0.0, 0.0, 1.0])


def arms_fit(anny_body, right_forearm: np.ndarray, left_forearm: np.ndarray, torso: np.ndarray = UP):
    """A Fit whose forearms run from elbows at 1.2 m along the given vectors, its torso along `torso`."""
    from backend.localizers.default.fit import Fit

    joints = {"hip.L": np.array([0.1, 0.0, 1.0]), "hip.R": np.array([-0.1, 0.0, 1.0])}
    joints["shoulder.L"], joints["shoulder.R"] = joints["hip.L"] + 0.5 * torso, joints["hip.R"] + 0.5 * torso
    for key, forearm in (("R", right_forearm), ("L", left_forearm)):
        joints[f"elbow.{key}"] = np.array([0.0, 0.0, 1.2])
        joints[f"wrist.{key}"] = joints[f"elbow.{key}"] + forearm
    return Fit(vertices=anny_body.canonical_vertices.astype(np.float64), deltas={}, seen={}, residual_deg=0.0,
               joints=joints)
