"""Small vector and mesh geometry shared by the bodies, the fit and the official views (numpy only)."""
from __future__ import annotations

import numpy as np


def unit(v: np.ndarray, eps: float = 1e-9) -> np.ndarray:
    """v (..., 3) scaled to length 1 along its last axis; a vector shorter than eps is divided by eps."""
    v = np.asarray(v)
    return v / np.maximum(np.linalg.norm(v, axis=-1, keepdims=True), eps)


def smallest_rotation(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(3, 3) the smallest rotation taking unit vector a onto unit vector b (Rodrigues); for opposite
    vectors, half a turn about the axis across a that is most perpendicular to it."""
    axis = np.cross(a, b)
    sin, cos = float(np.linalg.norm(axis)), float(np.clip(np.dot(a, b), -1.0, 1.0))
    if sin < 1e-9 and cos > 0:
        return np.eye(3)
    if sin < 1e-9:
        axis = np.cross(a, np.eye(3)[int(np.argmin(np.abs(a)))])
        sin = float(np.linalg.norm(axis))
        k = axis / sin
        return 2 * np.outer(k, k) - np.eye(3)
    k = axis / sin
    skew = np.array([[0, -k[2], k[1]], [k[2], 0, -k[0]], [-k[1], k[0], 0]])
    return np.eye(3) + sin * skew + (1 - cos) * skew @ skew


def vertex_normals(vertices: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """(N, 3) float64 area-weighted unit vertex normals: the sum of the incident faces' cross products,
    normalised (PyTorch3D's definition); a vertex in no face gets (0, 0, 0)."""
    vertices = np.asarray(vertices, dtype=np.float64)
    corners = vertices[faces]
    cross = np.cross(corners[:, 1] - corners[:, 0], corners[:, 2] - corners[:, 0])
    normals = np.zeros_like(vertices)
    for k in range(3):  # the three corners of every face, not a per-vertex loop
        np.add.at(normals, faces[:, k], cross)
    return unit(normals, 1e-12)
