"""`interactvlm.estimate_contact` (modal from the UI, blocking from scripts) and its Cancel button.

Invoked from the UI it polls the worker on a 0.1 s timer (modal_ui.py; job.tick only drains a
queue, so the UI stays live), shows progress in the panel and the status bar, and cancels on Esc
or Cancel. Called with EXEC (any script call such as
`bpy.ops.interactvlm.estimate_contact(image=..., body=...)`) or in background mode it blocks until
the job ends. The result is written in one undo step.
"""
from __future__ import annotations

import time

import bpy
from bpy.props import EnumProperty, FloatProperty, IntProperty, StringProperty

from . import client, job as jobs, modal_ui
from .props import BODY_SOURCES, GENDERS, POSES, TASKS

_active: jobs.EstimateJob | None = None  # one job at a time per session


def active_job() -> jobs.EstimateJob | None:
    """The estimate in progress (running, or writing its result), else None."""
    return _active


def update_status(status, job: jobs.EstimateJob | None) -> None:
    """Copy a job's progress into the WindowManager status the panel draws (cheap)."""
    if job is None:
        status.running, status.fraction, status.stage = False, 0.0, ""
        return
    status.running, status.fraction, status.stage = True, job.fraction, job.stage
    status.message = job.message


class EstimateRun:
    """One timer tick of a running estimate: poll the worker, then write the result in short steps.

    The modal operator calls step() on each timer event and the blocking path calls it in a loop,
    so both share one code path; tests time step() to bound the main-thread stall.
    """

    def __init__(self, job: jobs.EstimateJob, interactive: bool) -> None:
        self.job, self.interactive = job, interactive
        self.writer = None
        self.error = ""

    @property
    def writing(self) -> bool:
        return self.writer is not None

    def step(self, context: bpy.types.Context) -> bool:
        """Advance by one short step; True when the run has ended (see job.state / self.error)."""
        job = self.job
        if self.writer is None:
            jobs.tick(job)
            if job.finished and job.state != jobs.DONE:
                return True
            if job.state == jobs.DONE:
                self.writer = jobs.finish_steps(job)
                job.stage = "writing"  # shown while the result is written, one piece per tick
        if self.writer is not None:
            try:
                next(self.writer)
            except StopIteration:
                return True
            except jobs.EstimateError as error:
                self.error = str(error)
                return True
        if self.interactive:
            update_status(context.window_manager.interactvlm_status, job)
            modal_ui.status_text(context, job)
            modal_ui.redraw(context)
        return False


def discard_active() -> None:
    """Cancel and forget the running job (unregister / file load)."""
    global _active
    if _active is not None:
        jobs.discard_job(_active)
        _active = None


class INTERACTVLM_OT_estimate_contact(bpy.types.Operator):
    """Estimate which vertices are in contact from the reference photo (runs the backend)"""

    bl_idname = "interactvlm.estimate_contact"
    bl_label = "Estimate contact"
    # UNDO without REGISTER: one undo step, but no "Adjust Last Operation" panel (a redo there
    # would re-run the whole model while blocking the UI).
    bl_options = {"UNDO"}

    # Explicit arguments for scripts; an argument left unset takes the panel's (scene) setting.
    image: StringProperty(name="Photo", subtype="FILE_PATH", description="Reference photo file")
    image_name: StringProperty(name="Image", description="Name of a loaded Blender image used as the photo")
    body: StringProperty(name="Body", description="Body mesh object name")
    object: StringProperty(name="Object", description="Object mesh object name")
    body_source: EnumProperty(name="Body source", items=BODY_SOURCES, default="MESH")
    gender: EnumProperty(name="Gender", items=GENDERS, default="neutral")
    task: EnumProperty(name="Task", items=TASKS, default="human_contact")
    label: StringProperty(name="Label", description="Object label for semantic/object contact")
    localizer: StringProperty(name="Localizer", description="Backend localizer (empty: default)")
    threshold: FloatProperty(name="Threshold", min=0.0, max=1.0, default=0.5)
    pose: EnumProperty(name="Pose", items=POSES, default="WORLD")
    resolution: IntProperty(name="Resolution", min=32, max=4096, default=1024)

    def _params(self, context: bpy.types.Context) -> jobs.EstimateParams:
        settings = context.scene.interactvlm
        given = self.properties.is_property_set

        def pick(name: str, scene_value):
            return getattr(self, name) if given(name) else scene_value

        image_path = self.image if given("image") else ""
        image_name = self.image_name if given("image_name") else ""
        if not image_path and not image_name:
            if settings.image_source == "IMAGE":
                image_name = settings.image.name if settings.image else ""
            else:
                image_path = settings.image_path
        body, obj = jobs.resolve_targets(context, pick("body", settings.body.name if settings.body else ""),
                                         pick("object", settings.object.name if settings.object else ""))
        return jobs.EstimateParams(image_path=image_path, image_name=image_name, body=body, object=obj,
                                   body_source=pick("body_source", settings.body_source),
                                   gender=pick("gender", settings.gender),
                                   task=pick("task", settings.task), label=pick("label", settings.label),
                                   localizer=pick("localizer", settings.localizer),
                                   threshold=pick("threshold", settings.threshold), pose=pick("pose", settings.pose),
                                   resolution=pick("resolution", settings.resolution))

    def _start(self, context: bpy.types.Context) -> jobs.EstimateJob | None:
        global _active
        from .ops_scene import active_job as active_scene_job  # the worker runs one job at a time

        if active_job() is not None:
            self.report({"ERROR"}, "InteractVLM: an estimate is already running; wait for it or press Cancel")
            return None
        if active_scene_job() is not None:
            self.report({"ERROR"}, "InteractVLM: a scene contact or placement job is running; wait for it or press Cancel")
            return None
        try:
            _active = jobs.start_job(context, self._params(context))
        except (jobs.EstimateError, client.WorkerError) as error:
            self.report({"ERROR"}, f"InteractVLM: {error}")
            return None
        return _active

    def _end(self, context: bpy.types.Context, run: EstimateRun) -> set[str]:
        """Report the outcome; the scene has changed only when this returns FINISHED."""
        global _active
        job = run.job
        _active = None
        update_status(context.window_manager.interactvlm_status, None)
        if run.writer is None:  # failed or cancelled before anything was written
            jobs.discard_job(job)
            self.report({"WARNING"} if job.state == jobs.CANCELLED else {"ERROR"}, job.message)
            return {"CANCELLED"}
        if run.error:
            self.report({"ERROR"}, f"InteractVLM: {run.error}")
            return {"CANCELLED"} if job.report is None else {"FINISHED"}
        self.report({"INFO"}, jobs.outcome_text(job, job.report))
        return {"FINISHED"}

    def execute(self, context: bpy.types.Context) -> set[str]:
        job = self._start(context)
        if job is None:
            return {"CANCELLED"}
        run = EstimateRun(job, interactive=False)
        while not run.step(context):
            if not run.writing:
                time.sleep(0.02)
        return self._end(context, run)

    def invoke(self, context: bpy.types.Context, event) -> set[str]:
        if bpy.app.background or context.window is None:
            return self.execute(context)
        job = self._start(context)
        if job is None:
            return {"CANCELLED"}
        self._run = EstimateRun(job, interactive=True)
        update_status(context.window_manager.interactvlm_status, job)
        modal_ui.start(self, context)
        modal_ui.status_text(context, job)
        return {"RUNNING_MODAL"}

    def modal(self, context: bpy.types.Context, event) -> set[str]:
        run = self._run
        if _active is not run.job:  # discarded (unregister or file load)
            self._cleanup(context)
            return {"CANCELLED"}
        if event.type == "ESC":
            run.job.cancel()  # a no-op once the job has finished (while its result is written)
        if event.type != "TIMER":
            return {"PASS_THROUGH"}
        if not run.step(context):
            return {"PASS_THROUGH"}
        self._cleanup(context)
        return self._end(context, run)

    def _cleanup(self, context: bpy.types.Context) -> None:
        update_status(context.window_manager.interactvlm_status, None)
        modal_ui.stop(self, context)


class INTERACTVLM_OT_cancel_estimate(modal_ui.CancelJobButton, bpy.types.Operator):
    """Stop the running estimate; nothing is written"""

    bl_idname = "interactvlm.cancel_estimate"
    bl_label = "Cancel"
    running_job = staticmethod(active_job)


CLASSES = (INTERACTVLM_OT_estimate_contact, INTERACTVLM_OT_cancel_estimate)
