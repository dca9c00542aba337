"""One estimate job, independent of the operator that drives it.

start_job() does the main-thread work before the backend runs (checks, mesh arrays, request
files, submit); tick() is the cheap non-blocking poll the modal operator calls on each timer
event (tests call it in a loop to measure the main-thread stall); finish_job() writes a result
onto the mesh. Nothing is written to the scene before finish_job(), so any failure leaves the
scene as it was.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

import bpy
import numpy as np

from . import client, mesh_io, protocol, results
from .prefs import get_prefs, request_defaults

RUNNING, DONE, FAILED, CANCELLED = "running", "done", "failed", "cancelled"
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg"}
RESULT_KEYS = ("scores", "seen", "masks", "view_names")
SMPLX_VERTICES = 10475


class EstimateError(RuntimeError):
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


@dataclass
class EstimateJob:
    params: EstimateParams
    target: str  # the object that receives the result
    job_dir: Path
    worker: client.Worker
    job_id: str
    state: str = RUNNING
    stage: str = "queued"
    fraction: float = 0.0
    message: str = ""
    result_path: str = ""
    summary: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    report: results.WriteReport | None = None
    cancel_sent: bool = False
    started: float = field(default_factory=time.monotonic)

    @property
    def finished(self) -> bool:
        return self.state != RUNNING

    def cancel(self) -> None:
        if not self.finished and not self.cancel_sent:
            self.cancel_sent = True
            self.worker.cancel(self.job_id)


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
    obj = bpy.data.objects.get(name) if name else None
    if obj is None:
        raise EstimateError(f"no {role} mesh: pick one in the InteractVLM panel (or make it the active object)"
                            if not name else f"there is no object {name!r} to use as the {role}")
    if obj.type != "MESH":
        raise EstimateError(f"the {role} {obj.name!r} is a {obj.type.lower()}, not a mesh; pick a mesh object")
    return obj


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
    job_dir = client.new_job_dir("estimate")
    try:
        depsgraph = context.evaluated_depsgraph_get()
        fields: dict[str, Any] = {**request_defaults(prefs), "image": _image_file(params, job_dir, context.scene),
                                  "task": params.task, "resolution": int(params.resolution),
                                  "out_dir": str(job_dir / "out")}
        notes = []
        own_groups = {e.get("group") for e in results.read_record(body).values()} if body is not None else set()
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
    except mesh_io.MeshError as error:
        client.remove_job_dir(job_dir)
        raise EstimateError(str(error)) from None
    except BaseException:
        client.remove_job_dir(job_dir)
        raise
    return EstimateJob(params=params, target=target.name, job_dir=job_dir, worker=worker, job_id=job_id, notes=notes)


def tick(job: EstimateJob) -> str:
    """Non-blocking: take the job's new events and update its state. Main thread, cheap."""
    if job.finished:
        return job.state
    for event in job.worker.poll(job.job_id):
        kind = event["event"]
        if kind == "accepted":
            job.stage = "accepted"
        elif kind == "progress":
            job.stage, job.fraction = event["stage"], float(event["fraction"])
            job.message = str(event.get("message") or "")
        elif kind == "result":
            job.state, job.fraction, job.result_path = DONE, 1.0, event["path"]
            job.summary = event["summary"]
        elif kind == "error":
            job.state, job.message = FAILED, f"InteractVLM: {protocol.error_text(event)}"
        elif kind == "cancelled":
            job.state, job.message = CANCELLED, "InteractVLM: estimate cancelled; nothing was changed"
        if job.finished:
            break
    return job.state


def wait_job(job: EstimateJob, interval_s: float = 0.02) -> str:
    """Blocking: tick until the job ends (scripts and background mode)."""
    while tick(job) == RUNNING:
        time.sleep(interval_s)
    return job.state


def load_result(path: str) -> dict[str, np.ndarray]:
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {k: data[k] for k in data.files}
    except (OSError, ValueError) as error:
        raise EstimateError(f"the backend's result {path} cannot be read ({error}); run the estimate again") from None
    missing = [k for k in RESULT_KEYS if k not in arrays]
    if missing:
        raise EstimateError(f"the backend's result lacks {', '.join(missing)}; update the backend to this add-on's release")
    return arrays


def finish_steps(job: EstimateJob) -> Iterator[None]:
    """Write a finished job's result in short main-thread steps: the mesh data first, then one mask
    image per step (the modal operator runs one step per timer tick). Sets job.report; removes the
    job's files at the end or when the generator is closed."""
    try:
        if job.state != DONE:
            raise EstimateError(job.message or f"the job ended as {job.state}")
        obj = bpy.data.objects.get(job.target)
        if obj is None or obj.type != "MESH":
            raise EstimateError(f"object {job.target!r} was removed or renamed while the job ran; nothing was written")
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
    finally:
        client.remove_job_dir(job.job_dir)


def finish_job(job: EstimateJob) -> results.WriteReport:
    """Write a finished job's result onto its target mesh at once (scripts, background mode)."""
    for _ in finish_steps(job):
        pass
    assert job.report is not None
    return job.report


def discard_job(job: EstimateJob) -> None:
    """Cancel if still running and remove the job's files (failure, cancel, unregister)."""
    job.cancel()
    client.remove_job_dir(job.job_dir)


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
    return text
