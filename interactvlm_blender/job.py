"""One estimate job, independent of the operator that drives it.

start_job() does the main-thread work before the backend runs (checks, mesh arrays, request
files, submit); tick() is the cheap non-blocking poll the modal operator calls on each timer
event (tests call it in a loop to measure the main-thread stall); finish_job() writes a result
onto the mesh. Nothing is written to the scene before finish_job(), so any failure leaves the
scene as it was.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import bpy
import numpy as np

from . import client, mesh_io, results
# State names and the poll/wait/discard helpers are re-exported: operators, api and tests use job.*.
from .backend_job import (CANCELLED, DONE, FAILED, RUNNING, BackendJob, JobError, discard_job, live_mesh,
                          finishing, load_result as _load_npz, mesh_object, request_dir, tick, wait_job)
from .prefs import get_prefs, request_defaults

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg"}
RESULT_KEYS = ("scores", "seen", "masks", "view_names")
SMPLX_VERTICES = 10475


class EstimateError(JobError):
    """A problem found before or after the backend ran; str() says what and how to fix it."""


@dataclass
class EstimateParams:
    image_path: str = ""  # a photo on disk, or
    image_name: str = ""  # an image datablock in bpy.data.images
    body: str = ""  # object names ("" = none)
    object: str = ""
    body_source: str = "MESH"  # MESH: the body mesh itself; SMPLX: an SMPL-X mesh, rendered from the model
    gender: str = "neutral"  # SMPL-X model file
    task: str = "human_contact"
    label: str = ""
    localizer: str = ""
    threshold: float = 0.5
    pose: str = "WORLD"
    resolution: int = 1024


@dataclass(kw_only=True)
class EstimateJob(BackendJob):
    params: EstimateParams
    target: str  # the object that receives the result
    what: str = "estimate"
    report: results.WriteReport | None = None


def resolve_targets(context: bpy.types.Context, body: str, obj: str) -> tuple[str, str]:
    """Body/object names: the given ones, else the active mesh and another selected mesh."""
    active = context.view_layer.objects.active if context.view_layer else None
    if not body and active is not None and active.type == "MESH":
        body = active.name
    if not obj:
        others = [o for o in getattr(context, "selected_objects", []) if o.type == "MESH" and o.name != body]
        obj = others[0].name if others else ""
    return body, obj


def _image_file(params: EstimateParams, job_dir: Path, scene: bpy.types.Scene) -> str:
    if params.image_name:
        image = bpy.data.images.get(params.image_name)
        if image is None:
            raise EstimateError(f"there is no image {params.image_name!r} in this file; pick a loaded image or a photo file")
        path = Path(bpy.path.abspath(image.filepath)) if image.filepath else None
        if path is not None and path.is_file() and image.packed_file is None and not image.is_dirty \
                and path.suffix.lower() in IMAGE_SUFFIXES:
            return str(path.resolve())
        if not image.has_data and image.source == "FILE":
            raise EstimateError(f"image {image.name!r} has no pixels (its file {image.filepath!r} is missing); reload it")
        copy = job_dir / "photo.png"
        image.save_render(str(copy), scene=scene)  # packed/generated/edited images: a PNG copy for the backend
        return str(copy)
    if not params.image_path:
        raise EstimateError("no reference photo: choose a photo file or a loaded image in the InteractVLM panel")
    path = Path(bpy.path.abspath(params.image_path)).expanduser()
    if not path.is_file():
        raise EstimateError(f"the photo {str(path)!r} does not exist; choose an existing PNG or JPEG file")
    return str(path.resolve())


def _mesh_object(name: str, role: str) -> bpy.types.Object:
    return mesh_object(name, role, EstimateError, "or make it the active object")


def _smplx_body(body: bpy.types.Object, prefs: Any, gender: str) -> dict[str, Any]:
    """The protocol's SMPL-X body: results follow SMPL-X's vertex order, which the mesh must share."""
    folder = Path(bpy.path.abspath(prefs.smplx_dir)).expanduser() if prefs.smplx_dir else None
    if folder is None or not folder.is_dir():
        raise EstimateError("body source SMPL-X needs the SMPL-X model folder: set Preferences > Add-ons > "
                            "InteractVLM > SMPL-X model folder (the folder with SMPLX_NEUTRAL.npz)")
    count = len(body.data.vertices)
    if count != SMPLX_VERTICES:
        raise EstimateError(f"body source SMPL-X needs an SMPL-X mesh ({SMPLX_VERTICES} vertices); {body.name!r} "
                            f"has {count}: use body source 'Scene mesh' for other meshes")
    return {"source": "smplx", "model_dir": str(folder.resolve()), "gender": gender}


def start_job(context: bpy.types.Context, params: EstimateParams) -> EstimateJob:
    """Check inputs, write the request files and submit; EstimateError/WorkerError on problems."""
    if params.task not in ("human_contact", "semantic_contact", "object_contact"):
        raise EstimateError(f"unknown task {params.task!r}; use human_contact, semantic_contact or object_contact")
    if params.task == "semantic_contact" and not params.label.strip():
        raise EstimateError("semantic contact needs an object label (e.g. 'chair'): fill in Label")
    needs_body = params.task != "object_contact"
    body = _mesh_object(params.body, "body") if (needs_body or params.body) else None
    obj = _mesh_object(params.object, "object") if params.task == "object_contact" else None
    target = obj if obj is not None else body
    prefs = get_prefs(context)
    worker = client.get_worker(prefs)  # WorkerError (e.g. missing Python) before any file is written
    with request_dir("estimate", EstimateError) as job_dir:
        depsgraph = context.evaluated_depsgraph_get()
        fields: dict[str, Any] = {**request_defaults(prefs), "image": _image_file(params, job_dir, context.scene),
                                  "task": params.task, "resolution": int(params.resolution),
                                  "out_dir": str(job_dir / "out")}
        notes: list[str] = []
        own_groups = results.our_names(body, "group") if body is not None else set()  # results, not rig groups
        if body is not None and params.body_source == "SMPLX":
            fields["body"] = _smplx_body(body, prefs, params.gender)
        elif body is not None:
            # object_contact uses the body only for its placement next to the object: world space.
            pose = "WORLD" if obj is not None else params.pose
            arrays = mesh_io.read_mesh(body, depsgraph, pose, with_groups=True, skip_groups=own_groups)
            mesh_io.write_request_mesh(job_dir / "body.npz", arrays)
            fields["body"] = {"source": "mesh", "npz": str(job_dir / "body.npz")}
            notes += [arrays.note] if arrays.note else []
        if obj is not None:
            arrays = mesh_io.read_mesh(obj, depsgraph, "WORLD")
            mesh_io.write_request_mesh(job_dir / "object.npz", arrays)
            fields["object"] = {"npz": str(job_dir / "object.npz")}
            notes += [arrays.note] if arrays.note else []
        if params.label.strip():
            fields["label"] = params.label.strip()
        if params.localizer.strip():
            fields["localizer"] = params.localizer.strip()
        job_id = worker.submit("estimate", fields)
    return EstimateJob(params=params, target=target.name, job_dir=job_dir, worker=worker, job_id=job_id, notes=notes)


def load_result(path: str) -> dict[str, np.ndarray]:
    return _load_npz(path, RESULT_KEYS, EstimateError)


def finish_steps(job: EstimateJob) -> Iterator[None]:
    """Write a finished job's result in short main-thread steps: the mesh data first, then one mask
    image per step (the modal operator runs one step per timer tick). Sets job.report; removes the
    job's files at the end or when the generator is closed."""
    with finishing(job, EstimateError):
        obj = live_mesh(job.target, EstimateError)
        arrays = load_result(job.result_path)
        task, label = job.params.task, job.params.label or None
        try:
            job.report = results.write_scores(obj, arrays["scores"], task, label, job.params.threshold)
        except ValueError as error:
            raise EstimateError(str(error)) from None
        yield
        key = results.result_key(task, label)
        masks = arrays["masks"]
        for mask, view in zip(masks, results.mask_view_names(masks, [str(v) for v in arrays["view_names"]])):
            job.report.images.append(results.write_mask_image(obj, key, mask, view))
            yield
        results.record_images(obj, key, job.report.images)


def finish_job(job: EstimateJob) -> results.WriteReport:
    """Write a finished job's result onto its target mesh at once (scripts, background mode)."""
    for _ in finish_steps(job):
        pass
    assert job.report is not None
    return job.report


def outcome_text(job: EstimateJob, report: results.WriteReport) -> str:
    summary = job.summary
    parts = summary.get("parts_in_contact") or []
    text = (f"InteractVLM: {report.contact_count} of {summary.get('n_vertices', '?')} vertices of {job.target!r} "
            f"in group {report.group!r} (threshold {job.params.threshold:.2f}, localizer "
            f"{summary.get('localizer', '?')} on {summary.get('device', '?')})")
    if parts:
        text += f"; parts: {', '.join(parts[:8])}"
    if report.renamed:
        text += f"; your own data kept, ours renamed: {'; '.join(report.renamed)}"
    if job.notes:
        text += f"; note: {' '.join(job.notes)}"
    for warning in summary.get("warnings") or []:  # e.g. a body in centimetres or Y-up
        text += f"; warning: {warning}"
    return text
