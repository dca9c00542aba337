"""The plane a body (or a part of it) rests on: among candidate up directions, the one whose lowest band
holds the most surface, less a price per degree of tilt. One search for gravity over the whole body
(supports.estimate_up) and for the plane a lying torso or a leaning back rests on (lying.resting_normal).
"""
from __future__ import annotations

import numpy as np


def resting_direction(points: np.ndarray, weight: np.ndarray, dirs: np.ndarray, tilt: np.ndarray,
                      band: float, tilt_penalty: float) -> np.ndarray:
    """(3,) the row of dirs (K,3, unit) maximising the weight share of points (R,3; weight (R,), summing
    to 1) within `band` of their lowest height along it, minus tilt_penalty * tilt (K,) in degrees; the
    first such row on a tie."""
    height = points @ dirs.T  # (R, K)
    share = weight @ (height <= height.min(axis=0) + band)
    return dirs[int(np.argmax(share - tilt_penalty * tilt))]
