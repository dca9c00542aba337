"""Binary contact metrics with DECO's definitions (the field's standard for DAMON).

Per image, with a threshold of 0.5 on the predicted scores:
  precision = TP / #predicted, recall = TP / #ground truth, F1 = 2PR / (P + R);
  no prediction -> P=1, R=0, F1=0; no ground truth (but a prediction) -> P=0, R=1, F1=0;
  P + R ~ 0 -> all 0. These edge cases follow DECO's test script exactly.
Geodesic error (DECO's `det_error_metric`, reported as "geo. error" in cm): the mean over predicted
vertices of the geodesic distance to the nearest ground-truth contact vertex (false-positive
distance); its mirror (mean over GT vertices of the distance to the nearest prediction) is the
false-negative distance. DECO's edge cases: with no GT every vertex counts as a GT column (so the
FP distance is 0); with no prediction every vertex counts as a predicted row.
Dataset numbers are the plain mean over images; mean_interval gives their bootstrap interval (how far
another draw of images from the same scenes would move them).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

THRESHOLD = 0.5


@dataclass(frozen=True)
class ContactScores:
    precision: float
    recall: float
    f1: float
    geo_fp_cm: float | None = None  # the "geodesic error" of the literature
    geo_fn_cm: float | None = None

    def as_dict(self) -> dict[str, float | None]:
        return asdict(self)


def _as_bool(gt: np.ndarray, name: str) -> np.ndarray:
    gt = np.asarray(gt)
    if gt.ndim != 1:
        raise ValueError(f"{name} must be a 1-D per-vertex array, got shape {gt.shape}")
    if gt.dtype == bool:
        return gt
    return gt >= THRESHOLD


def precision_recall_f1(pred: np.ndarray, gt: np.ndarray) -> tuple[float, float, float]:
    """DECO's per-image precision, recall and F1. pred: scores or bools; gt: 0/1 labels or bools."""
    pred_b, gt_b = _as_bool(pred, "pred"), _as_bool(gt, "gt")
    if pred_b.shape != gt_b.shape:
        raise ValueError(f"prediction has {pred_b.size} vertices but ground truth has {gt_b.size}; "
                         "they must index the same mesh")
    n_pred, n_gt = int(pred_b.sum()), int(gt_b.sum())
    if n_pred == 0:
        return 1.0, 0.0, 0.0
    if n_gt == 0:
        return 0.0, 1.0, 0.0
    tp = int((pred_b & gt_b).sum())
    precision, recall = tp / n_pred, tp / n_gt
    if precision + recall <= 1e-10:
        return 0.0, 0.0, 0.0
    return precision, recall, 2 * precision * recall / (precision + recall)


def geodesic_errors(pred: np.ndarray, gt: np.ndarray, vertices: np.ndarray, faces: np.ndarray,
                    unit_to_cm: float = 100.0) -> tuple[float, float]:
    """(false-positive, false-negative) geodesic distances in cm on the mesh (vertices in metres).

    Uses exact Dijkstra on the mesh edge graph (backend.bodies.geodesic), the same graph-distance
    approximation of surface geodesics as DECO's precomputed SMPL matrix. Unreachable pairs
    (disconnected components) are skipped; if nothing is reachable the result is inf.
    """
    from backend.bodies.geodesic import distances_from

    pred_b, gt_b = _as_bool(pred, "pred"), _as_bool(gt, "gt")
    n = len(vertices)
    if pred_b.size != n or gt_b.size != n:
        raise ValueError(f"labels have {pred_b.size}/{gt_b.size} entries but the mesh has {n} vertices")
    rows = pred_b if pred_b.any() else np.ones(n, bool)
    cols = gt_b if gt_b.any() else np.ones(n, bool)
    to_gt = distances_from(vertices, faces, np.flatnonzero(cols))
    to_pred = distances_from(vertices, faces, np.flatnonzero(rows))
    return _finite_mean(to_gt[rows]) * unit_to_cm, _finite_mean(to_pred[cols]) * unit_to_cm


def _finite_mean(values: np.ndarray) -> float:
    finite = values[np.isfinite(values)]
    return float(finite.mean()) if finite.size else float("inf")


def score_contact(pred: np.ndarray, gt: np.ndarray, vertices: np.ndarray | None = None,
                  faces: np.ndarray | None = None) -> ContactScores:
    """All per-image metrics; geodesics only when the mesh is given."""
    p, r, f = precision_recall_f1(pred, gt)
    if vertices is None or faces is None:
        return ContactScores(p, r, f)
    fp, fn = geodesic_errors(pred, gt, vertices, faces)
    return ContactScores(p, r, f, fp, fn)


def mean_scores(rows: list[ContactScores]) -> dict[str, float | None]:
    """Plain mean over images (DECO); geodesic means skip images without a mesh."""
    if not rows:
        raise ValueError("no images were scored")
    out: dict[str, float | None] = {}
    for key in ("precision", "recall", "f1", "geo_fp_cm", "geo_fn_cm"):
        values = [getattr(r, key) for r in rows if getattr(r, key) is not None]
        out[key] = float(np.mean(values)) if values else None
    return out


def mean_interval(values: list[float | None], strata: list[str] | None = None, level: float = 0.9,
                  resamples: int = 2000, seed: int = 0) -> tuple[float, float] | None:
    """(low, high): the `level` percentile-bootstrap interval of the plain mean of per-image values (None
    entries skipped; None when nothing is left). With strata (one label per value, e.g. the synthetic
    set's scenarios, equal in size by design) images are resampled within each stratum, so every draw
    keeps the set's mix of scenes. Fixed seed: the same values give the same interval."""
    keep = [i for i, v in enumerate(values) if v is not None and np.isfinite(v)]
    if not keep:
        return None
    x = np.asarray([values[i] for i in keep], dtype=np.float64)
    labels = np.asarray([strata[i] for i in keep]) if strata is not None else np.zeros(len(x), int)
    rng = np.random.default_rng(seed)
    total = np.zeros(resamples)
    for label in np.unique(labels):  # one vectorised draw per stratum
        members = x[labels == label]
        total += members[rng.integers(0, len(members), (resamples, len(members)))].sum(axis=1)
    means = total / len(x)
    tail = 100.0 * (1.0 - level) / 2.0
    low, high = np.percentile(means, [tail, 100.0 - tail])
    return float(low), float(high)
