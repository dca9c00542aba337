"""Body-to-body transfer onto a stand-in body whose mesh, proportions and pose differ from the source.

The stand-in is not Anny cut down: Anny's surface subdivided once (four times the triangles, other vertex
count and order), arms lowered by 40 degrees about the shoulders, legs 12% longer, 15% wider and 10% shallower.
Each of its vertices keeps its pre-image on the source, so a contact region's ground truth on it is exact.
(The error on the real SMPL-X <-> Anny pair is not measured here: no licensed data in the tests.)
"""
from __future__ import annotations

import numpy as np
import pytest

from backend.bodies.correspondence import Bridge, Surface, surface_of, transfer_rule, transfer_scores
from backend.bodies.parts import PART_ID

RADIUS = 0.08  # metres: a contact region of palm / sole size


@pytest.fixture(scope="module")
def stand_in(anny_body):
    import trimesh
    from scipy.spatial import cKDTree

    source = anny_body.canonical_vertices.astype(np.float64)
    vertices, faces = trimesh.remesh.subdivide(source, anny_body.faces)
    pre_image = vertices.copy()
    parts = anny_body.parts[cKDTree(source).query(pre_image)[1]]
    out = vertices.copy()
    for side, sign in (("left", 1.0), ("right", -1.0)):
        arm = np.isin(parts, [PART_ID[f"{side}_{p}"] for p in ("upper_arm", "forearm", "hand", "palm", "fingers")])
        upper = pre_image[parts == PART_ID[f"{side}_upper_arm"]]
        pivot = upper[np.argmin(np.abs(upper[:, 0]))]  # the shoulder end of the upper arm
        a = np.radians(-40.0 * sign)
        turn = np.array([[np.cos(a), 0, np.sin(a)], [0, 1, 0], [-np.sin(a), 0, np.cos(a)]])
        out[arm] = (out[arm] - pivot) @ turn.T + pivot
    hip = pre_image[parts == PART_ID["pelvis"]][:, 2].min()
    legs = out[:, 2] < hip
    out[legs, 2] = hip - (hip - out[legs, 2]) * 1.12
    out *= np.array([1.15, 0.9, 1.0])
    out[:, 2] -= out[:, 2].min()
    target = Surface("mesh", out.astype(np.float32), faces.astype(np.int32), parts)
    return target, pre_image


@pytest.mark.parametrize("part", ["left_palm", "right_sole", "buttocks", "head", "left_forearm", "chest",
                                  "right_thigh"])
def test_a_region_lands_on_the_same_place_of_another_body(anny_body, stand_in, part):
    from scipy.spatial import cKDTree

    target, pre_image = stand_in
    source = surface_of(anny_body)
    on_part = source.vertices[anny_body.parts == PART_ID[part]].astype(np.float64)
    seed = on_part[np.argmin(np.linalg.norm(on_part - on_part.mean(0), axis=1))]
    scores = (np.linalg.norm(source.vertices - seed, axis=1) < RADIUS).astype(np.float32)
    truth = np.linalg.norm(pre_image - seed, axis=1) < RADIUS
    predicted = transfer_scores(scores, source, target) >= 0.5
    f1 = 2 * (predicted & truth).sum() / (predicted.sum() + truth.sum())
    error_m = cKDTree(target.vertices[truth]).query(target.vertices[predicted])[0].mean()
    assert f1 >= 0.9 and error_m <= 0.02, (f1, error_m)
    assert transfer_rule(source, target) == "anny -> mesh by part-consistent nearest points"


def test_bridges_route_through_a_surface_with_geometry(anny_body, stand_in):
    """SMPL-H-like source without geometry: by index on its own count, by its matrix onto the bridged kind,
    through the bridge's geometry onto anything else, and a clear error when no geometry is known."""
    target, _ = stand_in
    middle = surface_of(anny_body)
    n = 50
    picks = np.arange(n) * (middle.n_vertices // n)
    matrix = np.zeros((middle.n_vertices, n), np.float32)
    matrix[picks, np.arange(n)] = 1.0
    blank = np.full((n, 3), np.nan, np.float32)
    source = Surface("smplh", blank, np.zeros((0, 3), np.int32), np.zeros(n, np.int16),
                     bridges=(Bridge(middle, matrix),), index_by_count=True)
    scores = np.linspace(0, 1, n).astype(np.float32)
    rig = Surface("mesh", np.zeros((n, 3), np.float32), np.zeros((0, 3), np.int32), np.zeros(n, np.int16))
    assert np.array_equal(transfer_scores(scores, source, rig), scores)
    assert transfer_rule(source, rig) == "smplh -> mesh by vertex index"
    np.testing.assert_array_equal(transfer_scores(scores, source, middle), matrix @ scores)
    assert transfer_rule(source, middle) == "smplh -> anny by matrix"
    assert transfer_scores(scores, source, target).shape == (target.n_vertices,)
    assert transfer_rule(source, target) == "smplh -> anny by matrix -> mesh by part-consistent nearest points"
    unknown = Surface("anny", np.full((middle.n_vertices, 3), np.nan, np.float32), middle.faces, middle.parts)
    lonely = Surface("smplh", blank, np.zeros((0, 3), np.int32), np.zeros(n, np.int16), bridges=(Bridge(unknown, matrix),))
    with pytest.raises(ValueError, match="SMPLX_NEUTRAL.npz"):
        transfer_scores(scores, lonely, target)
