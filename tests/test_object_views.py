"""The official object input ('color'), checked analytically: colours, framing, light terms on simple meshes.

Not compared pixel for pixel with PyTorch3D renders (no usable PyTorch3D wheel for torch 2.13 here)."""
from __future__ import annotations

import numpy as np
import pytest

from backend.cameras import look_at
from backend.localizers.interactvlm.localizer import normalised_cams
from backend.localizers.interactvlm.object_views import (colour_views, from_official_frame, object_cameras,
                                                         object_frame, vertex_colours)
from backend.render import render

# A 2 x 2 square in our x-z plane facing -y (the official front, +z in PyTorch3D's frame).
SQUARE_V = np.array([(-1, 0, -1), (1, 0, -1), (1, 0, 1), (-1, 0, 1)], np.float32)
SQUARE_F = np.array([(0, 1, 2), (0, 2, 3)], np.int32)


def test_colours_are_bbox_normalised_official_xyz():
    box = np.array([(x, y, z) for x in (1.0, 3.0) for y in (-2.0, 2.0) for z in (0.0, 1.0)])
    colours = vertex_colours(box)
    # red follows our x, green our z (up), blue our -y (front): official (x, y, z) = ours (x, z, -y)
    corner = np.flatnonzero((box == (1.0, -2.0, 1.0)).all(1))[0]
    np.testing.assert_allclose(colours[corner], (0.1, 0.9, 0.9))
    opposite = np.flatnonzero((box == (3.0, 2.0, 0.0)).all(1))[0]
    np.testing.assert_allclose(colours[opposite], (0.9, 0.1, 0.1))
    assert colours.min() == pytest.approx(0.1) and colours.max() == pytest.approx(0.9)
    np.testing.assert_allclose(vertex_colours(SQUARE_V)[:, 2], 0.5)  # a flat axis: the middle colour


def test_framing_centroid_largest_side_distance_and_angles():
    box = np.array([(x, y, z) for x in (0.0, 0.4) for y in (0.0, 0.1) for z in (0.0, 0.2)])
    vertices = np.concatenate([box, np.repeat(box[:1], 12, axis=0)])  # centroid pulled towards one corner
    frame = object_frame(vertices)
    assert frame.scale == pytest.approx(0.4)
    np.testing.assert_allclose(frame.centroid, vertices.mean(0))
    cameras = object_cameras(vertices, "4MV-Z_HM", 65)
    assert [c.name for c in cameras] == ["frontleft", "frontright", "backleft", "backright"]
    angles = {"frontleft": (45, 315), "frontright": (45, 45), "backleft": (330, 135), "backright": (330, 225)}
    for camera in cameras:
        position = -camera.rotation.T @ camera.translation
        e, a = np.radians(angles[camera.name])
        official = np.array([np.cos(e) * np.sin(a), np.sin(e), np.cos(e) * np.cos(a)])  # PyTorch3D look_at
        np.testing.assert_allclose(position, frame.centroid + 1.5 * 0.4 * from_official_frame(official), atol=1e-9)
        seen = camera.rotation @ frame.centroid + camera.translation  # the centroid is the image centre
        assert seen[0] == pytest.approx(0, abs=1e-9) and seen[1] == pytest.approx(0, abs=1e-9)
        assert camera.focal == pytest.approx(32.5 / np.tan(np.radians(30)))  # FoV 60
    # the encoder still gets the camera numbers of distance 2
    np.testing.assert_allclose(normalised_cams("4MV-Z_HM")[:, 0], 0.2)


def test_framing_and_colours_do_not_depend_on_size_or_position():
    import trimesh

    mesh = trimesh.creation.capsule(height=1.0, radius=0.3, count=[12, 12])
    vertices, faces = mesh.vertices.astype(np.float32), mesh.faces.astype(np.int32)
    small = render(vertices, faces, object_cameras(vertices, size=48))
    moved = vertices * 7.0 + np.array([3.0, -2.0, 1.0], np.float32)
    large = render(moved, faces, object_cameras(moved, size=48))
    assert (small.tri_ids == large.tri_ids).mean() > 0.999
    same = (small.tri_ids == large.tri_ids) & (small.tri_ids >= 0)
    diff = np.abs(colour_views(small).astype(int) - colour_views(large).astype(int))
    assert diff[same].max() <= 1 and (colour_views(small)[small.tri_ids < 0] == 255).all()


def test_light_terms_ambient_diffuse_specular():
    """Camera and the view's light at the same point, 6 in front of the square: closed-form Phong terms."""
    size, distance = 65, 6.0
    camera = look_at("front", np.zeros(3), np.array([0.0, -1.0, 0.0]), distance, size, fov_deg=20.0)
    views = render(SQUARE_V, SQUARE_F, [camera] * 4)  # views 0, 1: light in front; 2, 3: light behind
    images = colour_views(views).astype(int)
    # the light of views 0/1: official (0, 0, 3) x largest side (2) = ours (0, -6, 0), i.e. at the camera
    row = 32
    cols = np.flatnonzero(views.tri_ids[0, row] >= 0)
    a = (cols + 0.5 - size / 2) / camera.focal * distance  # x of each pixel's point on the square
    cos = distance / np.sqrt(a**2 + distance**2)  # normal . direction to the light
    specular = 0.2 * ((distance**2 - a**2) / (a**2 + distance**2)) ** 64  # (eye . reflection)^64
    red = (a + 1) / 2 * 0.8 + 0.1  # texel colours
    green = 0.5
    expected_green = np.floor(((0.5 + 0.3 * cos) * green + specular) * 255)
    assert np.abs(images[0, row, cols, 1] - expected_green).max() <= 1
    expected_red = np.floor(((0.5 + 0.3 * cos) * red + specular) * 255)
    assert np.abs(images[1, row, cols, 0] - expected_red).max() <= 1
    centre = images[0, row, size // 2]
    assert np.abs(centre - 153).max() <= 1  # (0.5 + 0.3) * 0.5 + 0.2 = 0.6
    # lit from behind: the diffuse and specular terms vanish, ambient alone (0.5 x colour)
    assert np.abs(images[2, row, cols, 0] - np.floor(0.5 * red * 255)).max() <= 1
    assert np.abs(images[3, row, size // 2] - 63).max() <= 1  # 0.5 * 0.5 = 0.25
    assert (images[0][views.tri_ids[0] < 0] == 255).all()  # white background


def test_views_without_their_mesh_are_refused_clearly():
    views = render(SQUARE_V, SQUARE_F, object_cameras(SQUARE_V, size=16))
    views.vertices = None
    with pytest.raises(ValueError, match="needs the rendered mesh's vertices"):
        colour_views(views)
    with pytest.raises(ValueError, match="no extent"):
        object_frame(np.zeros((3, 3)))
