"""The official render conventions: camera placement and normal-colour images."""
from __future__ import annotations

import numpy as np
import pytest

from backend.cameras import body_rig
from backend.localizers.interactvlm.official_views import normal_colour_views, official_cameras
from backend.render import render


def test_official_human_rig_looks_from_above_and_below(ellipsoid):
    vertices, faces = ellipsoid
    cameras = official_cameras(vertices, "4MV-Z_Vitru", 64)
    assert [c.name for c in cameras] == ["topfront", "bottomfront", "topback", "bottomback"]
    centres = np.array([-c.rotation.T @ c.translation for c in cameras])
    target = (vertices.min(0) + vertices.max(0)) / 2
    # elevation +45 above, -45 below (the bottom views' 0.3 shift moves the camera down a little more)
    assert centres[0, 2] > target[2] + 1.0 and centres[1, 2] < target[2] - 1.0
    assert centres[0, 1] < target[1] and centres[2, 1] > target[1]  # front views at -Y (the body's front)
    assert centres[0, 0] < target[0]  # azimuth 315: on the body's right (-X)
    views = render(vertices, faces, cameras)
    assert (views.tri_ids >= 0).any(axis=(1, 2)).all()  # the body is in every view
    with pytest.raises(ValueError, match="unknown official view type"):
        official_cameras(vertices, "8MV")


def test_normal_colours_follow_the_smpl_frame(ellipsoid):
    vertices, faces = ellipsoid
    views = render(vertices, faces, body_rig(vertices, 64))  # front, back, left, right
    colours = normal_colour_views(views)
    assert colours.shape == (4, 64, 64, 3) and colours.dtype == np.uint8
    assert (colours[views.tri_ids < 0] == 255).all()  # white background, as the official renders
    centre = np.median(colours[:, 30:35, 30:35].reshape(4, -1, 3), axis=1)  # flat faces tilt single pixels
    # SMPL frame: z = the body's front, x = its left. Front view centre: normal (0,0,1) -> (128,128,255).
    np.testing.assert_allclose(centre[0], [128, 128, 255], atol=24)
    np.testing.assert_allclose(centre[1], [128, 128, 0], atol=24)  # back
    np.testing.assert_allclose(centre[2], [255, 128, 128], atol=24)  # left side, normal +x
    np.testing.assert_allclose(centre[3], [0, 128, 128], atol=24)  # right side
