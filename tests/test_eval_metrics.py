"""DECO contact metrics and PIAD affordance metrics on small hand-computed cases."""
from __future__ import annotations

import math

import numpy as np
import pytest

from backend.eval.affordance_metrics import aiou, auc, mae, mean_affordance, score_affordance, sim
from backend.eval.metrics import (ContactScores, geodesic_errors, mean_interval, mean_scores, precision_recall_f1,
                                 score_contact)


def test_precision_recall_f1_basic():
    assert precision_recall_f1(np.array([1, 1, 0, 0.0]), np.array([1, 0, 1, 0])) == pytest.approx((0.5, 0.5, 0.5))
    # scores are thresholded at 0.5 inclusive: 0.6 and 0.5 are predictions, 0.4 is not
    p, r, f = precision_recall_f1(np.array([0.6, 0.4, 0.5, 0.1]), np.array([1, 1, 1, 0]))
    assert (p, r, f) == pytest.approx((1.0, 2 / 3, 0.8))


def test_precision_recall_f1_deco_edge_cases():
    gt = np.array([1, 0, 0, 0])
    assert precision_recall_f1(np.zeros(4), gt) == (1.0, 0.0, 0.0)  # no prediction
    assert precision_recall_f1(np.ones(4), np.zeros(4)) == (0.0, 1.0, 0.0)  # no ground truth
    assert precision_recall_f1(np.zeros(4), np.zeros(4)) == (1.0, 0.0, 0.0)  # neither: "no prediction" wins
    assert precision_recall_f1(np.array([0, 1, 0, 0]), gt) == (0.0, 0.0, 0.0)  # disjoint


def test_precision_recall_f1_rejects_mismatched_meshes():
    with pytest.raises(ValueError, match="same mesh"):
        precision_recall_f1(np.zeros(5), np.zeros(4))
    with pytest.raises(ValueError, match="1-D"):
        precision_recall_f1(np.zeros((2, 2)), np.zeros(4))


def strip(n: int = 5, spacing: float = 0.01):
    """A triangle strip: bottom row b_i = i, top row t_i = n + i, 1 cm apart."""
    xs = np.arange(n) * spacing
    vertices = np.concatenate([np.stack([xs, np.zeros(n), np.zeros(n)], 1),
                               np.stack([xs, np.full(n, spacing), np.zeros(n)], 1)])
    faces = []
    for i in range(n - 1):
        faces += [(i, i + 1, n + i), (i + 1, n + i + 1, n + i)]
    return vertices, np.array(faces, np.int32)


def test_geodesic_error_on_a_strip():
    vertices, faces = strip()
    gt = np.zeros(10)
    gt[0] = 1
    pred = np.zeros(10)
    pred[3] = 1
    fp, fn = geodesic_errors(pred, gt, vertices, faces)
    assert fp == pytest.approx(3.0) and fn == pytest.approx(3.0)
    pred[0] = 1  # one exact hit, one 3 cm away
    fp, fn = geodesic_errors(pred, gt, vertices, faces)
    assert fp == pytest.approx(1.5) and fn == pytest.approx(0.0)


def test_geodesic_error_edge_cases_follow_deco():
    vertices, faces = strip()
    pred = np.zeros(10)
    pred[4] = 1
    # no GT: every vertex is a GT column, so a prediction is 0 away
    assert geodesic_errors(pred, np.zeros(10), vertices, faces)[0] == pytest.approx(0.0)
    # no prediction: every vertex is a predicted row -> mean distance of all vertices to the GT
    gt = np.zeros(10)
    gt[0] = 1
    # the strip's diagonals run b_(i+1)-t_i, so t_i is i + 1 cm from b_0 along edges
    expected = np.mean([0, 1, 2, 3, 4, 1, 2, 3, 4, 5])
    assert geodesic_errors(np.zeros(10), gt, vertices, faces)[0] == pytest.approx(expected)


def test_score_and_mean():
    vertices, faces = strip()
    gt = np.zeros(10)
    gt[[0, 1]] = 1
    row = score_contact(gt.copy(), gt, vertices, faces)
    assert row == ContactScores(1.0, 1.0, 1.0, 0.0, 0.0)
    other = score_contact(np.zeros(10), gt)
    summary = mean_scores([row, other])
    assert summary["f1"] == pytest.approx(0.5) and summary["precision"] == pytest.approx(1.0)
    assert summary["geo_fp_cm"] == pytest.approx(0.0)  # images without a mesh are skipped
    with pytest.raises(ValueError, match="no images"):
        mean_scores([])


def test_affordance_metrics_hand_computed():
    assert sim([1, 1, 0, 0], [1, 0, 0, 0]) == pytest.approx(0.5)
    assert sim([0.2, 0.2], [0.7, 0.7]) == pytest.approx(1.0)  # scale-free
    assert mae([1, 1, 0, 0], [1, 0, 0, 0]) == pytest.approx(0.25)
    assert auc([0.9, 0.8, 0.3, 0.1], [1, 0, 1, 0]) == pytest.approx(0.75)
    assert auc([0.5, 0.5], [1, 0]) == pytest.approx(0.5)  # ties count one half
    # t = 0 selects both points (IoU 1/2); the 19 other thresholds select only the positive one
    assert aiou([1.0, 0.0], [1, 0]) == pytest.approx((0.5 + 19) / 20)


def test_affordance_undefined_cases_are_nan_and_skipped():
    assert math.isnan(auc([0.3, 0.2], [0, 0])) and math.isnan(aiou([0.3, 0.2], [0, 0.4]))
    assert math.isnan(auc([0.3, 0.2], [1, 1]))
    rows = [score_affordance([0.9, 0.1], [1, 0]), score_affordance([0.9, 0.1], [0, 0])]
    summary = mean_affordance(rows)
    assert summary["auc"] == pytest.approx(1.0)  # the NaN row is skipped
    assert summary["mae"] == pytest.approx(np.mean([0.1, 0.5]))
    with pytest.raises(ValueError, match="points"):
        sim([1, 0, 0], [1, 0])


def test_mean_interval_brackets_the_mean_and_keeps_the_strata():
    rng = np.random.default_rng(3)
    values = list(rng.exponential(4.0, 150))  # heavy-tailed, like per-image geodesic errors
    low, high = mean_interval(values)
    assert low < float(np.mean(values)) < high
    assert mean_interval(values) == (low, high)  # fixed seed: the same interval again
    wide = mean_interval(values[:15])
    assert wide[1] - wide[0] > 2 * (high - low)  # fewer images, a wider interval (~sqrt(10) times)
    assert mean_interval([None, 2.0, None, 2.0]) == (2.0, 2.0)  # missing values are skipped
    assert mean_interval([None]) is None
    # two scenes, each the same on every image: resampling within them cannot move the mean,
    # resampling across them can
    mixed, groups = [0.0] * 10 + [10.0] * 10, ["a"] * 10 + ["b"] * 10
    assert mean_interval(mixed, groups) == pytest.approx((5.0, 5.0))
    across = mean_interval(mixed)
    assert across[0] < 4.0 and across[1] > 6.0
