"""Benchmark: exact scene contact, 1M-vertex body-sized mesh vs a 100k-vertex prop touching it.

Baselines measured in the same run: (1) a naive cKDTree over all vertices of each side
(vertex-to-vertex distance, no pruning, no point-to-triangle, no penetration), the cheapest thing
one would write first; (2) the same exact kernel as ours without the AABB pruning (every vertex
against the other mesh's full triangle-centroid tree). trimesh.proximity needs rtree, which is not
installed here. Ours is exact point-to-triangle with penetration.
Second table: contact-guided placement (backend/placement.py) of a 655k-vertex ball displaced off a
160k-vertex floor, contact regions from scene_contact (~80k / 4k vertices), against the old code path
in the same run (`old_place_path`: the same function with SurfaceQuery's own queries, as before).
Last line: RESULT scene_contact_s=<float> place_s=<float>.
Run: .venv/bin/python bench/scene_contact.py
"""
from __future__ import annotations

import contextlib
import sys
import time
from pathlib import Path

import numpy as np
import trimesh
from scipy.spatial import cKDTree
from scipy.spatial.transform import Rotation

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # runnable as `python bench/scene_contact.py`

import backend.placement as placement  # noqa: E402
from backend.scene_contact import SurfaceQuery, scene_contact  # noqa: E402


def uv_ellipsoid(n_lat: int, n_lon: int, radii: tuple[float, float, float]) -> tuple[np.ndarray, np.ndarray]:
    """Closed lat-long ellipsoid: (n_lat-1)*n_lon ring vertices + 2 poles, outward-facing triangles."""
    theta = np.linspace(0, np.pi, n_lat + 1)[1:-1]
    phi = np.linspace(0, 2 * np.pi, n_lon, endpoint=False)
    t, p = np.meshgrid(theta, phi, indexing="ij")
    ring = np.c_[np.sin(t).ravel() * np.cos(p).ravel(), np.sin(t).ravel() * np.sin(p).ravel(), np.cos(t).ravel()]
    vertices = np.r_[[[0, 0, 1]], ring, [[0, 0, -1]]] * np.asarray(radii)
    grid = 1 + np.arange(ring.shape[0]).reshape(n_lat - 1, n_lon)
    a, b = grid[:-1], np.roll(grid[:-1], -1, axis=1)
    c, d = grid[1:], np.roll(grid[1:], -1, axis=1)
    quads = np.r_[np.c_[a.ravel(), c.ravel(), d.ravel()], np.c_[a.ravel(), d.ravel(), b.ravel()]]
    top = np.c_[np.zeros(n_lon, int), grid[0], np.roll(grid[0], -1)]
    south = vertices.shape[0] - 1
    bottom = np.c_[np.full(n_lon, south), np.roll(grid[-1], -1), grid[-1]]
    return vertices.astype(np.float32), np.r_[top, quads, bottom].astype(np.int32)


def naive_kdtree(bv: np.ndarray, ov: np.ndarray, contact_distance: float) -> tuple[int, int]:
    d_body, _ = cKDTree(ov).query(bv, distance_upper_bound=contact_distance)
    d_obj, _ = cKDTree(bv).query(ov, distance_upper_bound=contact_distance)
    return int(np.isfinite(d_body).sum()), int(np.isfinite(d_obj).sum())


def unpruned_exact(bv, bf, ov, of, contact_distance: float) -> tuple[int, int]:
    """Same point-to-triangle kernel, but every vertex queried against the other's full centroid tree."""
    body, prop = SurfaceQuery(bv, bf), SurfaceQuery(ov, of)
    d_body = np.abs(prop.signed_distance(body.vertices))
    d_prop = np.abs(body.signed_distance(prop.vertices))
    return int((d_body <= contact_distance).sum()), int((d_prop <= contact_distance).sum())


@contextlib.contextmanager
def old_place_path():
    """placement.place as it was before its caches: every query through SurfaceQuery itself (the tree
    search on every residual evaluation, the exact distance of every object vertex for the band test)."""
    saved = placement.CachedNearest, placement.within
    placement.CachedNearest = lambda surface: surface  # same closest_points / signed_distance interface
    placement.within = lambda surface, points, dist: np.isfinite(surface.signed_distance(points, dist))
    try:
        yield
    finally:
        placement.CachedNearest, placement.within = saved


def placement_case(contact_distance: float):
    """A 655k-vertex ball (9 cm) resting 2 mm deep on a 160k-vertex floor (72 cm, 1.8 mm grid); contact
    regions from scene_contact; the ball then displaced by 11.5 degrees and 5.4 cm."""
    ball = trimesh.creation.icosphere(subdivisions=8, radius=0.09)
    ball_v = np.asarray(ball.vertices) + [0.01, -0.02, 0.09 - 0.002]
    ball_f = np.asarray(ball.faces)
    xs = np.linspace(-0.36, 0.36, 400)
    x, y = np.meshgrid(xs, xs)
    floor_v = np.c_[x.ravel(), y.ravel(), np.zeros(x.size)]
    idx = np.arange(x.size).reshape(x.shape)
    a, b, c, d = idx[:-1, :-1].ravel(), idx[:-1, 1:].ravel(), idx[1:, 1:].ravel(), idx[1:, :-1].ravel()
    floor_f = np.r_[np.c_[a, b, c], np.c_[a, c, d]]  # faces +z
    contact = scene_contact(floor_v, floor_f, ball_v, ball_f, contact_distance)
    floor_idx, ball_idx = np.flatnonzero(contact.body.score > 0), np.flatnonzero(contact.object.score > 0)
    pivot = ball_v[ball_idx].mean(0)
    rot = Rotation.from_rotvec(np.radians([4.0, -6.0, 9.0])).as_matrix()
    moved = (ball_v - pivot) @ rot.T + pivot + [0.03, -0.02, 0.04]
    return floor_v, floor_f, moved, ball_f, floor_idx, ball_idx


def time_place(case) -> tuple[float, placement.PlacementResult]:
    t0 = time.perf_counter()
    result = placement.place(*case)
    return time.perf_counter() - t0, result


def main() -> None:
    contact_distance = 0.02
    body_v, body_f = uv_ellipsoid(1000, 1000, (0.18, 0.12, 0.85))  # ~1M vertices, body-sized (1.7 m tall)
    prop_v, prop_f = uv_ellipsoid(316, 316, (0.1, 0.1, 0.1))  # ~100k vertices, 20 cm ball
    prop_v = prop_v + np.float32([0.18 + 0.1 - 0.005, 0.0, 0.0])  # sunk 5 mm into the body's side
    print(f"body: {body_v.shape[0]} vertices {body_f.shape[0]} faces; prop: {prop_v.shape[0]} vertices")

    t0 = time.perf_counter()
    base = naive_kdtree(body_v.astype(np.float64), prop_v.astype(np.float64), contact_distance)
    t_base = time.perf_counter() - t0
    t0 = time.perf_counter()
    unpruned = unpruned_exact(body_v, body_f, prop_v, prop_f, contact_distance)
    t_unpruned = time.perf_counter() - t0
    t0 = time.perf_counter()
    result = scene_contact(body_v, body_f, prop_v, prop_f, contact_distance)
    t_ours = time.perf_counter() - t0
    s = result.summary()

    print(f"{'method':44s} {'time_s':>8s} {'body_contact':>13s} {'prop_contact':>13s} {'penetrating b/p':>16s}")
    print(f"{'baseline: naive cKDTree vertex-to-vertex':44s} {t_base:8.3f} {base[0]:13d} {base[1]:13d} {'n/a':>16s}")
    print(f"{'baseline: exact kernel, no AABB pruning':44s} {t_unpruned:8.3f} {unpruned[0]:13d} {unpruned[1]:13d} "
          f"{'n/a':>16s}")
    pen = f"{s['body']['penetrating_vertices']}/{s['object']['penetrating_vertices']}"
    print(f"{'ours: AABB prune + centroid tree + exact':44s} {t_ours:8.3f} {s['body']['contact_vertices']:13d} "
          f"{s['object']['contact_vertices']:13d} {pen:>16s}")
    print(f"max penetration depth body/prop: {s['body']['max_penetration_depth']:.4f} / "
          f"{s['object']['max_penetration_depth']:.4f} (placed 0.005 deep)")

    case = placement_case(contact_distance)
    print(f"\nplacement: floor {case[0].shape[0]} vertices, ball {case[2].shape[0]} vertices, "
          f"contact {case[4].size} / {case[5].size} vertices")
    with old_place_path():
        t_old, old = time_place(case)
    t_place, new = time_place(case)
    print(f"{'method':44s} {'time_s':>8s} {'residual_mean':>14s} {'penetrating':>12s} {'max |dT| vs old':>16s}")
    rows = (("baseline: old path (SurfaceQuery queries)", t_old, old),
            ("ours: cached candidates + band test", t_place, new))
    for name, t, r in rows:
        print(f"{name:44s} {t:8.3f} {r.residual_mean:14.6f} {r.penetrating_vertices:12d} "
              f"{np.abs(r.transform - old.transform).max():16.2e}")
    print(f"RESULT scene_contact_s={t_ours:.3f} place_s={t_place:.3f}")


if __name__ == "__main__":
    main()
