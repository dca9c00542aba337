"""Object affordance metrics with PIAD's definitions (IAG-Net's evaluation script).

Per object (point cloud or mesh vertices), prediction p in [0,1], ground truth g in [0,1]:
  SIM: histogram intersection, sum(min(p/sum p, g/sum g)) (each normalised with eps 1e-12);
  MAE: mean |p - g| over the points;
  AUC: ROC AUC of p against g >= 0.5 (NaN when g has only one class: skipped in the mean);
  aIOU: mean over 20 thresholds t = linspace(0, 1, 20) of IoU(p >= t, g >= 0.5) (NaN when g has no
  positive point).
Dataset numbers: mean of SIM and MAE, NaN-skipping mean of AUC and aIOU.
"""
from __future__ import annotations

import numpy as np

EPS = 1e-12
IOU_THRESHOLDS = np.linspace(0.0, 1.0, 20)


def _pair(pred: np.ndarray, gt: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    pred = np.asarray(pred, dtype=np.float64).ravel()
    gt = np.asarray(gt, dtype=np.float64).ravel()
    if pred.shape != gt.shape:
        raise ValueError(f"prediction has {pred.size} points but ground truth has {gt.size}")
    if pred.size == 0:
        raise ValueError("empty prediction: an object needs at least one point")
    return pred, gt


def sim(pred: np.ndarray, gt: np.ndarray) -> float:
    pred, gt = _pair(pred, gt)
    return float(np.minimum(pred / (pred.sum() + EPS), gt / (gt.sum() + EPS)).sum())


def mae(pred: np.ndarray, gt: np.ndarray) -> float:
    pred, gt = _pair(pred, gt)
    return float(np.abs(pred - gt).mean())


def auc(pred: np.ndarray, gt: np.ndarray) -> float:
    """ROC AUC via the rank-sum statistic (ties get average ranks, as sklearn's roc_auc_score)."""
    from scipy.stats import rankdata

    pred, gt = _pair(pred, gt)
    positive = gt >= 0.5
    n_pos, n_neg = int(positive.sum()), int((~positive).sum())
    if n_pos == 0 or n_neg == 0:
        return float("nan")  # undefined with one class
    ranks = rankdata(pred)
    return float((ranks[positive].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def aiou(pred: np.ndarray, gt: np.ndarray) -> float:
    pred, gt = _pair(pred, gt)
    positive = gt >= 0.5
    if not positive.any():
        return float("nan")
    masks = pred[None, :] >= IOU_THRESHOLDS[:, None]  # (20, N)
    inter = (masks & positive).sum(1)
    union = (masks | positive).sum(1)
    return float((inter / union).mean())


def score_affordance(pred: np.ndarray, gt: np.ndarray) -> dict[str, float]:
    return {"sim": sim(pred, gt), "auc": auc(pred, gt), "aiou": aiou(pred, gt), "mae": mae(pred, gt)}


def mean_affordance(rows: list[dict[str, float]]) -> dict[str, float]:
    if not rows:
        raise ValueError("no objects were scored")
    out = {}
    for key in ("sim", "auc", "aiou", "mae"):
        values = np.array([r[key] for r in rows], dtype=np.float64)
        out[key] = float(np.nanmean(values)) if np.isfinite(values).any() else float("nan")
    return out
