"""Contact-guided placement: move the object (or the body) so the object's contact region meets the body's.

Method:
1. ICP between the two contact *surfaces* (the faces inside each contact selection plus its
   vertices): start from the current placement with the contact centroids aligned, then iterate
   symmetric closest-point correspondences (object points -> body contact surface and body points ->
   object contact surface, so neither region can collapse onto a part of the other; vertex weights
   weight the pairs) and the weighted closed-form Procrustes/Umeyama solve (rotation + translation,
   + uniform scale with `scale=True`).
2. Refinement with scipy.optimize.least_squares over (rotation vector, translation, log scale):
   the same correspondences re-projected inside every residual evaluation (point-to-surface, so
   sliding along the surface converges where point-to-point ICP crawls), a penetration term (depth
   of object vertices inside the body from the body's signed distance, see backend/scene_contact.py;
   each penetrating vertex weighs `penetration_weight` contact pairs) and a small regulariser toward
   the current placement (keeps flat or symmetric contact regions from drifting along free directions).
Moving the body instead (`move="body"`) is the same solve; the body gets the inverse transform, so
the relative placement is identical.

Speed (bench/scene_contact.py): the ~500 closest-point evaluations of ICP + refinement reuse each
point's candidate triangles while they provably stay the nearest (surface_cache.CachedNearest), and
the band test that picks the penetration samples asks only "any triangle within the band?"
(surface_cache.within); both give SurfaceQuery's answers, so the placement is the same up to rounding.

Limits: the two selections are matched as wholes, so a mismatch of their borders biases the result
(measured: ~2 mm for 2.5-5 mm of border mismatch between differently sampled 20 cm patches, 0.1 mm
when they match); contact regions that are rotationally symmetric (a spherical cap on a plane)
leave that rotation to the regulariser.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import least_squares
from scipy.spatial.transform import Rotation

from backend.mesh_checks import check_mesh
from backend.protocol import DEFAULT_CONTACT_DISTANCE, DEFAULT_PENETRATION_WEIGHT, DEFAULT_REGULARIZER
from backend.scene_contact import SurfaceQuery, side_contact
from backend.surface_cache import CachedNearest, within

_MAX_PENETRATION_SAMPLES = 1500
_MAX_CONTACT_POINTS = 2000  # per side, for the solve (the report uses every contact vertex)


def contact_weights(spec: np.ndarray, n_vertices: int, what: str) -> tuple[np.ndarray, np.ndarray]:
    """Contact given as vertex indices (int), a boolean mask or per-vertex weights (float, length N).

    Returns (indices, weights > 0) or raises ValueError naming the problem.
    """
    spec = np.asarray(spec)
    if spec.ndim != 1:
        raise ValueError(f"{what} contact must be a 1-D array of vertex indices or per-vertex weights, "
                         f"got shape {spec.shape}")
    if spec.size == 0:
        raise ValueError(f"{what} contact is empty: select at least 3 contact vertices")
    if spec.dtype == bool:
        if spec.size != n_vertices:
            raise ValueError(f"{what} contact mask has {spec.size} entries but the mesh has {n_vertices} vertices")
        idx = np.flatnonzero(spec)
        weights = np.ones(idx.size)
    elif np.issubdtype(spec.dtype, np.integer):
        low, high = int(spec.min()), int(spec.max())
        if low < 0 or high >= n_vertices:
            raise ValueError(
                f"{what} contact indices must lie in [0, {n_vertices - 1}] (the mesh has {n_vertices} vertices), "
                f"found range [{low}, {high}]; were they made for a different mesh?"
            )
        idx = np.unique(spec)
        weights = np.ones(idx.size)
    elif np.issubdtype(spec.dtype, np.floating):
        if spec.size != n_vertices:
            raise ValueError(
                f"{what} contact weights have {spec.size} entries but the mesh has {n_vertices} vertices; "
                "give one weight per vertex or integer vertex indices"
            )
        if not np.isfinite(spec).all() or spec.min() < 0:
            raise ValueError(f"{what} contact weights must be finite and >= 0")
        idx = np.flatnonzero(spec > 0)
        weights = spec[idx].astype(np.float64)
    else:
        raise ValueError(f"{what} contact has unsupported dtype {spec.dtype}; use integer indices or float weights")
    if idx.size < 3:
        raise ValueError(f"{what} contact has {idx.size} vertices; placement needs at least 3 (a region, not a point)")
    return idx, weights


def umeyama(src: np.ndarray, dst: np.ndarray, weights: np.ndarray, with_scale: bool) -> np.ndarray:
    """Weighted similarity (or rigid) transform T (4x4) minimising sum w |T src - dst|^2 (Umeyama 1991)."""
    w = weights / weights.sum()
    mu_s, mu_d = w @ src, w @ dst
    xs, xd = src - mu_s, dst - mu_d
    cov = (xd * w[:, None]).T @ xs
    u, sing, vt = np.linalg.svd(cov)
    fix = np.ones(3)
    if np.linalg.det(u) * np.linalg.det(vt) < 0:
        fix[2] = -1.0  # reflection -> proper rotation
    rot = u @ np.diag(fix) @ vt
    var_s = (w * (xs**2).sum(1)).sum()
    s = float((sing * fix).sum() / var_s) if with_scale and var_s > 0 else 1.0
    out = np.eye(4)
    out[:3, :3] = s * rot
    out[:3, 3] = mu_d - s * rot @ mu_s
    return out


def apply(transform: np.ndarray, points: np.ndarray) -> np.ndarray:
    """points (N,3) transformed by the 4x4 transform."""
    return points @ transform[:3, :3].T + transform[:3, 3]


def _params_to_matrix(x: np.ndarray, pivot: np.ndarray) -> np.ndarray:
    """(rotvec, translation, log scale) about `pivot` -> 4x4 (pivot keeps rotation and translation decoupled)."""
    m = np.eye(4)
    m[:3, :3] = np.exp(x[6]) * Rotation.from_rotvec(x[:3]).as_matrix()
    m[:3, 3] = pivot + x[3:6] - m[:3, :3] @ pivot
    return m


@dataclass
class PlacementResult:
    transform: np.ndarray  # 4x4 for the moved mesh (world space): v' = T @ [v, 1]
    moved: str  # "object" or "body"
    scale: float
    residual_mean: float  # over contact correspondences after placement (scene units)
    residual_max: float
    penetrating_vertices: int  # object vertices inside the body after placement
    max_penetration_depth: float
    iterations: int

    def summary(self) -> dict:
        rotation_deg = float(np.degrees(Rotation.from_matrix(self.transform[:3, :3] / self.scale).magnitude()))
        return {
            "moved": self.moved,
            "transform": self.transform.tolist(),
            "scale": self.scale,
            "rotation_deg": rotation_deg,
            "translation": self.transform[:3, 3].tolist(),
            "residual_mean": self.residual_mean,
            "residual_max": self.residual_max,
            "penetrating_vertices": self.penetrating_vertices,
            "max_penetration_depth": self.max_penetration_depth,
            "iterations": self.iterations,
        }


def _contact_surface(vertices: np.ndarray, faces: np.ndarray, idx: np.ndarray, what: str) -> SurfaceQuery:
    """The contact region as a surface: faces with all corners in contact, plus each contact vertex as a
    point (a degenerate triangle) so scattered selections without whole faces still work."""
    inside = np.zeros(vertices.shape[0], dtype=bool)
    inside[idx] = True
    region = faces[inside[faces].all(axis=1)]
    points = np.repeat(idx[:, None], 3, axis=1)
    return SurfaceQuery(vertices, np.r_[region, points].astype(np.int32), what)


class _Matcher:
    """Symmetric closest-point correspondences between the two contact surfaces (object moves by T)."""

    def __init__(self, body_surface: SurfaceQuery, object_surface: SurfaceQuery,
                 q: np.ndarray, wq: np.ndarray, p0: np.ndarray, wp: np.ndarray, cache: bool = True) -> None:
        # cache: for the solve's many calls; a one-off call (the report) saves its memory
        self.body_surface = CachedNearest(body_surface) if cache else body_surface
        self.object_surface = CachedNearest(object_surface) if cache else object_surface
        self.q, self.wq, self.p0, self.wp = q, wq, p0, wp

    def pairs(self, transform: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(src in object coordinates, dst in world, weights): object points -> body surface and
        body points -> object surface (found in object coordinates through T^-1)."""
        on_body = self.body_surface.closest_points(apply(transform, self.p0))
        on_object = self.object_surface.closest_points(apply(np.linalg.inv(transform), self.q))
        src = np.r_[self.p0, on_object]
        dst = np.r_[on_body, self.q]
        weights = np.r_[self.wp, self.wq]
        return src, dst, weights


def _subsample(points: np.ndarray, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    if points.shape[0] <= _MAX_CONTACT_POINTS:
        return points, weights
    pick = np.sort(np.random.default_rng(0).choice(points.shape[0], _MAX_CONTACT_POINTS, replace=False))
    return points[pick], weights[pick]


def place(
    body_vertices: np.ndarray,
    body_faces: np.ndarray,
    object_vertices: np.ndarray,
    object_faces: np.ndarray,
    body_contact: np.ndarray,
    object_contact: np.ndarray,
    scale: bool = False,
    move: str = "object",
    penetration_weight: float = DEFAULT_PENETRATION_WEIGHT,
    regularizer: float = DEFAULT_REGULARIZER,
    icp_iterations: int = 60,
    contact_distance: float = DEFAULT_CONTACT_DISTANCE,
) -> PlacementResult:
    """Solve for the transform that puts the object's contact region onto the body's (see module doc)."""
    if move not in ("object", "body"):
        raise ValueError(f"move must be 'object' or 'body', got {move!r}")
    bv, bf = check_mesh(body_vertices, body_faces, "body")
    ov, of = check_mesh(object_vertices, object_faces, "object")
    bidx, wq = contact_weights(body_contact, bv.shape[0], "body")
    oidx, wp = contact_weights(object_contact, ov.shape[0], "object")
    body_region = _contact_surface(bv, bf, bidx, "body contact")
    object_region = _contact_surface(ov, of, oidx, "object contact")
    full = _Matcher(body_region, object_region, bv[bidx].astype(np.float64), wq, ov[oidx].astype(np.float64), wp,
                    cache=False)
    # The solve uses a fixed random subset of large contact regions (points, not surfaces: the regions
    # stay whole); 2000 pairs per side pin a rigid transform far below the mesh resolution.
    (q, wq), (p0, wp) = _subsample(full.q, wq), _subsample(full.p0, wp)
    matcher = _Matcher(body_region, object_region, q, wq, p0, wp)

    # 1. ICP from the current placement with the contact centroids aligned.
    transform = np.eye(4)
    transform[:3, 3] = (wq @ q) / wq.sum() - (wp @ p0) / wp.sum()
    iterations = 0
    for iterations in range(1, icp_iterations + 1):  # noqa: B007 - the count is reported after the loop
        new = umeyama(*matcher.pairs(transform), scale)
        change = np.abs(new - transform).max()
        transform = new
        if change < 1e-7:
            break

    # 2. Refinement: point-to-surface residuals (re-projected inside the residual, so sliding along the
    # surface converges, unlike point-to-point ICP), penetration, regulariser toward the current placement.
    body = SurfaceQuery(bv, bf, "body")
    pivot = (wp @ p0) / wp.sum()
    extent = float(np.sqrt((wp @ ((p0 - pivot) ** 2).sum(1)) / wp.sum())) + 1e-9
    # Refinement moves the object by little more than the ICP residual: vertices farther than this band
    # from the body at the ICP solution cannot sink in, and body faces farther away are not needed.
    src, dst, _ = matcher.pairs(transform)
    icp_residual = float(np.linalg.norm(apply(transform, src) - dst, axis=1).max())
    band = min(2.0 * extent, 2.0 * icp_residual) + contact_distance
    # Penetration samples: object vertices near the body at the ICP solution (the others cannot sink in).
    near = within(body, apply(transform, ov.astype(np.float64)), band)
    samples = ov[near].astype(np.float64)
    # The body faces near the object, as a small surface with a cached tree (queried many times below).
    placed_box = apply(transform, samples) if samples.shape[0] else apply(transform, p0)
    near_faces = body.faces_near(placed_box.min(0), placed_box.max(0), band + body.radius)
    body_near = CachedNearest(SurfaceQuery(bv, bf[near_faces], "body")) if near_faces.size else None
    if samples.shape[0] > _MAX_PENETRATION_SAMPLES:
        samples = samples[np.random.default_rng(0).choice(samples.shape[0], _MAX_PENETRATION_SAMPLES, replace=False)]
    s0 = np.cbrt(np.linalg.det(transform[:3, :3]))
    start = np.r_[Rotation.from_matrix(transform[:3, :3] / s0).as_rotvec(),
                  apply(transform, pivot[None])[0] - pivot, np.log(s0) if scale else 0.0]
    # Each penetrating vertex weighs penetration_weight times one contact pair (pairs: 1/len(pairs) each).
    pen = np.sqrt(penetration_weight / (p0.shape[0] + q.shape[0]))
    reg = np.sqrt(regularizer)
    n_params = 7 if scale else 6

    def all_params(x: np.ndarray) -> np.ndarray:
        """The solved parameters plus log scale 0 when the scale is not solved for."""
        return x if scale else np.r_[x, 0.0]

    def residuals(x: np.ndarray) -> np.ndarray:
        params = all_params(x)
        m = _params_to_matrix(params, pivot)
        src, dst, weights = matcher.pairs(m)
        corr = (np.sqrt(weights / weights.sum())[:, None] * (apply(m, src) - dst)).ravel()
        depth = np.zeros(0)
        if body_near is not None and samples.shape[0]:
            sd = body_near.signed_distance(apply(m, samples))
            depth = np.where(np.abs(sd) <= band, np.maximum(-sd, 0.0), 0.0)
        # the current placement is the identity: rotation, pivot translation, log scale all zero
        regular = reg * np.r_[params[:3] * extent, params[3:6], params[6:7] * extent][:n_params]
        return np.r_[corr, pen * depth, regular]

    x_scale = np.r_[np.ones(3), np.full(3, extent), np.ones(n_params - 6)]
    fit = least_squares(residuals, start[:n_params], x_scale=x_scale,
                        xtol=1e-9, ftol=1e-12, gtol=1e-12, max_nfev=60)
    solved = all_params(fit.x)
    transform = _params_to_matrix(solved, pivot)

    # Report: residual over the final correspondences of every contact vertex, penetration of the placed object.
    src, dst, _ = full.pairs(transform)
    dist = np.linalg.norm(apply(transform, src) - dst, axis=1)
    placed = side_contact(apply(transform, ov.astype(np.float64)), body, contact_distance)
    s = float(np.exp(solved[6]))
    result_transform = transform if move == "object" else np.linalg.inv(transform)
    return PlacementResult(
        transform=result_transform,
        moved=move,
        scale=s if move == "object" else 1.0 / s,
        residual_mean=float(dist.mean()),
        residual_max=float(dist.max()),
        penetrating_vertices=int(placed.penetrating.sum()),
        max_penetration_depth=float(placed.depth.max()),
        iterations=iterations,
    )
