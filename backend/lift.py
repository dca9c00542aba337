"""Lift per-view 2D masks onto mesh vertices (the 'Lift' of RLL), and the inverse projection."""
from __future__ import annotations

import numpy as np

from backend.mesh_checks import check_masks
from backend.render import RenderedViews


def _view_pixels(views: RenderedViews, index: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Flat indices of the covered pixels of one view, their corner vertex ids (P,3) and weights (P,3)."""
    tri = views.tri_ids[index].reshape(-1)
    pixels = np.flatnonzero(tri >= 0)
    corners = views.faces[tri[pixels]]
    weights = views.bary[index].reshape(-1, 3)[pixels]
    return pixels, corners, weights


def lift(views: RenderedViews, masks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-vertex scores in [0,1] and the number of views that see each vertex.

    In each view a vertex's score is the barycentric-weighted mean of the mask over the pixels
    that show it; the final score averages that over the views where the vertex is visible
    (non-zero total weight). Unseen vertices score 0 with seen = 0.
    """
    height, width = views.size
    masks = check_masks(masks, views.n_views, height, width)
    n = views.n_vertices
    total = np.zeros(n, dtype=np.float64)
    seen = np.zeros(n, dtype=np.int32)
    for i in range(views.n_views):
        pixels, corners, weights = _view_pixels(views, i)
        if pixels.size == 0:
            continue
        flat_ids = corners.ravel()
        weight_sum = np.bincount(flat_ids, weights=weights.ravel(), minlength=n)
        mask_values = masks[i].reshape(-1)[pixels]
        mask_sum = np.bincount(flat_ids, weights=(weights * mask_values[:, None]).ravel(), minlength=n)
        visible = weight_sum > 0
        total[visible] += mask_sum[visible] / weight_sum[visible]
        seen += visible
    scores = np.where(seen > 0, total / np.maximum(seen, 1), 0.0)
    return np.clip(scores, 0.0, 1.0).astype(np.float32), seen


def project(views: RenderedViews, labels: np.ndarray) -> np.ndarray:
    """Per-vertex values -> per-view images by barycentric interpolation (0 on background)."""
    labels = np.asarray(labels, dtype=np.float32)
    if labels.shape != (views.n_vertices,):
        raise ValueError(f"labels must have shape ({views.n_vertices},) (one per vertex), got {labels.shape}")
    height, width = views.size
    masks = np.zeros((views.n_views, height * width), dtype=np.float32)
    for i in range(views.n_views):
        pixels, corners, weights = _view_pixels(views, i)
        masks[i, pixels] = (labels[corners] * weights).sum(axis=1)
    return masks.reshape(views.n_views, height, width)
