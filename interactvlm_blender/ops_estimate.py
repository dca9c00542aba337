"""`interactvlm.estimate_contact`: modal from the UI, blocking from scripts (ops_job.JobOperator).

Invoked from the UI it polls the worker on a timer, shows progress in the panel and the status
bar, and cancels on Esc or Cancel; called with EXEC (any script call such as
`bpy.ops.interactvlm.estimate_contact(image=..., body=...)`) or in background mode it blocks until
the job ends. The result is written in one undo step.
"""
from __future__ import annotations

from typing import Generator, Iterable

import bpy
from bpy.props import EnumProperty, FloatProperty, IntProperty, StringProperty

from . import estimate, protocol, viewport
from .ops_job import JobOperator
from .props import BODY_SOURCES, GENDERS, POSES, TASKS
from .targets import resolve_targets


class INTERACTVLM_OT_estimate_contact(JobOperator, bpy.types.Operator):
    """Estimate which vertices are in contact from the reference photo (runs the backend)"""

    bl_idname = "interactvlm.estimate_contact"
    bl_label = "Estimate Contact"
    # UNDO without REGISTER: one undo step, but no "Adjust Last Operation" panel (a redo there
    # would re-run the whole model while blocking the UI).
    bl_options = {"UNDO"}
    job_what = "estimate"

    # Explicit arguments for scripts; an argument left unset takes the panel's (scene) setting.
    image: StringProperty(name="Photo", subtype="FILE_PATH", description="Reference photo file")
    image_name: StringProperty(name="Image", description="Name of a loaded Blender image used as the photo")
    body: StringProperty(name="Body", description="Body mesh object name")
    object: StringProperty(name="Object", description="Object mesh object name")
    body_source: EnumProperty(name="Body Source", items=BODY_SOURCES, default="MESH")
    gender: EnumProperty(name="Gender", items=GENDERS, default="neutral")
    task: EnumProperty(name="Task", items=TASKS, default="human_contact")
    label: StringProperty(name="Label", description="Object label for semantic/object contact")
    localizer: StringProperty(name="Localizer", description="Backend localizer (empty: default)")
    threshold: FloatProperty(name="Threshold", min=0.0, max=1.0, default=0.5,
                             description="Score cut-off: vertices scoring at least this join the Contact group")
    pose: EnumProperty(name="Pose", items=POSES, default="WORLD")
    resolution: IntProperty(name="Resolution", min=protocol.MIN_RESOLUTION, max=protocol.MAX_RESOLUTION,
                            default=protocol.DEFAULT_RESOLUTION)

    def _params(self, context: bpy.types.Context) -> estimate.EstimateParams:
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
        body, obj = resolve_targets(context, pick("body", settings.body.name if settings.body else ""),
                                    pick("object", settings.object.name if settings.object else ""))
        return estimate.EstimateParams(
            image_path=image_path,
            image_name=image_name,
            body=body,
            object=obj,
            body_source=pick("body_source", settings.body_source),
            gender=pick("gender", settings.gender),
            task=pick("task", settings.task),
            label=pick("label", settings.label),
            localizer=pick("localizer", settings.localizer),
            threshold=pick("threshold", settings.threshold),
            pose=pick("pose", settings.pose),
            resolution=pick("resolution", settings.resolution),
        )

    def job_start(self, context: bpy.types.Context) -> Generator[float, None, estimate.EstimateJob]:
        return estimate.start_steps(context, self._params(context))  # a 1M-vertex body is read over several ticks

    def job_apply(self, context: bpy.types.Context, job: estimate.EstimateJob) -> Iterable[None]:
        return estimate.apply_steps(job)

    def job_report(self, context: bpy.types.Context, job: estimate.EstimateJob) -> tuple[str, str]:
        settings = context.scene.interactvlm
        if settings.show_heat_map:  # the result is seen at once (viewport.py)
            viewport.show_heat_map(context)
        else:
            settings.show_heat_map = True
        return "INFO", estimate.outcome_text(job)


CLASSES = (INTERACTVLM_OT_estimate_contact,)
