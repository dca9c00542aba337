"""Exact scene contact: analytic sphere/plane and sphere/box cases, a brute-force cross-check."""
from __future__ import annotations

import numpy as np
import pytest
import trimesh

from backend.scene_contact import SurfaceQuery, closest_points_on_triangles, scene_contact

T = 0.02  # contact distance


def plane(size: float = 0.3, n: int = 61, z: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """Open square grid in z=const, normals +z."""
    xs = np.linspace(-size, size, n)
    x, y = np.meshgrid(xs, xs)
    v = np.c_[x.ravel(), y.ravel(), np.full(n * n, z)]
    idx = np.arange(n * n).reshape(n, n)
    a, b, c, d = idx[:-1, :-1].ravel(), idx[:-1, 1:].ravel(), idx[1:, 1:].ravel(), idx[1:, :-1].ravel()
    return v, np.r_[np.c_[a, b, c], np.c_[a, c, d]]


def sphere(radius: float = 0.1, bottom: float = 0.0) -> trimesh.Trimesh:
    """UV sphere (has a south pole vertex) whose lowest point is at z=bottom."""
    s = trimesh.creation.uv_sphere(radius=radius, count=[48, 48])
    s.apply_translation([0, 0, bottom - s.vertices[:, 2].min()])
    return s


def brute_distance(points: np.ndarray, vertices: np.ndarray, faces: np.ndarray) -> np.ndarray:
    tri = vertices[faces]
    p = np.repeat(points, len(faces), 0)
    t = np.tile(tri, (len(points), 1, 1))
    c, _ = closest_points_on_triangles(p, t[:, 0], t[:, 1], t[:, 2])
    return np.linalg.norm(p - c, axis=1).reshape(len(points), len(faces)).min(1)


def test_closest_point_matches_dense_sampling():
    rng = np.random.default_rng(0)
    a, b, c = (rng.normal(size=(200, 3)) for _ in range(3))
    p = rng.normal(size=(200, 3)) * 2
    closest, bary = closest_points_on_triangles(p, a, b, c)
    d = np.linalg.norm(p - closest, axis=1)
    u, v = np.meshgrid(np.linspace(0, 1, 120), np.linspace(0, 1, 120))
    keep = (u + v) <= 1
    u, v = u[keep], v[keep]
    samples = a[:, None] + u[None, :, None] * (b - a)[:, None] + v[None, :, None] * (c - a)[:, None]
    sampled = np.linalg.norm(samples - p[:, None], axis=2).min(1)
    assert np.all(d <= sampled + 1e-12)  # never worse than any sample
    assert np.all(sampled - d < 0.05)  # and as good as the sampling resolution allows
    assert np.allclose(bary.sum(1), 1) and (bary >= -1e-12).all()


def test_sphere_resting_on_plane_touches_exactly_cap_and_plane_under_it():
    s = sphere(bottom=0.0)
    pv, pf = plane()
    result = scene_contact(s.vertices, s.faces, pv, pf, T)
    body, obj = result.body, result.object
    # sphere side: distance to the (flat, larger) plane is the vertex height
    expected = s.vertices[:, 2] <= T
    assert np.array_equal(body.score > 0, expected & (s.vertices[:, 2] < T))
    assert np.array_equal(body.distance <= T, expected)
    assert np.allclose(body.distance[expected], s.vertices[expected, 2], atol=1e-6)
    assert body.score[np.argmin(s.vertices[:, 2])] == pytest.approx(1.0)
    assert not body.penetrating.any() and not obj.penetrating.any()
    # plane side: exact against brute force; and within the analytic disc under the sphere
    near = np.linalg.norm(pv[:, :2], axis=1) < 0.1
    ref = np.full(len(pv), np.inf)
    ref[near] = brute_distance(pv[near], s.vertices, s.faces)
    assert np.array_equal(obj.distance <= T, ref <= T)
    assert np.allclose(obj.distance[ref <= T], ref[ref <= T], atol=1e-6)
    analytic = np.sqrt((pv[:, :2] ** 2).sum(1) + 0.1**2) - 0.1  # to the true sphere
    assert (obj.distance <= T)[analytic < T - 2e-3].all()  # 2 mm: tessellation sagitta margin
    assert not (obj.distance <= T)[analytic > T + 2e-3].any()
    assert 0 < (obj.distance <= T).sum() < 0.05 * len(pv)
    summary = result.summary()
    assert summary["in_contact"] and not summary["penetration"]
    assert summary["body"]["contact_vertices"] == int((body.score > 0).sum())


def test_far_apart_no_contact_and_clear_report():
    s = sphere(bottom=1.0)
    pv, pf = plane()
    result = scene_contact(s.vertices, s.faces, pv, pf, T)
    summary = result.summary()
    assert not summary["in_contact"] and not summary["penetration"]
    assert summary["body"]["contact_vertices"] == 0 and summary["object"]["contact_vertices"] == 0
    assert "no contact" in summary["message"]
    assert (result.body.score == 0).all() and np.isinf(result.object.distance).all()


@pytest.mark.parametrize("sink", [0.01, 0.15])  # shallow (within the contact distance) and deep (unbounded path)
def test_sphere_sunk_into_box_reports_penetration(sink):
    s = sphere(radius=0.1, bottom=-sink)
    box = trimesh.creation.box(extents=[1.0, 1.0, 1.0])
    box.apply_translation([0, 0, -0.5])  # top face at z=0
    result = scene_contact(s.vertices, s.faces, box.vertices, box.faces, T)
    body = result.body
    below = s.vertices[:, 2] < -1e-9
    assert np.array_equal(body.penetrating, below)
    assert np.allclose(body.depth[below], -s.vertices[below, 2], atol=1e-6)
    assert result.summary()["body"]["max_penetration_depth"] == pytest.approx(sink, abs=1e-6)
    assert (body.score[below] == 1).all()
    assert not result.object.penetrating.any()  # box corners are far outside the sphere
    assert result.summary()["penetration"]


def test_open_plane_counts_points_behind_it_as_penetrating():
    s = sphere(bottom=-0.01)
    pv, pf = plane()
    result = scene_contact(s.vertices, s.faces, pv, pf, T)
    assert np.array_equal(result.body.penetrating, s.vertices[:, 2] < -1e-9)


def test_sunk_deeper_than_the_contact_distance_into_an_open_floor_is_penetration():
    s = sphere(bottom=-0.05)  # 5 cm deep, the contact distance is 2 cm: the floor's flat box is grown
    pv, pf = plane()
    result = scene_contact(s.vertices, s.faces, pv, pf, T)
    below = s.vertices[:, 2] < -1e-9
    assert np.array_equal(result.body.penetrating, below)
    assert np.allclose(result.body.depth[below], -s.vertices[below, 2], atol=1e-6)
    # ...but not points below and beyond the floor's edge, nor far below it (outside the grown box)
    outside = np.array([[0.5, 0.0, -0.1], [0.0, 0.0, -0.4]])
    beyond = scene_contact(outside, np.array([[0, 1, 0]]), pv, pf, T)
    assert not beyond.body.penetrating.any()


def test_bounded_query_is_exact_on_mixed_triangle_sizes():
    # a fine sphere plus two huge triangles: the certificate fails often and the fallback must fix it
    s = trimesh.creation.icosphere(subdivisions=3, radius=0.1)
    pv = np.array([[-1, -1, -0.12], [1, -1, -0.12], [1, 1, -0.12], [-1, 1, -0.12]])
    vertices = np.r_[s.vertices, pv]
    faces = np.r_[s.faces, np.array([[0, 1, 2], [0, 2, 3]]) + len(s.vertices)]
    query = SurfaceQuery(vertices, faces)
    points = np.random.default_rng(1).normal(size=(400, 3)) * 0.1
    dist, _, _ = query.nearest(points, 0.03)
    ref = brute_distance(points, vertices.astype(np.float32).astype(np.float64), faces)
    assert np.array_equal(np.isfinite(dist), ref <= 0.03)
    assert np.allclose(dist[np.isfinite(dist)], ref[ref <= 0.03], atol=1e-9)
    signed = query.signed_distance(points)  # unbounded: exact to within the mesh radius
    assert np.all(np.abs(np.abs(signed) - ref) <= query.radius + 1e-9)


def test_bad_inputs_raise_clear_errors():
    s = sphere()
    with pytest.raises(ValueError, match="contact_distance"):
        scene_contact(s.vertices, s.faces, s.vertices, s.faces, contact_distance=0)
    with pytest.raises(ValueError, match="object: face indices"):
        scene_contact(s.vertices, s.faces, s.vertices, s.faces + 10_000)
    with pytest.raises(ValueError, match="body: .*triangles"):
        scene_contact(s.vertices, np.zeros((4, 4), int), s.vertices, s.faces)
