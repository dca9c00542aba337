"""Our lift equals the official lifting modules on a fixed input (goldens from the official code).

tests/data/interactvlm_goldens/lift.npz was written by scripts/official_goldens.py, which ran the official
HumanContact3DPredictor and ObjectMeshContact3DPredictor (model/components.py @ 79b4bf2) on official-format
pixel->vertex / barycentric maps and mask logits stored in the same file.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from backend.lift import LiftRule, lift
from backend.render import RenderedViews

GOLDEN = Path(__file__).parent / "data" / "interactvlm_goldens" / "lift.npz"


@pytest.fixture(scope="module")
def golden() -> dict[str, np.ndarray]:
    with np.load(GOLDEN) as data:
        return {k: data[k] for k in data.files}


def views_from_official_maps(p2v: np.ndarray, bary: np.ndarray, n_vertices: int) -> RenderedViews:
    """RenderedViews whose faces are the vertex triples the official maps name (one face per distinct triple)."""
    covered = p2v[..., 0] >= 0
    faces, inverse = np.unique(p2v[covered].reshape(-1, 3), axis=0, return_inverse=True)
    tri_ids = np.full(covered.shape, -1, np.int32)
    tri_ids[covered] = inverse.reshape(-1)
    n, h, w = covered.shape
    return RenderedViews(cameras=[None] * n, faces=faces.astype(np.int32), n_vertices=n_vertices, tri_ids=tri_ids,
                         bary=np.where(covered[..., None], bary, 0).astype(np.float32),
                         depth=np.where(covered, 1.0, np.inf).astype(np.float32),
                         shaded=np.full((n, h, w), 255, np.uint8))


def official_probabilities(logits: np.ndarray) -> np.ndarray:
    """The localizer's masks: sigmoid of logits clamped to [-20, 20] (inputs.masks_to_views)."""
    return (1.0 / (1.0 + np.exp(-np.clip(logits.astype(np.float64), -20.0, 20.0)))).astype(np.float32)


def test_human_lift_equals_the_official_human_predictor(golden):
    views = views_from_official_maps(golden["pixel_to_vertex"], golden["bary"], int(golden["n_vertices"]))
    scores, seen = lift(views, official_probabilities(golden["logits"]))
    np.testing.assert_allclose(scores, golden["human_scores"], atol=1e-5, rtol=0)
    assert seen.max() >= 2 and np.ptp(golden["human_scores"]) > 0.3


def test_object_lift_equals_the_official_object_predictor(golden):
    views = views_from_official_maps(golden["pixel_to_vertex"], golden["bary"], int(golden["n_vertices"]))
    masks = official_probabilities(golden["logits"])
    scores, _ = lift(views, masks, LiftRule(min_pixel_probability=0.3))
    np.testing.assert_allclose(scores, golden["object_scores"], atol=1e-5, rtol=0)
    # the goldens discriminate: the all-pixels rule gives other scores, and some vertices get no vote at all
    plain, _ = lift(views, masks)
    assert np.abs(plain - golden["object_scores"]).max() > 0.1
    assert (golden["object_scores"] == 0).any() and (golden["object_scores"] > 0.5).any()


def test_the_pixel_rule_keeps_a_view_that_selected_the_vertex():
    """The issue's example: a vertex at 0.6 in one view and 0.1 in three scores 0.6 (all pixels: 0.225)."""
    p2v = np.zeros((4, 1, 2, 3), np.int64)
    p2v[:, 0, 1] = -1  # one background pixel per view
    bary = np.zeros((4, 1, 2, 3), np.float32)
    bary[:, 0, 0] = (1.0, 0.0, 0.0)
    views = views_from_official_maps(p2v, bary, 1)
    masks = np.array([0.6, 0.1, 0.1, 0.1], np.float32)[:, None, None] * np.ones((4, 1, 2), np.float32)
    official, seen = lift(views, masks, LiftRule(min_pixel_probability=0.3))
    plain, _ = lift(views, masks)
    assert official[0] == pytest.approx(0.6) and plain[0] == pytest.approx(0.225) and seen[0] == 4
