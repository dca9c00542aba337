"""One estimate: render -> localize -> lift over arrays (`estimate`), and the job around it.

`run_estimate` is the job the server and the scripts run: read the photo, resolve the request's
inputs (backend.estimate_inputs), estimate, write the result npz. `estimate_image` is the same for
inputs resolved once by a batch (the CLI, the evaluation). The lifecycle (progress and cancel per
stage, write-then-commit, error codes) is backend/jobs.py's.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from backend.bodies.correspondence import Surface, transfer_rule, transfer_scores
from backend.contact_parts import parts_in_contact
from backend.cameras import body_rig, object_rig
from backend.estimate_inputs import EstimateInputs, resolve_inputs
from backend.images import load_image, thumbnail
from backend.jobs import (ESTIMATE_STAGE_STARTS, Cancelled, JobResult, MayCommit, Progress, ShouldStop, Stages,
                          commit_npz)
from backend.lift import ALL_PIXELS, LiftRule, lift, project
from backend.localizers.base import CanonicalViews, LocalizerOutput
from backend.localizers.cache import LocalizerCache
from backend.progress import NO_STEPS, Steps
from backend.mesh_checks import body_frame_warnings, check_masks
from backend.protocol import CONTACT_THRESHOLD, EstimateRequest
from backend.render import RenderedViews, render

__all__ = ["Cancelled", "Estimate", "estimate", "estimate_image", "run_estimate"]


@dataclass(frozen=True)
class Estimate:
    """The arrays of one estimate, indexed by the inputs' surface's own vertex order.

    scores: (N,) float32 in [0,1]; seen: (N,) int32 views that see each vertex; masks: (V,H,W)
    float32 in [0,1] over `views`; correspondence: the rule that moved scores from another surface
    onto this one (backend.bodies.correspondence), None when they were lifted onto it directly.
    """

    scores: np.ndarray
    seen: np.ndarray
    masks: np.ndarray
    views: RenderedViews
    output: LocalizerOutput
    correspondence: str | None


def render_views(inputs: EstimateInputs, steps: Steps = NO_STEPS) -> tuple[RenderedViews, CanonicalViews | None]:
    """The views the localizer reads: its own fixed canonical views, else a render of the surface
    from its training rig, else from the pipeline's body/object rig."""
    canonical = inputs.localizer.canonical_views(inputs.query) if inputs.on_body else None
    if canonical is not None:
        return canonical.views, canonical
    surface = inputs.surface
    cameras = inputs.localizer.cameras(inputs.query, surface.vertices, inputs.resolution)
    if cameras is None:
        cameras = (body_rig if inputs.on_body else object_rig)(surface.vertices, inputs.resolution)
    return render(surface.vertices, surface.faces, cameras, steps=steps), None


def lift_output(output: LocalizerOutput, views: RenderedViews, viewed: Surface, target: Surface,
                rule: LiftRule = ALL_PIXELS) -> tuple[np.ndarray, np.ndarray, np.ndarray, str | None]:
    """(scores, seen, masks, correspondence) on `target` from what the localizer returned for
    `views` of the surface `viewed` (the target itself, or a localizer's canonical surface).

    Masks are lifted onto `viewed`; per-vertex `surface_scores` are taken as they are (their masks,
    when the localizer gives none, are projected for display). Scores on any other surface than the
    target are transferred onto it."""
    masks = None if output.masks is None else check_masks(output.masks, views.n_views, *views.size)
    if output.surface_scores is not None:  # scored in 3D on a surface of its own
        source, on_source = output.surface_scores.surface, output.surface_scores.scores
        if masks is None:
            masks = np.clip(project(views, transfer_scores(on_source, source, viewed)), 0.0, 1.0)
        _, seen = lift(views, masks)
    else:
        source = viewed
        on_source, seen = lift(views, masks, rule)
    if source is target:
        return on_source, seen, masks, None
    scores = transfer_scores(on_source, source, target)
    if viewed is not target:  # views counted on the canonical surface: carried over like the scores
        seen = np.rint(transfer_scores(np.minimum(seen, 1).astype(np.float32), viewed, target)).astype(np.int32)
    return scores, seen, masks, transfer_rule(source, target)


def estimate(image: np.ndarray, inputs: EstimateInputs, stages: Stages) -> Estimate:
    """Render -> localize -> lift for one (H,W,3) uint8 photo; progress and cancel through `stages`."""
    stages.enter("render", f"rendering the {'body' if inputs.on_body else 'object'} at {inputs.resolution}px")
    views, canonical = render_views(inputs, stages.steps("render"))
    stages.enter("localize", f"{inputs.localizer_name} is reading the photo")
    output = inputs.localizer.localize(image, views, inputs.query, steps=stages.steps("localize"))
    if not isinstance(output, LocalizerOutput):  # a bare mask array is accepted too
        output = LocalizerOutput(masks=np.asarray(output))
    stages.enter("lift", "lifting masks to vertices")
    viewed = canonical.surface if canonical is not None else inputs.surface
    scores, seen, masks, correspondence = lift_output(output, views, viewed, inputs.surface,
                                                      inputs.localizer.lift_rule(inputs.query))
    return Estimate(scores, seen, masks, views, output, correspondence)


def run_estimate(request: EstimateRequest, cache: LocalizerCache, out_path: str | Path,
                 progress: Progress | None = None, should_stop: ShouldStop | None = None,
                 may_commit: MayCommit | None = None) -> JobResult:
    """The estimate job: write `out_path` (npz). Raises Cancelled, JobError, or another exception."""
    stages = Stages(ESTIMATE_STAGE_STARTS, progress, should_stop)
    stages.enter("load", "reading the photo and meshes")
    image = load_image(request.image)
    inputs = resolve_inputs(request, cache, progress)
    done = _write(estimate(image, inputs, stages), image, inputs, Path(out_path), stages, may_commit)
    done.summary["provenance"] = request_provenance(request, inputs)
    return done


def request_provenance(request: EstimateRequest, inputs: EstimateInputs) -> dict[str, Any]:
    """backend.batch.provenance's block for a server request (the add-on keeps it in the .blend record)."""
    import torch

    from backend.batch.provenance import provenance

    body = request.body if isinstance(request.body, dict) else {}  # a loaded Body (in-process): no file to hash
    spec = {"anny": "anny", "smplx": f"smplx:{body.get('model_dir')}"}.get(body.get("source"), body.get("npz") or "")
    settings = {"body": spec, "object": (request.object or {}).get("npz"), "resolution": request.resolution,
                "task": request.task, "label": request.label}
    return provenance(settings, inputs.localizer_name, inputs.device, request.checkpoint_dir,
                      torch.get_num_threads(), CONTACT_THRESHOLD)


def estimate_image(image_path: str | Path, inputs: EstimateInputs, out_path: str | Path,
                   progress: Progress | None = None, should_stop: ShouldStop | None = None,
                   may_commit: MayCommit | None = None) -> JobResult:
    """One photo of a batch whose inputs were resolved once; same stages and result as run_estimate."""
    stages = Stages(ESTIMATE_STAGE_STARTS, progress, should_stop)
    stages.enter("load", "reading the photo")
    image = load_image(image_path)
    return _write(estimate(image, inputs, stages), image, inputs, Path(out_path), stages, may_commit)


def _write(result: Estimate, image: np.ndarray, inputs: EstimateInputs, out_path: Path, stages: Stages,
           may_commit: MayCommit | None) -> JobResult:
    stages.enter("write", "writing the result")
    arrays = {"scores": result.scores.astype(np.float32), "seen": result.seen.astype(np.int32),
              "masks": np.round(result.masks * 255.0).astype(np.uint8), "views": result.views.shaded,
              "view_names": np.array([c.name for c in result.views.cameras]), "photo": thumbnail(image)}
    if inputs.on_body:
        arrays["parts"] = inputs.surface.parts.astype(np.int16)
    fitted = result.output.fitted_body
    if fitted is not None:
        arrays["fitted_vertices"] = np.asarray(fitted.vertices, dtype=np.float32)
        arrays["fitted_faces"] = np.asarray(fitted.faces, dtype=np.int32)
    commit_npz(arrays, out_path, stages.should_stop, may_commit)
    stages.close()
    return JobResult(out_path, summarize(result, inputs, stages.timings))


def summarize(result: Estimate, inputs: EstimateInputs, timings: dict[str, float]) -> dict[str, Any]:
    """The `result` event's summary (backend/PROTOCOL.md)."""
    contact = result.scores >= CONTACT_THRESHOLD
    parts: list[str] = []
    warnings: list[str] = []
    if inputs.on_body:
        reported = (result.output.report or {}).get("parts_in_contact")
        parts = parts_in_contact(inputs.surface.parts, contact, result.seen,
                                 reported if isinstance(reported, list) else None)
        warnings = body_frame_warnings(inputs.surface.vertices)
    summary = {"task": inputs.query.task, "label": inputs.query.label,
               **({"labels": list(inputs.query.labels)} if inputs.query.labels else {}),
               "surface": "body" if inputs.on_body else "object",
               "n_vertices": int(result.scores.shape[0]), "contact_vertices": int(contact.sum()),
               "parts_in_contact": parts, "warnings": warnings, "timings": dict(timings),
               "localizer": inputs.localizer_name, "device": inputs.device,
               "localizer_report": dict(result.output.report or {})}
    if result.correspondence is not None:
        summary["correspondence"] = result.correspondence
    if result.output.fitted_body is not None:
        summary["fitted_body_frame"] = result.output.fitted_body.frame
    return summary
