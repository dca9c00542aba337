"""Python helpers for scripts and batch scenes (the add-on must be registered).

    from interactvlm_blender import api      # installed extension: from bl_ext.<repo>.interactvlm import api
    out = api.estimate_contact("/photos/sit.jpg", body="SMPLX-neutral")
    out["group"], out["contact_count"], out["summary"]["parts_in_contact"]
    api.set_threshold(bpy.data.objects["SMPLX-neutral"], 0.3)
    rows = api.estimate_batch([{"image": p, "body": "Body"} for p in photos], save_every=10)
    api.export_gltf("/out/body.glb", [bpy.data.objects["Body"]])   # scores as _ivlm_contact
    api.import_result(bpy.data.objects["Body"], "/batch/out/item.npz")  # a CLI / Ray result
    api.heat_map_material(bpy.data.objects["Body"])   # a material that renders the heat map
    api.add_fitted_body(bpy.data.objects["Body"])     # the posed body the contact was reasoned on

Each call blocks until the backend answers (one worker is reused for the whole batch) and writes
the result like the operator does (the same job through runner.run(), so a job the UI started
makes it refuse at once); errors raise api.JobError / client.WorkerError with a message saying
what to fix. Unlike the operator, these helpers push no undo step.
"""
from __future__ import annotations

from typing import Any, Callable, Iterable

import bpy
import numpy as np

from . import batch, client, estimate, exchange, fitted_body, results, runner, viewport
from .runner import JobError

EstimateError = JobError  # the name scripts written for 0.1 catch

__all__ = [
    "JobError",
    "EstimateError",
    "estimate_contact",
    "estimate_batch",
    "export_gltf",
    "import_result",
    "set_threshold",
    "contact_scores",
    "stop_backend",
    "heat_map_material",
    "add_fitted_body",
]


def estimate_contact(image: str = "", body: str = "", object: str = "", task: str = "human_contact",
                     label: str = "", localizer: str = "", threshold: float = 0.5, pose: str = "WORLD",
                     resolution: int = 1024, image_name: str = "", body_source: str = "MESH",
                     gender: str = "neutral", masks: bool = True,
                     context: bpy.types.Context | None = None) -> dict[str, Any]:
    """Run one estimate and write it onto the mesh; returns names, counts and the backend summary.

    image: photo path (or image_name: a loaded bpy image). body/object: object names.
    task: human_contact | semantic_contact (needs label) | object_contact (needs object).
    body_source: MESH (render the body mesh) | SMPLX (body is an SMPL-X mesh; the template from the
    preferences' SMPL-X folder is rendered, results keep SMPL-X's 10,475-vertex order).
    """
    context = context or bpy.context
    params = estimate.EstimateParams(image_path=image, image_name=image_name, body=body, object=object, task=task,
                                     label=label, localizer=localizer, body_source=body_source, gender=gender,
                                     threshold=threshold, pose=pose, resolution=resolution,
                                     masks=masks)
    done = runner.run(lambda: estimate.start_job(context, params), estimate.apply_steps)
    job = done.job
    if job.state != runner.DONE:
        raise JobError(job.message)
    if done.error:
        raise JobError(done.error)
    report = job.report
    return {"object": job.target, "attribute": report.attribute, "group": report.group, "color": report.color,
            "contact_count": report.contact_count, "renamed": report.renamed, "images": report.images,
            "summary": job.summary, "message": estimate.outcome_text(job)}


def estimate_batch(items: Iterable[dict[str, Any]], stop_on_error: bool = False,
                   progress: Callable[[dict[str, Any]], None] | None = None, save_every: int = 0,
                   save_path: str = "", skip_done: bool = True, masks: bool = False) -> list[dict[str, Any]]:
    """estimate_contact(**item) for each item; returns one compact row per item (batch.py).

    progress(row) after each item (default: a printed line with an ETA in background mode);
    save_every=N saves the .blend every N items and at the end (to save_path, a copy, or the open
    file); skip_done skips an item whose result for the same photo, task and label is already
    recorded on its object; masks=False leaves out the view-mask images, the detection picture and the
    fitted body (the per-item overhead).
    Failures become rows with status "failed" unless stop_on_error."""
    return batch.run_batch(list(items), estimate_contact, stop_on_error=stop_on_error, progress=progress,
                           save_every=save_every, save_path=save_path, skip_done=skip_done, masks=masks)


def set_threshold(obj: bpy.types.Object, threshold: float, label: str | None = None) -> int:
    """Rewrite our Contact group(s) on obj from the stored scores; returns how many were updated."""
    return results.apply_threshold(obj, threshold, None if label is None else label)


def contact_scores(obj: bpy.types.Object, label: str = "") -> np.ndarray | None:
    """The stored per-vertex scores of one result (None when there is none)."""
    return results.stored_scores(obj, label)


def heat_map_material(obj: bpy.types.Object) -> bpy.types.Material:
    """A material showing our colour attribute, added to obj as a new slot (viewport.heat_map_material)."""
    return viewport.heat_map_material(obj)


def add_fitted_body(obj: bpy.types.Object, label: str | None = None,
                    context: bpy.types.Context | None = None) -> bpy.types.Object:
    """A new mesh object of the posed body obj's latest result (or result `label`, "" for plain contact)
    was reasoned on, beside obj; JobError when the result has none (e.g. the interactvlm localizer's)."""
    return fitted_body.add_to_scene(context or bpy.context, obj, label)


def export_gltf(path: str, objects: Iterable[bpy.types.Object] = ()) -> str:
    """Export objects (default: the selected ones) as glTF with our scores as `_ivlm_contact`."""
    return exchange.export_gltf(path, list(objects) or list(bpy.context.selected_objects))


def import_result(obj: bpy.types.Object, path: str, task: str = "human_contact", label: str = "",
                  threshold: float = 0.5) -> dict[str, Any]:
    """Write a result npz (CLI, batch, Ray) onto obj as an estimate would; returns its names and count."""
    report = exchange.import_result(obj, path, task=task, label=label, threshold=threshold)
    return {"object": obj.name, "attribute": report.attribute, "group": report.group, "color": report.color,
            "contact_count": report.contact_count, "renamed": report.renamed, "images": report.images}


def stop_backend() -> None:
    """Stop the worker now (it restarts on the next call)."""
    client.stop_worker()
