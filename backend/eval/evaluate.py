"""Evaluate a localizer on DAMON or a synthetic set through the real pipeline (run_estimate).

Per image: the pipeline renders the dataset's body (SMPL-X for DAMON, Anny for synthetic sets),
the localizer predicts view masks, lift gives per-vertex scores; DECO's metrics (backend.eval.
metrics) compare them with the ground truth; geodesics are measured on the canonical body mesh.
Outputs in OUT: per_image.csv, summary.json, summary.md, scores.npz (N,V float16) and sheets/*.png.
An image on which the pipeline fails counts as "no prediction" (as DECO scores it) and the row
records the error.
"""
from __future__ import annotations

import csv
import json
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

import numpy as np

from backend.bodies.base import Body
from backend.eval.metrics import ContactScores, mean_interval, mean_scores, score_contact

if TYPE_CHECKING:
    from backend.localizers.base import Localizer


@dataclass
class EvalItem:
    image: Path
    gt: np.ndarray  # (V,) uint8
    label: str | None = None  # object label for semantic contact
    group: str = ""  # scenario / object, for per-group tables


@dataclass
class EvalSet:
    kind: str  # "damon" | "synthetic"
    path: Path
    body: Body
    items: list[EvalItem] = field(default_factory=list)


def load_dataset(spec: str, task: str = "human_contact", smplx_dir: str | None = None,
                 images_dir: str | None = None, allow_pickle: bool = False) -> EvalSet:
    """`damon:PATH.npz` or `synthetic:DIR` -> EvalSet with its body and ground truth."""
    from backend.bodies import load_body

    kind, sep, path = spec.partition(":")
    if not sep or kind not in ("damon", "synthetic") or not path:
        raise ValueError(f"--dataset {spec!r} must be damon:PATH (a DAMON npz) or synthetic:DIR (from `synth`)")
    if task not in ("human_contact", "semantic_contact"):
        raise ValueError(f"task {task!r} cannot be evaluated here; use human_contact or semantic_contact")
    semantic = task == "semantic_contact"
    if kind == "synthetic":
        from backend.eval.synth_reader import read_synthetic

        data = read_synthetic(path)
        body = load_body({"source": "anny"})
        if data["labels"].shape[1] != body.n_vertices:
            raise ValueError(f"{path}: labels have {data['labels'].shape[1]} vertices but this Anny body has "
                             f"{body.n_vertices}; regenerate the set with `python -m backend synth`")
        gt = data["labels_object"] if semantic else data["labels"]
        items = [EvalItem(image, gt[i], data["object_label"][i] if semantic else None, data["scenario"][i])
                 for i, image in enumerate(data["images"])]
        if semantic:  # 'floor' images have no prop: nothing to ask about
            items = [item for item in items if item.label != "floor"]
        return EvalSet("synthetic", Path(path), body, items)

    from backend.eval.damon import objectwise_mask, read_damon

    data = read_damon(path, allow_pickle=allow_pickle, objectwise=semantic)
    if "smplx" not in data.labels:
        raise ValueError(f"{path} has only SMPL labels (contact_label, 6890 vertices); this backend renders SMPL-X, "
                         "not SMPL (no SMPL model support): use a DAMON file with contact_label_smplx")
    if not smplx_dir:
        raise ValueError("DAMON is evaluated on SMPL-X (10475 vertices): pass --smplx-dir, the folder with "
                         "SMPLX_NEUTRAL.npz")
    body = load_body({"source": "smplx", "model_dir": smplx_dir, "gender": "neutral"})
    images_root = Path(images_dir) if images_dir else None
    items = []
    for i in range(len(data)):
        image = data.image_path(i, images_root)
        if not semantic:
            items.append(EvalItem(image, data.labels["smplx"][i]))
            continue
        if "smplx" not in data.objectwise:
            raise ValueError(f"{path} has no contact_label_smplx_objectwise for semantic contact")
        for name in sorted(data.objectwise["smplx"][i]):
            if name != "supporting":  # DAMON's catch-all for the ground/support, not a named object
                items.append(EvalItem(image, objectwise_mask(data.objectwise["smplx"][i], name, body.n_vertices),
                                      name, name))
    return EvalSet("damon", Path(path), body, items)


def load_localizer(name: str, body: Body, device: str, checkpoint_dir: str | None) -> Localizer:
    """A baseline (image-blind prior) or a registered localizer, loaded on `device`."""
    from backend.eval.baselines import BASELINES, PriorLocalizer, prior_labels

    if name in BASELINES:
        localizer = PriorLocalizer(name, prior_labels(name, body.canonical_vertices, body.parts))
        localizer.load(device)
        return localizer
    from backend.localizers.cache import LocalizerCache
    from backend.localizers.registry import unavailable_reason

    reason = unavailable_reason(name, checkpoint_dir)
    if reason is not None:
        raise ValueError(f"localizer {name!r} cannot run here: {reason}")
    return LocalizerCache(capacity=1).get(name, device, checkpoint_dir)


def evaluate(evalset: EvalSet, localizer: str, out: Path, task: str = "human_contact", limit: int | None = None,
             resolution: int = 512, device: str = "auto", checkpoint_dir: str | None = None, n_sheets: int = 2,
             progress: Callable[[int, int], None] | None = None, data_dir: str | None = None) -> dict[str, Any]:
    """Run the pipeline over the set, score every image, write the outputs, return the summary."""
    from backend.devices import resolve_device
    from backend.estimate_inputs import prepare_inputs
    from backend.jobs import classify
    from backend.pipeline import estimate_image

    items = evalset.items[:limit] if limit else evalset.items
    if not items:
        raise ValueError(f"{evalset.path} has no images to evaluate")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    body = evalset.body
    device = resolve_device(device)
    loaded = load_localizer(localizer, body, device, checkpoint_dir)
    loaded.use_data_dir(data_dir)
    rows: list[dict[str, Any]] = []
    scored: list[ContactScores] = []
    all_scores = np.zeros((len(items), body.n_vertices), np.float16)
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="ivlm_eval_") as tmp:
        for i, item in enumerate(items):
            t0 = time.perf_counter()
            error = ""
            try:
                inputs = prepare_inputs(task, item.label, body, None, loaded, localizer, device, resolution)
                result = estimate_image(item.image, inputs, Path(tmp) / "result.npz")
                with np.load(result.path) as data:
                    scores = data["scores"].astype(np.float32)
            except Exception as failure:  # noqa: BLE001 - every failure is recorded, the run goes on
                code, message, _ = classify(failure)
                if code == "localizer_unavailable":
                    raise
                error, scores = f"{code}: {message}", np.zeros(body.n_vertices, np.float32)
            row = score_contact(scores, item.gt, body.canonical_vertices, body.faces)
            scored.append(row)
            all_scores[i] = scores
            rows.append({"index": i, "image": str(item.image), "group": item.group, "label": item.label or "",
                         **{k: round(v, 6) for k, v in row.as_dict().items()},
                         "n_pred": int((scores >= 0.5).sum()), "n_gt": int(item.gt.sum()),
                         "seconds": round(time.perf_counter() - t0, 3), "error": error})
            if progress:
                progress(i + 1, len(items))
    summary = _summary(evalset, localizer, task, resolution, rows, scored, time.perf_counter() - start)
    _write_outputs(out, rows, summary, all_scores)
    _write_sheets(out, items, all_scores, body, n_sheets)
    return summary


def _summary(evalset: EvalSet, localizer: str, task: str, resolution: int, rows: list[dict], scored: list,
             seconds: float) -> dict[str, Any]:
    groups = {}
    for name in sorted({r["group"] for r in rows if r["group"]}):
        groups[name] = {"n": sum(r["group"] == name for r in rows),
                        **mean_scores([s for s, r in zip(scored, rows) if r["group"] == name])}
    return {"dataset": evalset.kind, "path": str(evalset.path), "body": evalset.body.name,
            "n_vertices": evalset.body.n_vertices, "localizer": localizer, "task": task, "resolution": resolution,
            "n": len(rows), "failed": sum(bool(r["error"]) for r in rows), **mean_scores(scored),
            "interval_90": _intervals(rows, scored), "groups": groups, "seconds": round(seconds, 2)}


def _intervals(rows: list[dict], scored: list[ContactScores]) -> dict[str, list[float] | None]:
    """The 90% bootstrap interval of each dataset mean (metrics.mean_interval), images resampled within
    their groups when every image has one (the synthetic set's scenarios)."""
    strata = [r["group"] for r in rows] if all(r["group"] for r in rows) else None
    out = {}
    for key in ("precision", "recall", "f1", "geo_fp_cm"):
        interval = mean_interval([getattr(s, key) for s in scored], strata)
        out[key] = None if interval is None else [round(v, 4) for v in interval]
    return out


def _fmt(value) -> str:
    return "–" if value is None else f"{value:.3f}"


def summary_markdown(summary: dict[str, Any]) -> str:
    lines = [f"Localizer `{summary['localizer']}` on {summary['dataset']} ({summary['n']} images, body "
             f"{summary['body']}, {summary['resolution']} px views, task {summary['task']}; "
             f"{summary['failed']} failed)", "",
             "| group | n | precision | recall | F1 | geo. error (cm) | FN geo. (cm) |",
             "|---|---|---|---|---|---|---|"]
    for name, g in [("**all**", summary), *summary["groups"].items()]:
        lines.append(f"| {name} | {g['n']} | {_fmt(g['precision'])} | {_fmt(g['recall'])} | {_fmt(g['f1'])} | "
                     f"{_fmt(g['geo_fp_cm'])} | {_fmt(g['geo_fn_cm'])} |")
    spans = [f"{key} {_fmt(span[0])}-{_fmt(span[1])}" for key, span in summary.get("interval_90", {}).items() if span]
    if spans:  # another draw of images from the same scenes could land anywhere in these
        lines += ["", "90% bootstrap interval of the means (images resampled within their groups): " + ", ".join(spans)]
    return "\n".join(lines) + "\n"


def _write_outputs(out: Path, rows: list[dict], summary: dict, scores: np.ndarray) -> None:
    with open(out / "per_image.csv", "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    (out / "summary.json").write_text(json.dumps(summary, indent=2))
    (out / "summary.md").write_text(summary_markdown(summary))
    np.savez_compressed(out / "scores.npz", scores=scores)


def _write_sheets(out: Path, items: list[EvalItem], scores: np.ndarray, body: Body, n_sheets: int,
                  per_sheet: int = 3) -> None:
    from backend.eval.sheets import write_sheet
    from backend.images import load_image

    for s in range(n_sheets):
        chunk = range(s * per_sheet, min((s + 1) * per_sheet, len(items)))
        if not chunk:
            break
        rows = [(load_image(str(items[i].image)), scores[i].astype(np.float32), items[i].gt.astype(np.float32))
                for i in chunk]
        write_sheet(out / "sheets" / f"sheet_{s:02d}.png", rows, body.canonical_vertices, body.faces)
