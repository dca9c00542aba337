"""The heat-map colours of contact scores (no bpy): blue (0) through cyan, green, yellow to red (1)."""
from __future__ import annotations

import numpy as np

HEAT_STOPS = np.array([0.0, 0.25, 0.5, 0.75, 1.0])  # score -> linear RGB below
HEAT_RGB = np.array([[0.0, 0.0, 1.0], [0.0, 1.0, 1.0], [0.0, 1.0, 0.0], [1.0, 1.0, 0.0], [1.0, 0.0, 0.0]])


def heat_colors(scores: np.ndarray) -> np.ndarray:
    """(N,) scores in [0,1] -> (N,4) float32 RGBA heat map (piecewise linear through HEAT_STOPS)."""
    s = np.clip(np.asarray(scores, dtype=np.float64), 0.0, 1.0)
    rgb = np.stack([np.interp(s, HEAT_STOPS, HEAT_RGB[:, c]) for c in range(3)], axis=1)
    return np.concatenate([rgb, np.ones((len(s), 1))], axis=1).astype(np.float32)
