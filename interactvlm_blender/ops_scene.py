"""Scene contact and contact-guided placement: operators, their settings and a sub-panel.

Registration: through `CLASSES` (the settings PropertyGroup's register()/unregister() add/remove
`Scene.interactvlm_scene`). The sub-panel's bl_parent_id is panel.VIEW3D_PT_interactvlm, so CLASSES
must register after panel's.

- `interactvlm.scene_contact`: exact per-vertex contact of body and object as they stand (no
  image); writes `ivlm_scene_contact` / `ivlm_scene_depth` / `Scene Contact` on both meshes.
- `interactvlm.place_object`: moves the object (or the body's root) so the object's contact region
  meets the body's, from two vertex groups (or float attributes), in one undo step; reports the
  residual distance and penetration.
Both are jobs (ops_job.JobOperator: modal from the UI, blocking from scripts and in background
mode; `interactvlm.cancel_job` or Esc stops them). Unset operator arguments take the panel's
settings (body/object from the main panel, the rest from this one).
"""
from __future__ import annotations

from typing import Generator, Iterable

import bpy
from bpy.props import BoolProperty, EnumProperty, FloatProperty, PointerProperty, StringProperty

from . import placement, protocol, runner, scene_contact
from .ops_job import JobOperator
from .props import enum_items
from .scene_contact import PairJob
from .targets import resolve_targets

MOVES = enum_items(protocol.MOVES, {
    "object": ("Object", "Move the object onto the body's contact region"),
    "body": ("Body", "Move the body's root (its top-most parent, e.g. the rig) onto the object instead")})


# Each setting is defined once, for the panel's settings and the operator argument of the same name
# (an unset argument takes the panel's value): Blender registers properties of mixin classes too.
class _ContactDistance:
    contact_distance: FloatProperty(name="Contact Distance", default=protocol.DEFAULT_CONTACT_DISTANCE, min=1e-6,
                                    soft_max=0.2, subtype="DISTANCE", unit="LENGTH", precision=4,
                                    description="Vertices closer than this to the other mesh are in contact (score 1 "
                                                "at touching, 0 at this distance); penetrating vertices score 1")


class _PlaceSettings:
    body_contact: StringProperty(name="Body Contact", default="Contact",
                                 description="Vertex group (or float attribute) of the body's contact region")
    object_contact: StringProperty(name="Object Contact", default="Contact",
                                   description="Vertex group (or float attribute) of the object's contact region")
    move: EnumProperty(name="Move", items=MOVES, default="object")
    scale: BoolProperty(name="Scale", default=False, description="Also solve for a uniform scale of the moved mesh")


class InteractVLMSceneOpsSettings(_ContactDistance, _PlaceSettings, bpy.types.PropertyGroup):
    """Scene contact / placement settings (Scene.interactvlm_scene), saved with the .blend."""

    last_report: StringProperty(name="Last Result", default="", options={"SKIP_SAVE"})

    @classmethod
    def register(cls) -> None:
        bpy.types.Scene.interactvlm_scene = PointerProperty(type=cls)

    @classmethod
    def unregister(cls) -> None:
        if hasattr(bpy.types.Scene, "interactvlm_scene"):
            del bpy.types.Scene.interactvlm_scene


class _PairOperator(JobOperator):
    """What both pair operators share: the body/object arguments and the panel's last report."""

    body: StringProperty(name="Body", description="Body mesh object name (empty: the panel's body or the active mesh)")
    object: StringProperty(name="Object", description="Object mesh object name (empty: the panel's object or "
                                                       "another selected mesh)")

    def _targets(self, context: bpy.types.Context) -> tuple[str, str]:
        main = context.scene.interactvlm
        body = self.body if self.body else (main.body.name if main.body else "")
        obj = self.object if self.object else (main.object.name if main.object else "")
        return resolve_targets(context, body, obj)

    def _setting(self, context: bpy.types.Context, name: str):
        """The operator argument when given, else the panel's setting."""
        if self.properties.is_property_set(name):
            return getattr(self, name)
        return getattr(context.scene.interactvlm_scene, name)

    def job_told(self, context: bpy.types.Context, level: str, text: str) -> None:
        context.scene.interactvlm_scene.last_report = text


class INTERACTVLM_OT_scene_contact(_ContactDistance, _PairOperator, bpy.types.Operator):
    """Mark where body and object touch or penetrate as they stand in the scene (exact mesh proximity, no photo)"""

    bl_idname = "interactvlm.scene_contact"
    bl_label = "Scene Contact"
    bl_options = {"REGISTER", "UNDO"}

    def job_start(self, context: bpy.types.Context) -> Generator[float, None, PairJob]:
        body, obj = self._targets(context)  # two 1M-vertex meshes are read over several ticks
        return scene_contact.start_steps(context, body, obj, self._setting(context, "contact_distance"))

    def job_apply(self, context: bpy.types.Context, job: PairJob) -> Iterable[None]:
        return scene_contact.apply_steps(job)

    def job_report(self, context: bpy.types.Context, job: PairJob) -> tuple[str, str]:
        return scene_contact.outcome(context, job)


class INTERACTVLM_OT_place_object(_PlaceSettings, _PairOperator, bpy.types.Operator):
    """Move the object (or the body's root) so its contact region meets the body's, avoiding penetration"""


    bl_idname = "interactvlm.place_object"
    bl_label = "Place by Contact"
    bl_options = {"REGISTER", "UNDO"}

    penetration_weight: FloatProperty(name="Penetration Weight", default=10.0, min=0.0, soft_max=1000.0,
                                      description="How strongly penetrating object vertices push the solution out "
                                                  "(each weighs this many contact pairs)")

    def job_start(self, context: bpy.types.Context) -> Generator[float, None, PairJob]:
        body, obj = self._targets(context)
        return placement.start_steps(
            context, body, obj, self._setting(context, "body_contact"), self._setting(context, "object_contact"),
            move=self._setting(context, "move"), scale=self._setting(context, "scale"),
            penetration_weight=self.penetration_weight,
            contact_distance=context.scene.interactvlm_scene.contact_distance)

    def job_apply(self, context: bpy.types.Context, job: PairJob) -> Iterable[None]:
        yield from placement.apply_steps(job)
        context.view_layer.update()

    def job_report(self, context: bpy.types.Context, job: PairJob) -> tuple[str, str]:
        penetrating = job.summary.get("penetrating_vertices", 0) > 0
        return ("WARNING" if penetrating else "INFO"), placement.place_text(context, job)


class VIEW3D_PT_interactvlm_scene(bpy.types.Panel):
    bl_label = "Scene Contact & Placement"
    bl_idname = "VIEW3D_PT_interactvlm_scene"
    bl_parent_id = "VIEW3D_PT_interactvlm"
    bl_space_type = "VIEW_3D"
    bl_region_type = "UI"
    bl_category = "InteractVLM"
    bl_options = {"DEFAULT_CLOSED"}

    def draw(self, context: bpy.types.Context) -> None:
        layout = self.layout
        settings = context.scene.interactvlm_scene
        main = context.scene.interactvlm
        body_name, obj_name = resolve_targets(context, main.body.name if main.body else "",
                                              main.object.name if main.object else "")
        body, obj = bpy.data.objects.get(body_name), bpy.data.objects.get(obj_name)
        layout.label(text=f"{body_name or '(no body)'}  ↔  {obj_name or '(no object)'}", icon="MESH_DATA")
        layout.prop(settings, "contact_distance")
        job = runner.active_job()
        if job is not None:
            row = layout.row(align=True)
            row.progress(factor=job.fraction, type="BAR", text=f"{job.what}: {job.stage} {job.fraction * 100:.0f}%")
            row.operator("interactvlm.cancel_job", text="", icon="CANCEL")
        else:
            layout.operator("interactvlm.scene_contact", icon="SNAP_FACE")
        box = layout.box()
        box.label(text="Place by contact", icon="OBJECT_ORIGIN")
        for owner, name in ((body, "body_contact"), (obj, "object_contact")):
            if owner is not None and owner.type == "MESH":
                box.prop_search(settings, name, owner, "vertex_groups")
            else:
                box.prop(settings, name)
        box.row().prop(settings, "move", expand=True)
        box.prop(settings, "scale")
        if job is None:
            box.operator("interactvlm.place_object", icon="PLAY")
        if settings.last_report:
            col = layout.box().column(align=True)
            for part in settings.last_report.removeprefix("InteractVLM: ").split("; "):
                col.label(text=part)


CLASSES = (InteractVLMSceneOpsSettings, INTERACTVLM_OT_scene_contact, INTERACTVLM_OT_place_object,
           VIEW3D_PT_interactvlm_scene)
