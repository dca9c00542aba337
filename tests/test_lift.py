import numpy as np
import pytest

from backend.cameras import body_rig
from backend.lift import lift, project
from backend.render import render


@pytest.fixture(scope="module")
def views(ellipsoid):
    vertices, faces = ellipsoid
    return render(vertices, faces, body_rig(vertices, size=256))


def test_mask_on_one_triangle_lifts_to_its_vertices(views):
    counts = np.bincount(views.tri_ids[0][views.tri_ids[0] >= 0])
    triangle = int(counts.argmax())
    masks = np.zeros(views.tri_ids.shape, np.float32)
    masks[0][views.tri_ids[0] == triangle] = 1.0
    scores, seen = lift(views, masks)
    corners = views.faces[triangle]
    assert (scores[corners] > 0).all()
    others = np.setdiff1d(np.arange(views.n_vertices), corners)
    assert (scores[others] == 0).all()


def test_round_trip_recovers_smooth_labels(views, ellipsoid):
    vertices, _ = ellipsoid
    rng = np.random.default_rng(0)
    direction = rng.normal(size=3)
    field = np.sin(vertices @ direction * 4.0) + 0.5 * np.cos(vertices[:, 2] * 6.0)
    labels = (field > 0.2).astype(np.float32)
    scores, seen = lift(views, project(views, labels))
    visible = seen > 0
    assert visible.mean() > 0.9
    predicted, truth = scores[visible] >= 0.5, labels[visible] >= 0.5
    iou = (predicted & truth).sum() / (predicted | truth).sum()
    assert iou >= 0.95, iou


def test_unseen_vertices_score_zero(views):
    scores, seen = lift(views, np.ones(views.tri_ids.shape, np.float32))
    assert (scores[seen == 0] == 0).all()
    assert np.allclose(scores[seen > 0], 1.0)
    assert seen.max() <= views.n_views


@pytest.mark.parametrize("bad", [
    np.zeros((3, 256, 256)),  # wrong number of views
    np.zeros((4, 128, 128)),  # wrong size
    np.full((4, 256, 256), 2.0),  # out of range
    np.full((4, 256, 256), np.nan),
])
def test_bad_masks_raise(views, bad):
    with pytest.raises(ValueError, match="mask"):
        lift(views, bad)


def test_project_rejects_wrong_label_count(views):
    with pytest.raises(ValueError, match="one per vertex"):
        project(views, np.zeros(5))
