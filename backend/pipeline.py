"""One estimate job: load inputs -> render -> localize -> lift -> write the result npz + summary.

Shared by the stdio server and the `estimate` CLI. Between stages the job calls `should_stop()`
and raises Cancelled when it returns True; the result is written to a temporary file and only
renamed into place when `may_commit()` agrees, so a cancelled job leaves nothing behind.
Errors carry a protocol code (JobError / classify) so callers can report them as they are.
The job lifecycle (Stages, commit_npz, Cancelled, JobError) lives in backend/jobs.py.
"""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Callable

import numpy as np

from backend.bodies.base import Body
from backend.jobs import ESTIMATE_STAGE_STARTS, Cancelled, JobError, JobResult, Progress, Stages, commit_npz
from backend.localizers.base import LocalizerOutput, Query
from backend.localizers.cache import LocalizerCache
from backend.protocol import EstimateRequest

log = logging.getLogger(__name__)

CONTACT_THRESHOLD = 0.5


def load_object_mesh(spec: dict[str, Any], what: str) -> tuple[np.ndarray, np.ndarray]:
    """An object mesh from the protocol's {'npz': path}, or {'vertices', 'faces'} arrays (the CLI)."""
    from backend.meshes import read_mesh
    from backend.mesh_checks import check_mesh

    if "npz" in spec:
        mesh = read_mesh(spec["npz"], what)
        return mesh.vertices, mesh.faces
    return check_mesh(spec["vertices"], spec["faces"], what=what)


def _bad_mesh(what: str, error: Exception) -> JobError:
    if isinstance(error, FileNotFoundError):
        return JobError("missing_file", str(error), f"check the {what} path")
    return JobError("bad_mesh", f"{what}: {error}",
                    "send vertices (N,3) float32 and faces (F,3) int32 of a triangulated mesh")


def run_estimate(request: EstimateRequest, cache: LocalizerCache, out_path: str | Path,
                 progress: Progress | None = None, should_stop: Callable[[], bool] | None = None,
                 may_commit: Callable[[], bool] | None = None) -> JobResult:
    """Run one job and write `out_path` (npz). Raises Cancelled, JobError, or another exception."""
    from backend.bodies import load_body
    from backend.devices import resolve_device
    from backend.images import load_image
    from backend.localizers.registry import DEFAULT_LOCALIZER

    stages = Stages(ESTIMATE_STAGE_STARTS, progress, should_stop)
    stages.enter("load", "reading the photo and meshes")
    image = load_image(request.image)
    body = request.body
    if body is not None and not isinstance(body, Body):  # the protocol's dict; the CLI passes a Body
        try:
            body = load_body(body)
        except (ValueError, FileNotFoundError) as error:
            raise _bad_mesh("body", error) from error
    object_mesh = None
    if request.object is not None:
        try:
            object_mesh = load_object_mesh(request.object, "object mesh")
        except (ValueError, FileNotFoundError) as error:
            raise _bad_mesh("object", error) from error
    query = Query(task=request.task, label=request.label,
                  vertex_parts=body.parts if body is not None and request.surface == "body" else None,
                  body_vertices=body.vertices if body is not None and request.surface == "object" else None)
    device = resolve_device(request.device)
    name = request.localizer or DEFAULT_LOCALIZER
    localizer = cache.get(name, device, request.checkpoint_dir, progress)

    stages.enter("render", f"rendering the {request.surface} at {request.resolution}px")
    from backend.bodies.correspondence import Surface, surface_of, transfer_rule, transfer_scores
    from backend.cameras import body_rig, object_rig
    from backend.render import render

    on_body = request.surface == "body"
    vertices, faces = (body.canonical_vertices, body.faces) if on_body else object_mesh
    target = surface_of(body) if on_body else Surface("object", vertices, faces, np.zeros(len(vertices), np.int16))
    # A localizer with its own fixed views (the official renders) is fed those instead of our render.
    canonical = localizer.canonical_views(query) if on_body else None
    if canonical is not None:
        views = canonical.views
    else:
        cameras = localizer.cameras(query, vertices, request.resolution)  # its training rig, if it has one
        if cameras is None:
            cameras = (body_rig if on_body else object_rig)(vertices, request.resolution)
        views = render(vertices, faces, cameras)

    stages.enter("localize", f"{name} is reading the photo")
    output = localizer.localize(image, views, query, steps=stages.steps("localize"))
    if not isinstance(output, LocalizerOutput):  # a bare mask array is accepted too
        output = LocalizerOutput(masks=np.asarray(output))

    stages.enter("lift", "lifting masks to vertices")
    from backend.lift import lift, project
    from backend.mesh_checks import check_masks

    correspondence = None
    if output.surface_scores is not None:  # scored in 3D on a canonical surface: transfer, then show it
        source = output.surface_scores.surface
        scores = transfer_scores(output.surface_scores.scores, source, target)
        correspondence = transfer_rule(source, target)
        masks = (check_masks(output.masks, views.n_views, *views.size) if output.masks is not None
                 else np.clip(project(views, scores), 0.0, 1.0))
        _, seen = lift(views, masks)
    else:
        masks = check_masks(output.masks, views.n_views, *views.size)
        scores, seen = lift(views, masks)
        if canonical is not None:  # lifted onto the canonical surface: transfer onto the user's body
            scores = transfer_scores(scores, canonical.surface, target)
            seen = np.rint(transfer_scores(np.minimum(seen, 1).astype(np.float32), canonical.surface,
                                           target)).astype(np.int32)
            correspondence = transfer_rule(canonical.surface, target)

    stages.enter("write", "writing the result")
    arrays = {"scores": scores.astype(np.float32), "seen": seen.astype(np.int32),
              "masks": np.round(masks * 255.0).astype(np.uint8), "views": views.shaded,
              "view_names": np.array([c.name for c in views.cameras])}
    if request.surface == "body":
        arrays["parts"] = body.parts.astype(np.int16)
    if output.fitted_body is not None:
        arrays["fitted_vertices"] = np.asarray(output.fitted_body.vertices, dtype=np.float32)
        arrays["fitted_faces"] = np.asarray(output.fitted_body.faces, dtype=np.int32)
    out_path = Path(out_path)
    commit_npz(arrays, out_path, stages.should_stop, may_commit)
    stages.close()
    summary = _summary(request, name, device, scores, body, stages.timings, output.report)
    if correspondence is not None:
        summary["correspondence"] = correspondence
    if output.fitted_body is not None:
        summary["fitted_body_frame"] = output.fitted_body.frame
    return JobResult(path=out_path, summary=summary)


def _summary(request: EstimateRequest, localizer: str, device: str, scores: np.ndarray, body: Body | None,
             timings: dict[str, float], localizer_report: dict[str, Any]) -> dict[str, Any]:
    contact = scores >= CONTACT_THRESHOLD
    parts: list[str] = []
    if request.surface == "body":
        from backend.bodies.parts import PARTS

        counts = np.bincount(body.parts[contact], minlength=len(PARTS))
        parts = [PARTS[i] for i in np.argsort(-counts, kind="stable") if counts[i] > 0]
    warnings: list[str] = []
    if request.surface == "body":
        from backend.mesh_checks import body_frame_warnings

        warnings = body_frame_warnings(body.canonical_vertices)
    return {"task": request.task, "label": request.label, "surface": request.surface,
            "n_vertices": int(scores.shape[0]), "contact_vertices": int(contact.sum()),
            "parts_in_contact": parts, "warnings": warnings, "timings": dict(timings),
            "localizer": localizer, "device": device, "localizer_report": dict(localizer_report or {})}
