"""The estimate job: photo + body (and object) -> per-vertex contact scores written onto a mesh.

start_steps() does the main-thread work before the backend runs (checks, mesh arrays, request
files, submit) in short steps and returns the job (start_job(): the same steps in one go);
apply_steps() writes a DONE job's result in short main-thread steps; outcome_text() is the report.
Operators run it through ops_job.JobOperator, scripts through runner.run(); nothing is written to
the scene before apply_steps() commits the mesh data, so any failure or cancel before that leaves
the scene as it was.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generator, Iterator

import bpy
import numpy as np

from . import client, fitted_body, mesh_io, naming, protocol, results, runner, thumbnails
from .prefs import checkpoint_path, get_prefs
from .runner import JobError
from .targets import live_mesh, mesh_object

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg"}


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
    threshold: float = 0.5  # score cut-off of the Contact group
    pose: str = "WORLD"
    resolution: int = protocol.DEFAULT_RESOLUTION
    # write the per-result extras: the view-mask images, the detection picture and the fitted body
    # (batches skip them: ~10 ms per mask at 1024 px, 4 per item; ~0.7 MB of .blend per fitted body)
    masks: bool = True


@dataclass(kw_only=True)
class EstimateJob(runner.BackendJob):
    params: EstimateParams
    target: str  # the object that receives the result
    what: str = "estimate"
    report: results.WriteReport | None = None
    photo: str = ""  # which photo made it (photo_identity), kept in the result's record


def photo_identity(params: EstimateParams) -> str:
    """The photo as the record names it: the resolved file path, or `image:<name>` for a loaded image
    (what api.estimate_batch compares to skip items already done)."""
    if params.image_name:
        return f"image:{params.image_name}"
    return str(Path(bpy.path.abspath(params.image_path)).expanduser().resolve()) if params.image_path else ""


def _image_file(params: EstimateParams, job_dir: Path, scene: bpy.types.Scene) -> str:
    if params.image_name:
        image = bpy.data.images.get(params.image_name)
        if image is None:
            raise JobError(f"there is no image {params.image_name!r} in this file; pick a loaded image or a photo file")
        path = Path(bpy.path.abspath(image.filepath)) if image.filepath else None
        if path is not None and path.is_file() and image.packed_file is None and not image.is_dirty \
                and path.suffix.lower() in IMAGE_SUFFIXES:
            return str(path.resolve())
        if not image.has_data and image.source == "FILE":
            raise JobError(f"image {image.name!r} has no pixels (its file {image.filepath!r} is missing); reload it")
        copy = job_dir / "photo.png"
        image.save_render(str(copy), scene=scene)  # packed/generated/edited images: a PNG copy for the backend
        return str(copy)
    if not params.image_path:
        raise JobError("no reference photo: choose a photo file or a loaded image in the InteractVLM panel")
    path = Path(bpy.path.abspath(params.image_path)).expanduser()
    if not path.is_file():
        raise JobError(f"the photo {str(path)!r} does not exist; choose an existing PNG or JPEG file")
    return str(path.resolve())


def _mesh_object(name: str, role: str) -> bpy.types.Object:
    return mesh_object(name, role, "or make it the active object")


def _smplx_dir(body: bpy.types.Object, prefs: Any) -> Path:
    """The SMPL-X model folder: results follow SMPL-X's vertex order, which the mesh must share."""
    folder = Path(bpy.path.abspath(prefs.smplx_dir)).expanduser() if prefs.smplx_dir else None
    if folder is None or not folder.is_dir():
        raise JobError("body source SMPL-X needs the SMPL-X model folder: set Preferences > Add-ons > "
                       "InteractVLM > SMPL-X Model Folder (the folder with SMPLX_NEUTRAL.npz)")
    count = len(body.data.vertices)
    if count != protocol.SMPLX_VERTEX_COUNT:
        raise JobError(f"body source SMPL-X needs an SMPL-X mesh ({protocol.SMPLX_VERTEX_COUNT} vertices); "
                       f"{body.name!r} has {count}: use body source 'Scene mesh' for other meshes")
    return folder.resolve()


def start_job(context: bpy.types.Context, params: EstimateParams) -> EstimateJob:
    """Check inputs, write the request files and submit, in one go; JobError/WorkerError on problems."""
    return runner.finish(start_steps(context, params))


def start_steps(context: bpy.types.Context, params: EstimateParams) -> Generator[float, None, EstimateJob]:
    """start_job in short main-thread steps (runner.Preparation: a 1M-vertex body with its groups is
    seconds of reading): the checks and the worker before the first yield, then the meshes
    (mesh_io.read_steps), the request files and the submit. Closed early (a cancel), it removes the
    request folder; nothing is written to the scene either way."""
    if params.task not in protocol.TASKS:
        raise JobError(f"unknown task {params.task!r}; use {', '.join(protocol.TASKS)}")
    if params.task == "semantic_contact" and not params.label.strip():
        raise JobError("semantic contact needs an object label (e.g. 'chair'): fill in Label")
    needs_body = params.task != "object_contact"
    body = _mesh_object(params.body, "body") if (needs_body or params.body) else None
    obj = _mesh_object(params.object, "object") if params.task == "object_contact" else None
    target = obj if obj is not None else body
    prefs = get_prefs(context)
    worker = client.get_worker(prefs)  # WorkerError (e.g. missing Python) before any file is written
    with runner.request_folder("estimate") as job_dir:
        yield runner.Alone(0.0)  # evaluating the depsgraph after a change: ~85 ms at 1M vertices, a step of its own
        depsgraph = context.evaluated_depsgraph_get()
        notes: list[str] = []
        body_npz = object_npz = smplx_dir = None
        own_groups = results.our_names(body, "group") if body is not None else set()  # results, not rig groups
        if body is not None and params.body_source == "SMPLX":
            smplx_dir = _smplx_dir(body, prefs)
        elif body is not None:
            # object_contact uses the body only for its placement next to the object: world space.
            pose = "WORLD" if obj is not None else params.pose
            arrays = yield from mesh_io.read_steps(body, depsgraph, pose, with_groups=True, skip_groups=own_groups)
            yield runner.Alone(1.0)
            body_npz = yield from mesh_io.request_mesh_steps(job_dir / "body.npz", arrays)
            notes += [arrays.note] if arrays.note else []
            yield runner.Alone(1.0)
        if obj is not None:
            arrays = yield from mesh_io.read_steps(obj, depsgraph, "WORLD")
            yield runner.Alone(1.0)
            object_npz = yield from mesh_io.request_mesh_steps(job_dir / "object.npz", arrays)
            notes += [arrays.note] if arrays.note else []
            yield runner.Alone(1.0)
        fields = protocol.estimate_request(
            image=_image_file(params, job_dir, context.scene), out_dir=job_dir / "out", task=params.task,
            label=params.label, body_npz=body_npz, smplx_dir=smplx_dir, gender=params.gender,
            object_npz=object_npz, localizer=params.localizer, device=prefs.device,
            resolution=params.resolution, checkpoint_dir=checkpoint_path(prefs))
        return EstimateJob.submit(worker, "estimate", fields, params=params, target=target.name, job_dir=job_dir,
                                  notes=notes, photo=photo_identity(params))


def apply_steps(job: EstimateJob) -> Iterator[float]:
    """Write a DONE job's result in short main-thread steps: the mesh data first (checked before
    anything is written), then the fitted body the localizer returned, if any (fitted_body.store), then
    one mask image per step, then the photo with the localizer's detections (none of these extras when
    params.masks is off); each step yields the fraction written. Sets job.report."""
    obj = live_mesh(job.target)
    wanted = ("scores", "masks", "view_names", "photo", *protocol.FITTED_BODY_KEYS) if job.params.masks else ("scores",)
    try:
        arrays = protocol.read_result("estimate", job.result_path, wanted)
    except protocol.ResultError as error:
        raise JobError(str(error)) from None
    if runner.Work(results.WRITE_STEP_S).spend(5 * results.ARRAY_VALUE_S * len(arrays["scores"])):
        yield runner.Revocable(0.0, alone=True)  # a 1M-vertex result: reading it is a step (nothing written yet)
    task, label = job.params.task, job.params.label or None
    key = naming.result_key(task, label)
    # The mesh data in steps (results.write_steps: a 1M-vertex result is ~1 s of writing); until it is
    # in, a cancel leaves the mesh as it was; after it, the fitted body and the images complete the result.
    job.report = yield from results.write_steps(
        obj, key, naming.estimate_names(key), arrays["scores"], group_values=arrays["scores"],
        group_threshold=job.params.threshold,
        settings={"threshold": float(job.params.threshold), "task": task, "label": label or "", "image": job.photo,
                  "provenance": job.summary.get("provenance"),
                  "parts": [str(p) for p in job.summary.get("parts_in_contact") or []]})
    # then the extras: the fitted body and the images, one step each (extras_steps)
    images = bool(job.params.masks)
    found, notes = thumbnails.result_detections(job.summary) if images else (None, [])
    job.notes += notes
    count = extra_step_count(arrays, images, found)
    yield 1 / (1 + count)
    extras = extras_steps(obj, key, arrays, job.report, images, found)
    while True:
        try:
            fraction = next(extras)
        except StopIteration as end:
            job.notes += end.value
            break
        yield (1 + fraction * count) / (1 + count)


def extra_step_count(arrays: dict[str, np.ndarray], images: bool, found: dict[str, Any] | None) -> int:
    """How many steps extras_steps takes for these result arrays."""
    fitted = all(name in arrays for name in protocol.FITTED_BODY_KEYS)
    return int(fitted) + (len(arrays["masks"]) + (found is not None) if images else 0)


def extras_steps(obj: bpy.types.Object, key: str, arrays: dict[str, np.ndarray], report: results.WriteReport,
                 images: bool, found: dict[str, Any] | None) -> Generator[float, None, list[str]]:
    """What a result carries besides its mesh data, written after it: an estimate's last steps and an
    imported result's (yields the fraction written; returns notes for the report). First the
    localizer's posed body, if any (fitted_body.store: ~10-20 ms for the default's 13,718 vertices, a
    step of its own; without one it only drops the replaced result's kept body); then, with `images`,
    one mask image per view, appended to report.images, and the photo with the detections `found`
    (thumbnails.result_detections of the result's summary; None takes an older picture away)."""
    total, done = max(extra_step_count(arrays, images, found), 1), 0
    fitted_body.store(obj, key, arrays)
    if all(name in arrays for name in protocol.FITTED_BODY_KEYS):
        done += 1
        yield done / total
    if not images:
        return []
    masks = arrays["masks"]
    for mask, view in zip(masks, results.mask_view_names(masks, [str(v) for v in arrays["view_names"]])):
        report.images.append(results.write_mask_image(obj, key, mask, view))
        done += 1
        yield done / total
    results.record_images(obj, key, report.images)
    notes = thumbnails.update_detection_image(obj, key, found, arrays.get("photo"))
    if found is not None:
        yield 1.0
    return notes


def outcome_text(job: EstimateJob) -> str:
    """The report of an applied estimate: counts, group, localizer, renamed names, notes, warnings."""
    report, summary = job.report, job.summary
    assert report is not None
    parts = summary.get("parts_in_contact") or []
    text = (f"InteractVLM: {report.contact_count} of {summary.get('n_vertices', '?')} vertices of {job.target!r} "
            f"in group {report.group!r} (threshold {job.params.threshold:.2f}, localizer "
            f"{summary.get('localizer', '?')} on {summary.get('device', '?')})")
    if parts:
        text += f"; parts: {', '.join(parts[:8])}"
    if report.renamed:
        text += f"; your own data kept, ours renamed: {'; '.join(report.renamed)}"
    if summary.get("fitted_body_frame"):
        text += "; Add Fitted Body shows the pose it was reasoned on"
    if job.notes:
        text += f"; note: {' '.join(job.notes)}"
    for warning in summary.get("warnings") or []:  # e.g. a body in centimetres or Y-up
        text += f"; warning: {warning}"
    return text
