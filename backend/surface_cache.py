"""Fast repeated nearest-surface queries for the placement solve (backend/placement.py).

ICP and least_squares ask for the closest surface point of the same few thousand points hundreds of
times while they move by micrometres to millimetres; a centroid-tree search per call was most of the
solve. CachedNearest gives SurfaceQuery.closest_points / signed_distance's answers but skips the search
wherever it provably returns the same candidates; within() is SurfaceQuery.signed_distance's band test
reduced to yes/no. Both are checked against SurfaceQuery in tests/test_surface_cache.py; timings in
bench/scene_contact.py (placement: 31 s -> 11 s on a 655k-vertex ball with 80k contact vertices).
"""
from __future__ import annotations

import numpy as np

from backend.scene_contact import SurfaceQuery, closest_points_on_triangles

K_NEAREST = 8  # candidate triangles per point, as SurfaceQuery.closest_points / nearest(None) take
POOL = 32  # CachedNearest: nearest centroids kept per point to re-pick the k nearest from
MAX_PAIRS = 1 << 21  # within: (point, triangle) pairs per batch


def _closest_barycentric(ap: np.ndarray, ab: np.ndarray, ac: np.ndarray, dots: np.ndarray
                         ) -> tuple[np.ndarray, np.ndarray]:
    """(v, w): the closest point of each triangle a + v ab + w ac to a + ap, any leading shape.

    The Voronoi-region method of scene_contact.closest_points_on_triangles with the same region
    priorities (so a point triangle gives its corner), from 2 point-dependent dot products instead of
    6 (the other 4 follow from ab.ab, ab.ac, ac.ac, precomputed in `dots`); equal up to rounding.
    """
    d1, d2 = (ab * ap).sum(-1), (ac * ap).sum(-1)
    d3, d4 = d1 - dots[..., 0], d2 - dots[..., 1]  # ab.bp, ac.bp with bp = ap - ab
    d5, d6 = d1 - dots[..., 1], d2 - dots[..., 2]  # ab.cp, ac.cp with cp = ap - ac
    vc, vb, va = d1 * d4 - d3 * d2, d5 * d2 - d1 * d6, d3 * d6 - d5 * d4
    with np.errstate(divide="ignore", invalid="ignore"):
        t_bc = (d4 - d3) / ((d4 - d3) + (d5 - d6))
        t_ac, t_ab = d2 / (d2 - d6), d1 / (d1 - d3)
        denom = va + vb + vc
        regions = [  # highest priority first, as the general kernel applies them last
            (d1 <= 0) & (d2 <= 0),  # vertex a
            (d3 >= 0) & (d4 <= d3),  # vertex b
            (vc <= 0) & (d1 >= 0) & (d3 <= 0),  # edge ab
            (d6 >= 0) & (d5 <= d6),  # vertex c
            (vb <= 0) & (d2 >= 0) & (d6 <= 0),  # edge ac
            (va <= 0) & (d4 - d3 >= 0) & (d5 - d6 >= 0),  # edge bc
        ]
        v = np.select(regions, [0.0, 1.0, t_ab, 0.0, 0.0, 1.0 - t_bc], vb / denom)
        w = np.select(regions, [0.0, 0.0, 0.0, 1.0, t_ac, t_bc], vc / denom)
    return v, w


class CachedNearest:
    """SurfaceQuery.closest_points / nearest(points, None) for one fixed set of query points that moves a
    little between calls, with the centroid-tree search skipped wherever it provably returns the same answer.

    Both take the best exact point-to-triangle distance over each point's k nearest triangle centroids.
    least_squares evaluates the residual 7 times per Jacobian at points ~1e-8 apart, and ICP / solver
    steps move them by micrometres to millimetres: the tree search was most of the time. Every centroid
    distance changes by at most the distance a point moved (delta), so:
    - the current k candidates stay the k nearest while delta < (d_k+1 - d_k) / 2 (`slack`): no work;
    - else the k nearest of a pool of the m nearest centroids (searched once) are the k nearest overall
      while the k-th of them is nearer than d_m+1 - delta (`outer`, measured from where the pool was
      searched): a sort of m distances;
    - else a tree search refills the pool.
    Candidates are ordered by centroid distance and the first best wins, as in SurfaceQuery, so results
    match it (an exact tie between two triangles, i.e. a shared closest point, may pick the other one).
    """

    def __init__(self, surface: SurfaceQuery) -> None:
        self.surface = surface
        self.k = min(K_NEAREST, surface.centroids.shape[0])
        self.m = min(POOL, surface.centroids.shape[0])
        self.base: np.ndarray | None = None

    def _fill(self, points: np.ndarray, rows: np.ndarray) -> None:
        """Tree search: the pool of the m nearest centroids and the distance of the next one."""
        tree = self.surface.full_tree()
        if self.m < tree.n:
            dist, idx = tree.query(points[rows], k=self.m + 1)
            self.outer[rows], self.pool[rows] = dist[:, -1], idx[:, :-1]
        else:  # every triangle is in the pool
            self.outer[rows], self.pool[rows] = np.inf, np.arange(tree.n)
        self.pool_base[rows] = points[rows]

    def _select(self, points: np.ndarray, rows: np.ndarray, fresh: bool) -> np.ndarray:
        """The k nearest of the pool as candidates for points[rows]; returns the rows where that is not
        certain (only when not `fresh`: a just-filled pool is the tree's own answer)."""
        k, pool = self.k, self.pool[rows]
        dist = np.linalg.norm(points[rows, None, :] - self.surface.centroids[pool], axis=-1)
        order = np.argsort(dist, axis=1, kind="stable")
        dist = np.take_along_axis(dist, order, axis=1)
        kth = dist[:, k - 1]
        bound = self.outer[rows] - np.linalg.norm(points[rows] - self.pool_base[rows], axis=1)
        ok = np.ones(rows.size, dtype=bool) if fresh else kth < bound
        rows, order, kth = rows[ok], order[ok], kth[ok]
        following = np.minimum(dist[ok, k] if self.m > k else np.inf, bound[ok])  # >= the (k+1)-th nearest
        self.slack[rows] = 0.5 * (following - kth)
        self.base[rows] = points[rows]
        idx = np.take_along_axis(pool[ok], order[:, :k], axis=1)
        self.cand[rows] = idx
        corners = self.surface.vertices[self.surface.faces[idx]]  # (rows, k, 3 corners, 3)
        a, ab, ac = corners[:, :, 0], corners[:, :, 1] - corners[:, :, 0], corners[:, :, 2] - corners[:, :, 0]
        self.a[rows], self.ab[rows], self.ac[rows] = a, ab, ac
        # the point-independent dot products of the closest-point kernel, once per candidate
        self.dots[rows] = np.stack([(ab * ab).sum(-1), (ab * ac).sum(-1), (ac * ac).sum(-1)], axis=-1)
        return np.flatnonzero(~ok)

    def query(self, points: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(distance, face, closest point, barycentric) of each point's best candidate."""
        n, k = points.shape[0], self.k
        if self.base is None or self.base.shape[0] != n:
            self.base, self.slack = np.empty((n, 3)), np.empty(n)
            self.pool_base, self.outer = np.empty((n, 3)), np.empty(n)
            self.pool = np.empty((n, self.m), dtype=np.int64)
            self.cand = np.empty((n, k), dtype=np.int64)
            self.a, self.ab, self.ac = np.empty((n, k, 3)), np.empty((n, k, 3)), np.empty((n, k, 3))
            self.dots = np.empty((n, k, 3))
            rows = np.arange(n)
            self._fill(points, rows)
            self._select(points, rows, fresh=True)
        else:
            moved = np.flatnonzero(~(np.linalg.norm(points - self.base, axis=1) < self.slack))
            if moved.size:
                lost = moved[self._select(points, moved, fresh=False)]
                if lost.size:
                    self._fill(points, lost)
                    self._select(points, lost, fresh=True)
        v, w = _closest_barycentric(points[:, None, :] - self.a, self.ab, self.ac, self.dots)
        closest = self.a + v[..., None] * self.ab + w[..., None] * self.ac
        bad = ~(np.isfinite(v) & np.isfinite(w))
        if bad.any():  # degenerate triangles the regions do not catch: the general kernel's corner fallback
            c, bary = closest_points_on_triangles(np.broadcast_to(points[:, None, :], (n, k, 3))[bad], self.a[bad],
                                                  self.a[bad] + self.ab[bad], self.a[bad] + self.ac[bad])
            closest[bad], v[bad], w[bad] = c, bary[:, 1], bary[:, 2]
        dist = np.linalg.norm(points[:, None, :] - closest, axis=-1)
        best = np.argmin(dist, axis=1)  # the first of exact ties, like SurfaceQuery's stable sort
        r = np.arange(n)
        bary = np.stack([1.0 - v[r, best] - w[r, best], v[r, best], w[r, best]], axis=1)
        return dist[r, best], self.cand[r, best], closest[r, best], bary

    def closest_points(self, points: np.ndarray) -> np.ndarray:
        return self.query(points)[2]

    def signed_distance(self, points: np.ndarray) -> np.ndarray:
        dist, face, closest, bary = self.query(points)
        return dist * self.surface._sign(points, face, closest, bary)  # SurfaceQuery's inside test


def within(surface: SurfaceQuery, points: np.ndarray, distance: float) -> np.ndarray:
    """(N,) bool: some triangle of `surface` lies within `distance` of the point; exactly
    np.isfinite(surface.signed_distance(points, distance)), without computing the distance itself.

    signed_distance certifies each point's nearest triangle with a ball query of radius about
    distance + R (R: the largest centroid-to-corner radius), thousands of triangles for a point a few
    cm above a fine floor. A yes/no needs less: a point is settled as soon as one candidate triangle is
    within `distance` (yes), or once every centroid within distance + R has been examined (no: no
    point of a triangle is farther than R from its centroid); the others get 8x more candidates.
    """
    out = np.zeros(points.shape[0], dtype=bool)
    box = np.all((points >= surface.low - distance) & (points <= surface.high + distance), axis=1)
    todo = np.flatnonzero(box)  # outside the grown box no triangle is within `distance`
    tree, k, v = surface.full_tree(), 1, surface.vertices
    while todo.size:
        k = min(k, tree.n)
        unsettled = []
        for part in np.array_split(todo, -(-todo.size * k // MAX_PAIRS)):  # bounded memory per round
            cdist, cidx = tree.query(points[part], k=k, distance_upper_bound=distance + surface.radius)
            cdist, cidx = cdist.reshape(part.size, k), cidx.reshape(part.size, k)
            rows, cols = np.nonzero(cidx < tree.n)
            f = surface.faces[cidx[rows, cols]]
            closest, _ = closest_points_on_triangles(points[part[rows]], v[f[:, 0]], v[f[:, 1]], v[f[:, 2]])
            yes = np.zeros(part.size, dtype=bool)
            yes[rows[np.linalg.norm(points[part[rows]] - closest, axis=1) <= distance]] = True
            out[part[yes]] = True
            # settled: a triangle within `distance`, or fewer than k centroids within distance + R (all seen)
            unsettled.append(part[~yes & np.isfinite(cdist[:, -1])] if k < tree.n else part[:0])
        todo, k = np.concatenate(unsettled), k * 8
    return out
