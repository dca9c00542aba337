"""The placement's cached queries give SurfaceQuery's own answers (they only skip provably redundant work)."""
from __future__ import annotations

import numpy as np
import trimesh

from backend.scene_contact import SurfaceQuery
from backend.surface_cache import CachedNearest, within


def bumpy_sphere(seed: int) -> tuple[np.ndarray, np.ndarray]:
    sphere = trimesh.creation.icosphere(subdivisions=3)
    rng = np.random.default_rng(seed)
    vertices = sphere.vertices * (1.0 + 0.05 * rng.standard_normal((len(sphere.vertices), 1)))
    return vertices, sphere.faces.astype(np.int32)


def test_cached_nearest_matches_the_surface_query_while_points_move():
    vertices, faces = bumpy_sphere(0)
    surface = SurfaceQuery(vertices, faces, "mesh")
    cached = CachedNearest(surface)
    rng = np.random.default_rng(1)
    points = rng.normal(size=(400, 3)) * rng.uniform(0.5, 1.5, (400, 1))
    # steps as the solver takes them: 1e-8 (Jacobian), micrometres, millimetres, then a jump
    for step in (0.0, 1e-8, 1e-6, 1e-3, 1e-2, 0.3):
        points = points + rng.normal(scale=step, size=points.shape)
        np.testing.assert_allclose(cached.closest_points(points), surface.closest_points(points), atol=1e-10)
        np.testing.assert_allclose(cached.signed_distance(points), surface.signed_distance(points), atol=1e-10)


def test_within_is_the_band_test_of_signed_distance():
    vertices, faces = bumpy_sphere(2)
    surface = SurfaceQuery(vertices, faces, "mesh")
    rng = np.random.default_rng(3)
    directions = rng.normal(size=(2000, 3))
    points = directions / np.linalg.norm(directions, axis=1, keepdims=True) * rng.uniform(0.5, 1.5, (2000, 1))
    for band in (0.005, 0.05, 0.2):
        expected = np.isfinite(surface.signed_distance(points, band))
        assert expected.any() and not expected.all()
        np.testing.assert_array_equal(within(surface, points, band), expected)
