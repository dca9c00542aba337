"""object_contact: which regions of the object the body touches, on the object's rendered views.

The rule (documented in README and priors.OBJECT):
1. Body known in the object's frame (Query.body_vertices): an object point is touched when the
   body surface is within OBJECT["near_m"]; the score falls linearly from 1 at 0 m to 0 at near_m.
   The photo's pose decides nothing here: the geometry is the stronger evidence.
2. No body: a mode picks the surface the body would touch, by height (0 = the object's lowest
   point, 1 = its top) and orientation (normals from the depth maps). The mode comes from the
   label when its prior is known (seat labels -> seat; labels whose strongest prior part is a hand
   -> hold; others -> support), else from the photo's pose class (sitting -> seat; legs out of
   the frame -> hold; standing, lying, kneeling -> support):
   - support: the upward-facing surface (normal z >= up_min) with the largest seen area, found as
     the most common height (bins of support_bin) of upward-facing pixels above min_level (a seat,
     a box top, a mattress, a step);
   - seat: the support surface plus front-facing (-Y, objects are assumed to face -Y like the
     bodies) surfaces above it, a backrest, at OBJECT["backrest_score"];
   - hold: the middle height band of the object, every orientation (a held object is gripped
     around its middle).
   The masks are scaled by the strongest part score of the answer (how sure the photo is).
"""
from __future__ import annotations

import numpy as np

from backend.localizers.default.paint import surface_normals, unproject
from backend.localizers.default.priors import LABEL_PARTS, OBJECT, SEAT_LABELS
from backend.render import RenderedViews


def near_body(views: RenderedViews, body_vertices: np.ndarray) -> np.ndarray:
    """(V,H,W) masks: 1 - distance / near_m to the nearest body vertex, clipped to [0,1]."""
    from scipy.spatial import cKDTree

    tree = cKDTree(np.asarray(body_vertices, dtype=np.float64))
    height, width = views.size
    masks = np.zeros((views.n_views, height * width), dtype=np.float32)
    for i in range(views.n_views):
        pixels, points = unproject(views, i)
        distance, _ = tree.query(points, distance_upper_bound=OBJECT["near_m"])
        masks[i, pixels] = np.clip(1.0 - distance / OBJECT["near_m"], 0.0, 1.0)  # inf -> 0
    return masks.reshape(views.n_views, height, width)


MODES = ("support", "seat", "hold")


def choose_mode(label_key: str | None, pose_class: str) -> str:
    """The object rule's mode from the label's prior (when known) or the photo's pose class."""
    if label_key is not None:
        if label_key in SEAT_LABELS:
            return "seat"
        prior = LABEL_PARTS[label_key]
        strongest = max(prior, key=prior.get)
        return "hold" if any(w in strongest for w in ("palm", "fingers", "hand")) else "support"
    return {"sitting": "seat", "upper_body": "hold"}.get(pose_class, "support")


def by_mode(views: RenderedViews, mode: str, strength: float) -> np.ndarray:
    """(V,H,W) masks of the surfaces touched in `mode` (see the module docstring), scaled by `strength`."""
    if mode not in MODES:
        raise ValueError(f"unknown object rule mode {mode!r}; use one of {', '.join(MODES)}")
    height, width = views.size
    per_view = [unproject(views, i) for i in range(views.n_views)]
    heights = np.concatenate([p[:, 2] for _, p in per_view]) if per_view else np.zeros(1)
    low, top = float(heights.min()), float(heights.max())
    levels = [(points[:, 2] - low) / max(top - low, 1e-6) for _, points in per_view]
    if mode == "hold":  # height alone decides: no normals, no support surface
        a, b = OBJECT["hold_band"]
        scores = [((level >= a) & (level <= b)).astype(np.float64) for level in levels]
    else:
        normals = [surface_normals(views, i, px, pts) if len(px) else np.zeros((0, 3))
                   for i, (px, pts) in enumerate(per_view)]
        up = [normal[:, 2] >= OBJECT["up_min"] for normal in normals]
        support = _support_level(np.concatenate(levels), np.concatenate(up))
        scores = []
        for level, normal, upward in zip(levels, normals, up):
            on_support = upward & (np.abs(level - support) <= OBJECT["support_bin"])
            if mode == "seat":
                back = (normal[:, 1] <= OBJECT["front_max"]) & (level > support + OBJECT["support_bin"])
                scores.append(np.where(on_support, 1.0, np.where(back, OBJECT["backrest_score"], 0.0)))
            else:
                scores.append(on_support.astype(np.float64))
    masks = np.zeros((views.n_views, height * width), dtype=np.float32)
    for i, ((pixels, _), score) in enumerate(zip(per_view, scores)):
        masks[i, pixels] = score * strength
    return masks.reshape(views.n_views, height, width)


def object_masks(views: RenderedViews, body_vertices: np.ndarray | None, label_key: str | None, pose_class: str,
                 strength: float) -> tuple[np.ndarray, str]:
    """(masks, rule) for object contact: the object points near the body when the body is in the object's
    frame, else the surfaces the pose rests on (choose_mode), drawn at `strength`."""
    if body_vertices is not None:
        masks = near_body(views, body_vertices)
        if masks.max() > 0:
            return masks, "object points within near_m of the body"
        # The body is nowhere near the object (e.g. a default body not placed in the object's frame):
        # the geometry says nothing, so fall back to the photo's rule.
    mode = choose_mode(label_key, pose_class)
    note = " (the body given is not within near_m of the object)" if body_vertices is not None else ""
    return by_mode(views, mode, strength), f"{mode} surfaces of the object (pose: {pose_class}){note}"


def _support_level(level: np.ndarray, up: np.ndarray) -> float:
    """The most common height (object-height fraction) of upward-facing pixels above min_level."""
    candidates = level[up & (level >= OBJECT["min_level"])]
    if len(candidates) == 0:
        return 1.0
    edges = np.arange(0.0, 1.0 + OBJECT["support_bin"], OBJECT["support_bin"])
    counts, edges = np.histogram(candidates, bins=edges)
    best = int(np.argmax(counts))
    inside = candidates[(candidates >= edges[best]) & (candidates <= edges[best + 1])]
    return float(np.median(inside))
