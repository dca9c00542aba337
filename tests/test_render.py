import numpy as np
import pytest
import trimesh

from backend.cameras import body_rig, object_rig
from backend.render import render


def reference_tri_ids(vertices, faces, camera):
    """Independent id buffer: one Embree/trimesh ray through every pixel centre."""
    h, w = camera.height, camera.width
    cols, rows = np.meshgrid(np.arange(w) + 0.5, np.arange(h) + 0.5)
    cx, cy = camera.principal
    rays_cam = np.stack([(cols - cx) / camera.focal, (rows - cy) / camera.focal, np.ones_like(cols)], -1).reshape(-1, 3)
    origin = -camera.rotation.T @ camera.translation
    directions = rays_cam @ camera.rotation
    # float64 vertices: the reference should not share our float32 round-off.
    mesh = trimesh.Trimesh(np.asarray(vertices, np.float64), faces, process=False)
    _, ray_index, tri_index = mesh.ray.intersects_location(
        np.repeat(origin[None], len(directions), 0), directions, multiple_hits=False)
    ids = np.full(h * w, -1)
    ids[ray_index] = tri_index
    return ids.reshape(h, w)


@pytest.mark.parametrize("shape", ["ellipsoid", "box", "torus"])
def test_id_buffer_matches_ray_casting(shape, ellipsoid):
    if shape == "ellipsoid":
        vertices, faces = ellipsoid
    elif shape == "box":  # 12 huge triangles filling the view
        box = trimesh.creation.box(extents=(1.0, 0.6, 0.4))
        vertices, faces = box.vertices, box.faces
    else:  # self-occluding shape
        torus = trimesh.creation.torus(major_radius=0.5, minor_radius=0.15)
        vertices, faces = torus.vertices, torus.faces
    cameras = object_rig(vertices, size=96) + body_rig(vertices, size=96)
    views = render(vertices, faces, cameras)
    for i, camera in enumerate(cameras):
        agree = (reference_tri_ids(vertices, faces, camera) == views.tri_ids[i]).mean()
        assert agree >= 0.995, (shape, camera.name, agree)


def test_barycentrics_and_depth_are_consistent(ellipsoid):
    vertices, faces = ellipsoid
    views = render(vertices, faces, body_rig(vertices, size=64))
    fg = views.tri_ids >= 0
    assert np.allclose(views.bary[fg].sum(-1), 1.0, atol=1e-4)
    assert (views.bary[fg] >= 0).all()
    assert np.isinf(views.depth[~fg]).all() and np.isfinite(views.depth[fg]).all()
    assert (views.shaded[~fg] == 255).all() and (views.shaded[fg] < 255).all()
    # The barycentric point of each pixel lies on the ray through that pixel at the stored depth.
    cam = views.cameras[0]
    rows, cols = np.nonzero(fg[0])
    tri = views.tri_ids[0][rows, cols]
    points = (views.bary[0][rows, cols][:, :, None] * vertices[faces[tri]]).sum(1)
    local = points @ cam.rotation.T + cam.translation
    assert np.allclose(local[:, 2], views.depth[0][rows, cols], rtol=1e-3)
    u = local[:, 0] / local[:, 2] * cam.focal + cam.principal[0]
    assert np.abs(u - (cols + 0.5)).max() < 0.02


@pytest.mark.parametrize("bad_vertices, bad_faces, message", [
    (np.zeros((0, 3)), np.zeros((0, 3), int), "no vertices"),
    (np.zeros((3, 3)), np.array([[0, 1, 5]]), "face indices"),
    (np.array([[0, 0, 0], [1, 0, np.nan], [0, 1, 0]]), np.array([[0, 1, 2]]), "NaN"),
    (np.eye(4, 3), np.array([[0, 1, 2, 3]]), "triangulate"),
    (np.eye(3), np.zeros((0, 3), int), "no faces"),
    (np.zeros((3, 2)), np.array([[0, 1, 2]]), "shape"),
])
def test_bad_meshes_raise_clear_errors(bad_vertices, bad_faces, message, ellipsoid):
    cameras = body_rig(ellipsoid[0], size=16)
    with pytest.raises(ValueError, match=message):
        render(bad_vertices, bad_faces, cameras)


def test_meshes_partly_outside_or_behind_the_camera_do_not_crash(ellipsoid):
    vertices, faces = ellipsoid
    camera = body_rig(vertices, size=64)[0]
    shifted = vertices + np.array([0.0, -2.5, 0.0])  # straddles the camera plane
    views = render(shifted, faces, [camera])
    assert views.tri_ids.shape == (1, 64, 64)


def test_render_reports_progress_per_view_and_can_stop_inside(ellipsoid):
    from backend.cameras import body_rig
    from backend.progress import Steps

    vertices, faces = ellipsoid
    cameras = body_rig(vertices, 64)
    fractions: list[float] = []
    render(vertices, faces, cameras, steps=Steps(lambda fraction, message=None: fractions.append(fraction)))
    assert len(set(fractions)) >= len(cameras) and fractions == sorted(fractions) and fractions[-1] == 1.0

    class Stop(Exception):
        pass

    def stop_in_second_view(fraction: float, message: str | None = None) -> None:
        if fraction > 1.0 / len(cameras):
            raise Stop()

    with pytest.raises(Stop):
        render(vertices, faces, cameras, steps=Steps(stop_in_second_view))
