"""backend.geometry: rotations that are rotations (also for opposite vectors), unit vectors, outward normals."""
import numpy as np
import pytest

from backend.geometry import smallest_rotation, unit, vertex_normals


def _pairs() -> list[tuple[np.ndarray, np.ndarray]]:
    rng = np.random.default_rng(3)
    a = unit(rng.normal(size=(6, 3)))
    b = unit(rng.normal(size=(6, 3)))
    near = unit(-a[0] + 1e-7 * np.array([0.0, 1.0, 0.0]))
    z = np.array([0.0, 0.0, 1.0])
    return [*zip(a, b), (a[0], a[0]), (a[1], -a[1]), (a[0], near), (z, -z)]


@pytest.mark.parametrize("a,b", _pairs())
def test_smallest_rotation_is_a_rotation_taking_a_onto_b(a, b):
    turn = smallest_rotation(a, b)
    np.testing.assert_allclose(turn @ a, b, atol=1e-6)
    np.testing.assert_allclose(turn @ turn.T, np.eye(3), atol=1e-9)
    assert np.linalg.det(turn) == pytest.approx(1.0)


def test_smallest_rotation_leaves_the_plane_normal_alone():
    a, b = np.array([1.0, 0.0, 0.0]), np.array([0.0, 1.0, 0.0])
    np.testing.assert_allclose(smallest_rotation(a, b) @ [0.0, 0.0, 1.0], [0.0, 0.0, 1.0], atol=1e-12)


def test_unit_works_per_row_and_keeps_zero_vectors_zero():
    rows = unit(np.array([[3.0, 4.0, 0.0], [0.0, 0.0, 0.0]]))
    np.testing.assert_allclose(rows, [[0.6, 0.8, 0.0], [0.0, 0.0, 0.0]])
    np.testing.assert_allclose(unit(np.array([0.0, 2.0, 0.0])), [0.0, 1.0, 0.0])


def test_vertex_normals_of_a_tetrahedron_point_outwards():
    vertices = np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0], [0, 0, 1]], np.float32)
    faces = np.array([[0, 2, 1], [0, 1, 3], [0, 3, 2], [1, 2, 3]])
    normals = vertex_normals(vertices, faces)
    assert normals.dtype == np.float64
    np.testing.assert_allclose(np.linalg.norm(normals, axis=1), 1.0)
    assert (np.einsum("ij,ij->i", normals, vertices - vertices.mean(0)) > 0).all()
