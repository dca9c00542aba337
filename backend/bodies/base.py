"""What every body source produces."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Body:
    """A body surface ready for Render-Localize-Lift.

    vertices: (N,3) float32, the mesh as given/posed, in its own vertex order.
    faces: (F,3) int32 triangles.
    canonical_vertices: (N,3) float32, the same vertices in the canonical pose and frame the
        views are rendered in (Z up, metres, facing -Y); same order as `vertices`.
    parts: (N,) int16 ids into backend.bodies.parts.PARTS; every vertex is labelled.
    name: the source ("anny", "smplx", "mesh").
    """

    name: str
    vertices: np.ndarray
    faces: np.ndarray
    canonical_vertices: np.ndarray
    parts: np.ndarray

    @property
    def n_vertices(self) -> int:
        return int(self.vertices.shape[0])
