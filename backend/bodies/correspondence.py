"""Per-vertex scores from one body surface onto another: the one home of body-to-body transfer.

Used wherever contact is computed on a canonical surface that is not the user's mesh: the official
InteractVLM maps (SMPL-H), a localizer that reasons on a fitted Anny, a rig with its own topology.
Results always land in the target's own vertex order.

Rules, in order:
1. Same surface (same name and vertex count): by index.
2. An explicit index map (`matrix`, (N_target, N_source) dense or scipy sparse, e.g. the official
   SMPL-H -> SMPL-X matrix): scores = matrix @ scores.
3. Otherwise part-consistent nearest points: each target vertex takes the inverse-distance-weighted
   score of its nearest source vertices of the same body part (backend.bodies.parts), after each part
   of both surfaces is normalised to its own bounding box, so different proportions and small pose
   differences between the two bodies do not move contact onto a neighbouring part.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from backend.bodies.base import Body

NEIGHBOURS = 4  # source vertices blended per target vertex (smooths a coarse source onto a dense target)


@dataclass(frozen=True)
class Surface:
    """A body surface scores live on.

    name: "smplh" (6,890 vertices), "smplx" (10,475), "anny", or "mesh" for any other body.
    vertices: (N,3) float32 in the canonical frame (Z up, metres, facing -Y).
    faces: (F,3) int32.
    parts: (N,) int16 ids into backend.bodies.parts.PARTS.
    """

    name: str
    vertices: np.ndarray
    faces: np.ndarray
    parts: np.ndarray

    @property
    def n_vertices(self) -> int:
        return int(self.vertices.shape[0])


def surface_of(body: Body) -> Surface:
    """The canonical surface of a loaded body (its canonical vertices and part labels)."""
    return Surface(name=body.name, vertices=body.canonical_vertices, faces=body.faces, parts=body.parts)


def _part_normalised(vertices: np.ndarray, parts: np.ndarray) -> np.ndarray:
    """(N,3) float64: each part's vertices mapped into the unit cube of that part's bounding box."""
    out = np.zeros(vertices.shape, dtype=np.float64)
    for part in np.unique(parts):
        rows = parts == part
        block = vertices[rows].astype(np.float64)
        low, high = block.min(0), block.max(0)
        out[rows] = (block - low) / np.maximum(high - low, 1e-6)
    return out


def transfer_rule(source: Surface, target: Surface, matrix: Any = None) -> str:
    """Which rule `transfer_scores` applies to this pair (reported in the result summary)."""
    if matrix is not None:
        return f"{source.name} -> {target.name} by matrix"
    if source.name == target.name and source.n_vertices == target.n_vertices:
        return f"{source.name} by vertex index"
    return f"{source.name} -> {target.name} by part-consistent nearest points"


def transfer_scores(scores: np.ndarray, source: Surface, target: Surface, matrix: Any = None) -> np.ndarray:
    """Scores on `source` -> (N_target,) float32 scores on `target` in [0,1] (rules in the module doc).

    scores: (N_source,) per-vertex values on the source surface.
    matrix: optional (N_target, N_source) dense array or scipy sparse matrix mapping source to target.
    """
    scores = np.asarray(scores, dtype=np.float32)
    if scores.shape != (source.n_vertices,):
        raise ValueError(f"scores must have one value per {source.name} vertex ({source.n_vertices}), "
                         f"got shape {scores.shape}")
    if matrix is not None:
        if tuple(matrix.shape) != (target.n_vertices, source.n_vertices):
            raise ValueError(f"the {source.name} -> {target.name} matrix has shape {tuple(matrix.shape)}, "
                             f"expected ({target.n_vertices}, {source.n_vertices})")
        return np.clip(np.asarray(matrix @ scores, dtype=np.float32).reshape(-1), 0.0, 1.0)
    if source.name == target.name and source.n_vertices == target.n_vertices:
        return scores.copy()
    from scipy.spatial import cKDTree

    src = _part_normalised(source.vertices, source.parts)
    dst = _part_normalised(target.vertices, target.parts)
    out = np.zeros(target.n_vertices, dtype=np.float32)
    for part in np.unique(target.parts):
        rows = np.flatnonzero(target.parts == part)
        candidates = np.flatnonzero(source.parts == part)
        if candidates.size == 0:  # the source lacks this part: nearest anywhere, in the plain frame
            candidates = np.arange(source.n_vertices)
            query, pool = target.vertices[rows].astype(np.float64), source.vertices.astype(np.float64)
        else:
            query, pool = dst[rows], src[candidates]
        k = min(NEIGHBOURS, candidates.size)
        distance, index = cKDTree(pool).query(query, k=k)
        distance, index = distance.reshape(len(rows), k), index.reshape(len(rows), k)
        weight = 1.0 / np.maximum(distance, 1e-9)
        out[rows] = (scores[candidates[index]] * weight).sum(1) / weight.sum(1)
    return np.clip(out, 0.0, 1.0)
