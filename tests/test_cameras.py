import numpy as np
import trimesh

from backend.cameras import BODY_VIEW_NAMES, body_rig, object_rig
from backend.render import render


def test_body_rig_frames_the_whole_body_in_every_view(anny_body):
    views = render(anny_body.canonical_vertices, anny_body.faces, body_rig(anny_body.canonical_vertices, size=128))
    assert [c.name for c in views.cameras] == list(BODY_VIEW_NAMES)
    for i in range(4):
        fg = views.tri_ids[i] >= 0
        assert not (fg[0].any() or fg[-1].any() or fg[:, 0].any() or fg[:, -1].any())
        rows = np.nonzero(fg.any(1))[0]
        assert rows[-1] - rows[0] > 0.8 * 128  # the body's height fills the view


def test_front_camera_sees_the_front():
    # A box with a bump on its -Y (front) side: only front-facing views show the bump's triangles.
    body = trimesh.creation.box(extents=(0.4, 0.2, 1.7))
    bump = trimesh.creation.icosphere(subdivisions=2, radius=0.05)
    bump.apply_translation((0.0, -0.12, 0.3))
    mesh = trimesh.util.concatenate([body, bump])
    bump_faces = np.arange(len(body.faces), len(mesh.faces))
    views = render(mesh.vertices, mesh.faces, body_rig(mesh.vertices, size=128))
    seen = [np.isin(views.tri_ids[i], bump_faces).sum() for i in range(4)]
    front, back, left, right = seen
    assert front > 20 and back == 0
    assert left > 0 and right > 0  # it sticks out, so both side views see it a little


def test_object_rig_sees_the_top():
    box = trimesh.creation.box(extents=(0.5, 0.5, 0.5))
    top = np.nonzero(box.face_normals[:, 2] > 0.9)[0]
    views = render(box.vertices, box.faces, object_rig(box.vertices, size=64))
    for i in range(4):
        assert np.isin(views.tri_ids[i], top).sum() > 100
