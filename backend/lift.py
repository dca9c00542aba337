"""Lift per-view 2D masks onto mesh vertices (the 'Lift' of RLL), and the inverse projection."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from backend.mesh_checks import check_masks
from backend.render import RenderedViews


@dataclass(frozen=True)
class LiftRule:
    """Which mask pixels a view's vote for a vertex is made of (a localizer declares it: Localizer.lift_rule).

    min_pixel_probability: None = every pixel that shows the vertex (the default; the official
        HumanContact3DPredictor, components.py 195-277). A number p = only pixels whose mask value is > p, and
        a view then counts for a vertex only where such a pixel shows it (the official
        ObjectMeshContact3DPredictor, components.py 445-490: p = 0.3). With p, a vertex at 0.6 in one view and
        at 0.1 in three scores 0.6, where averaging all covered pixels gives about 0.23.
    """

    min_pixel_probability: float | None = None


ALL_PIXELS = LiftRule()


def _view_pixels(views: RenderedViews, index: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Flat indices of the covered pixels of one view, their corner vertex ids (P,3) and weights (P,3)."""
    tri = views.tri_ids[index].reshape(-1)
    pixels = np.flatnonzero(tri >= 0)
    corners = views.faces[tri[pixels]]
    weights = views.bary[index].reshape(-1, 3)[pixels]
    return pixels, corners, weights


def lift(views: RenderedViews, masks: np.ndarray, rule: LiftRule = ALL_PIXELS) -> tuple[np.ndarray, np.ndarray]:
    """Per-vertex scores in [0,1] and the number of views that see each vertex.

    In each view a vertex's score is the barycentric-weighted mean of the mask over the pixels
    that show it (those above `rule.min_pixel_probability` when it is set); the final score averages
    that over the views that voted for the vertex (non-zero total weight). Unvoted vertices score 0;
    `seen` counts the views in which a vertex is visible, whatever the rule.
    """
    height, width = views.size
    masks = check_masks(masks, views.n_views, height, width)
    n = views.n_vertices
    total = np.zeros(n, dtype=np.float64)
    voted = np.zeros(n, dtype=np.int32)
    seen = np.zeros(n, dtype=np.int32)
    for i in range(views.n_views):
        pixels, corners, weights = _view_pixels(views, i)
        if pixels.size == 0:
            continue
        mask_values = masks[i].reshape(-1)[pixels]
        seen += np.bincount(corners.ravel(), weights=weights.ravel(), minlength=n) > 0
        if rule.min_pixel_probability is not None:
            keep = mask_values > rule.min_pixel_probability
            corners, weights, mask_values = corners[keep], weights[keep], mask_values[keep]
        flat_ids = corners.ravel()
        weight_sum = np.bincount(flat_ids, weights=weights.ravel(), minlength=n)
        mask_sum = np.bincount(flat_ids, weights=(weights * mask_values[:, None]).ravel(), minlength=n)
        votes = weight_sum > 0
        total[votes] += mask_sum[votes] / weight_sum[votes]
        voted += votes
    scores = np.where(voted > 0, total / np.maximum(voted, 1), 0.0)
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
