"""Per-part scores -> per-view soft masks, through the renderer's id buffer (vectorised)."""
from __future__ import annotations

import numpy as np

from backend.bodies.parts import PART_ID
from backend.geometry import unit
from backend.render import RenderedViews


def pixel_vertices(views: RenderedViews) -> np.ndarray:
    """(V,H,W) int: the nearest vertex (largest barycentric weight) of each pixel's triangle, -1 on background."""
    tri = views.tri_ids
    covered = tri >= 0
    out = np.full(tri.shape, -1, dtype=np.int64)
    corner = np.argmax(views.bary[covered], axis=1)
    out[covered] = views.faces[tri[covered], corner]
    return out


def paint_parts(views: RenderedViews, vertex_parts: np.ndarray, part_scores: np.ndarray,
                nearest: np.ndarray | None = None) -> np.ndarray:
    """(V,H,W) float32 masks: each covered pixel takes the score of its nearest vertex's part
    (`nearest`: pixel_vertices(views), when the caller already has it)."""
    vertex_parts = np.asarray(vertex_parts)
    if vertex_parts.shape != (views.n_vertices,):
        raise ValueError(f"vertex_parts has shape {vertex_parts.shape} but the rendered mesh has "
                         f"{views.n_vertices} vertices; pass the body's per-vertex part labels")
    vertex_score = np.asarray(part_scores, dtype=np.float32)[vertex_parts.astype(np.int64)]
    if nearest is None:
        nearest = pixel_vertices(views)
    masks = np.zeros(nearest.shape, dtype=np.float32)
    covered = nearest >= 0
    masks[covered] = vertex_score[nearest[covered]]
    return masks


def refine_regions(views: RenderedViews, vertex_parts: np.ndarray, masks: np.ndarray,
                   regions: dict[str, tuple[str, float, float]], nearest: np.ndarray | None = None) -> np.ndarray:
    """Apply within-part rules to painted masks, in place, using each pixel's canonical position.

    regions maps a part name to (rule, value, score):
      ("below", h, score): pixels of the part at most h metres above the body's lowest point get
          `score` (at least what they already have): the rim of the foot that touches the floor;
      ("facing_back", ny, _): pixels of the part whose surface normal y is below ny (facing the
          front; the canonical body faces -Y) are cleared: only the back of a thigh rests on a seat.
    """
    if not regions:
        return masks
    if nearest is None:
        nearest = pixel_vertices(views)
    pixel_part = np.where(nearest >= 0, np.asarray(vertex_parts)[np.clip(nearest, 0, None)], -1)
    per_view = [unproject(views, i) for i in range(views.n_views)]
    lowest = min((float(p[:, 2].min()) for _, p in per_view if len(p)), default=0.0)
    for i, (pixels, points) in enumerate(per_view):
        flat_mask = masks[i].reshape(-1)
        parts_here = pixel_part[i].reshape(-1)[pixels]
        for name, (rule, value, score) in regions.items():
            on = parts_here == PART_ID[name]
            if not on.any():
                continue
            if rule == "below":
                hit = pixels[on & (points[:, 2] <= lowest + value)]
                flat_mask[hit] = np.maximum(flat_mask[hit], score)
            elif rule == "facing_back":
                normals = surface_normals(views, i, pixels[on], points[on])  # this part's pixels only
                flat_mask[pixels[on][normals[:, 1] < value]] = 0.0
            else:
                raise ValueError(f"unknown region rule {rule!r} for part {name}")
    return masks


def unproject(views: RenderedViews, index: int) -> tuple[np.ndarray, np.ndarray]:
    """(P,) flat covered pixel indices of view `index` and their (P,3) world points."""
    pixels = np.flatnonzero(views.tri_ids[index].reshape(-1) >= 0)
    return pixels, _points_at(views, index, pixels)


def _points_at(views: RenderedViews, index: int, flat: np.ndarray) -> np.ndarray:
    """(P,3) world points of flat pixel indices of view `index`; NaN where nothing is rendered."""
    camera = views.cameras[index]
    height, width = views.size
    inside = (flat >= 0) & (flat < height * width)
    safe = np.where(inside, flat, 0)
    z = views.depth[index].reshape(-1)[safe].astype(np.float64)
    z[~inside | ~np.isfinite(z)] = np.nan
    u, v = safe % width + 0.5, safe // width + 0.5
    cx, cy = camera.principal
    cam = np.stack([(u - cx) / camera.focal * z, (v - cy) / camera.focal * z, z], 1)
    return (cam - camera.translation) @ np.asarray(camera.rotation)  # R^T (x - t)


def surface_normals(views: RenderedViews, index: int, pixels: np.ndarray, points: np.ndarray) -> np.ndarray:
    """(P,3) unit world normals at the given covered pixels, turned towards the camera (two-sided).

    The views carry no vertex positions, so normals come from the unprojected depth map: the cross
    product of its tangents along image x and y (central differences, one-sided at borders), for
    the requested pixels only.
    """
    width = views.size[1]
    column = pixels % width

    def tangent(step: int, first: np.ndarray, last: np.ndarray) -> np.ndarray:
        ahead = _points_at(views, index, np.where(last, -1, pixels + step))
        behind = _points_at(views, index, np.where(first, -1, pixels - step))
        central = ahead - behind
        central = np.where(np.isnan(central), ahead - points, central)
        return np.where(np.isnan(central), points - behind, central)

    dx = tangent(1, column == 0, column == width - 1)
    dy = tangent(width, pixels < width, pixels >= views.size[0] * width - width)
    normal = np.nan_to_num(np.cross(dx, dy))
    normal = unit(normal, 1e-12)
    camera = views.cameras[index]
    centre = -np.asarray(camera.rotation).T @ np.asarray(camera.translation)
    away = ((centre - points) * normal).sum(1) < 0
    normal[away] *= -1
    return normal
