"""Batch and exchange operators: Estimate Selected (one photo, every selected mesh, one job on the
runner), Import Result (a CLI / batch / Ray npz onto a mesh) and Export glTF (scores as `_ivlm_contact`).

Estimate Selected is one runner job (`SelectedJob`) that submits the meshes' estimates one after
another (the worker runs one job at a time) and keeps each finished estimate until the end; its
result is applied afterwards, one mesh per step, through estimate.apply_steps, so a cancel or a
failure before that leaves the scene as it was. A mesh whose estimate fails is reported and skipped.
Mask images are left out (batches: see api.estimate_batch).
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Iterable, Iterator

import bpy
from bpy.props import EnumProperty, FloatProperty, StringProperty
from bpy_extras.io_utils import ExportHelper, ImportHelper

from . import client, estimate, exchange, runner
from .ops_job import JobOperator
from .props import TASKS
from .runner import JobError


@dataclass(kw_only=True)
class SelectedJob(runner.Job):
    """Estimates of one photo on several meshes, one after another (see the module docstring)."""

    params: list[estimate.EstimateParams]
    what: str = "estimate of the selected meshes"
    current: estimate.EstimateJob | None = None
    done: list[estimate.EstimateJob] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    total: int = 0

    def __post_init__(self) -> None:
        self.total = len(self.params)
        self._next()

    def _next(self) -> None:
        while self.params and self.current is None:
            params = self.params.pop(0)
            try:
                self.current = estimate.start_job(bpy.context, params)
            except (JobError, client.WorkerError) as error:
                self.failures.append(f"{params.object or params.body}: {error}")

    def tick(self) -> str:
        if self.finished:
            return self.state
        job = self.current
        if job is not None and job.tick() != runner.RUNNING:
            self.current = None
            if job.state == runner.DONE:
                self.done.append(job)
            else:
                self.failures.append(f"{job.target}: {job.message}")
                job.discard()
            if self.cancel_requested:
                self.state, self.message = runner.CANCELLED, f"InteractVLM: {self.what} cancelled; nothing was changed"
                return self.state
            self._next()
        if self.current is None:
            self.state = runner.DONE if self.done else runner.FAILED
            self.message = "" if self.done else "InteractVLM: no mesh got a result: " + "; ".join(self.failures)
        else:
            finished = len(self.done) + len(self.failures)
            self.stage = f"{self.current.target} ({finished + 1}/{self.total})"
            self.fraction = (finished + self.current.fraction) / max(self.total, 1)
        return self.state

    def request_cancel(self) -> None:
        if self.current is not None:
            self.current.cancel()
        self.params.clear()

    def discard(self) -> None:
        for job in [*self.done, *([self.current] if self.current else [])]:
            job.discard()


def apply_selected(job: SelectedJob) -> Iterator[None]:
    for done in job.done:
        try:
            yield from estimate.apply_steps(done)
        except JobError as error:  # e.g. that mesh was removed meanwhile: the others still get theirs
            job.failures.append(f"{done.target}: {error}")
            done.report = None


class INTERACTVLM_OT_estimate_selected(JobOperator, bpy.types.Operator):
    """Estimate contact on every selected mesh from the one reference photo (one job)"""

    bl_idname = "interactvlm.estimate_selected"
    bl_label = "Estimate Selected"
    bl_options = {"UNDO"}

    def job_start(self, context: bpy.types.Context) -> SelectedJob:
        settings = context.scene.interactvlm
        meshes = sorted(o.name for o in context.selected_objects if o.type == "MESH")
        if not meshes:
            raise JobError("select the meshes to estimate (each gets its own result from the one photo)")
        use_image = settings.image_source == "IMAGE"
        base = estimate.EstimateParams(
            image_path="" if use_image else settings.image_path,
            image_name=settings.image.name if use_image and settings.image else "",
            body=settings.body.name if settings.body else "", body_source=settings.body_source,
            gender=settings.gender, task=settings.task, label=settings.label, localizer=settings.localizer,
            threshold=settings.threshold, pose=settings.pose, resolution=settings.resolution, masks=False)
        on_object = base.task == "object_contact"
        params = [replace(base, object=name) if on_object else replace(base, body=name) for name in meshes]
        return _checked(SelectedJob(params=params))

    def job_apply(self, context: bpy.types.Context, job: SelectedJob) -> Iterable[None]:
        return apply_selected(job)

    def job_report(self, context: bpy.types.Context, job: SelectedJob) -> tuple[str, str]:
        written = [d for d in job.done if d.report is not None]
        text = f"InteractVLM: {len(written)} of {job.total} meshes got a result: " + ", ".join(
            f"{d.target} ({d.report.contact_count} in {d.report.group!r})" for d in written)
        if job.failures:
            text += "; failed: " + "; ".join(job.failures)
        return ("WARNING" if job.failures else "INFO"), text


def _checked(job: SelectedJob) -> SelectedJob:
    """A batch whose every mesh failed to start is an error now (nothing was submitted)."""
    if job.current is None and not job.done:
        raise JobError("no selected mesh could start: " + "; ".join(job.failures))
    return job


class INTERACTVLM_OT_import_result(bpy.types.Operator, ImportHelper):
    """Write a result .npz (from the command line, a batch or Ray) onto the active mesh as an estimate does"""

    bl_idname = "interactvlm.import_result"
    bl_label = "Import Result"
    bl_options = {"REGISTER", "UNDO"}

    filename_ext = ".npz"
    filter_glob: StringProperty(name="Filter", default="*.npz", options={"HIDDEN"})
    object: StringProperty(name="Object", description="Mesh to write onto (empty: the active object)")
    task: EnumProperty(name="Task", items=TASKS, default="human_contact")
    label: StringProperty(name="Label", description="Object label of a semantic/object result")
    threshold: FloatProperty(name="Threshold", min=0.0, max=1.0, default=0.5)

    def execute(self, context: bpy.types.Context) -> set[str]:
        obj = bpy.data.objects.get(self.object) if self.object else context.view_layer.objects.active
        try:
            report = exchange.import_result(obj, self.filepath, task=self.task, label=self.label,
                                            threshold=self.threshold)
        except JobError as error:
            self.report({"ERROR"}, f"InteractVLM: {error}")
            return {"CANCELLED"}
        self.report({"INFO"}, f"InteractVLM: {report.contact_count} vertices of {obj.name!r} in group "
                              f"{report.group!r} from {self.filepath}")
        return {"FINISHED"}


class INTERACTVLM_OT_export_gltf(bpy.types.Operator, ExportHelper):
    """Export the selected meshes as glTF with the contact scores as the `_ivlm_contact` attribute"""

    bl_idname = "interactvlm.export_gltf"
    bl_label = "Export glTF with Contact"

    filename_ext = ".glb"
    filter_glob: StringProperty(name="Filter", default="*.glb;*.gltf", options={"HIDDEN"})

    def execute(self, context: bpy.types.Context) -> set[str]:
        try:
            path = exchange.export_gltf(self.filepath, list(context.selected_objects))
        except JobError as error:
            self.report({"ERROR"}, f"InteractVLM: {error}")
            return {"CANCELLED"}
        self.report({"INFO"}, f"InteractVLM: exported {path}")
        return {"FINISHED"}


CLASSES = (INTERACTVLM_OT_estimate_selected, INTERACTVLM_OT_import_result, INTERACTVLM_OT_export_gltf)
