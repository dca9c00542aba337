"""Scene contact and contact-guided placement: operators, their settings and a sub-panel.

Registration: through `CLASSES` (the settings PropertyGroup's register()/unregister() add/remove
`Scene.interactvlm_scene`); __init__ discards a running job at file load and unregister, as it
does the estimate's. The sub-panel's bl_parent_id is panel.VIEW3D_PT_interactvlm, so CLASSES must
register after panel's.

- `interactvlm.scene_contact`: exact per-vertex contact of body and object as they stand (no
  image); writes `ivlm_scene_contact` / `ivlm_scene_depth` / `Scene Contact` on both meshes.
- `interactvlm.place_object`: moves the object (or the body's root) so the object's contact region
  meets the body's, from two vertex groups (or float attributes), in one undo step; reports the
  residual distance and penetration.
- `interactvlm.cancel_scene_job`: stops the running one (Esc does too).
Invoked from the UI they run modal (a 0.1 s timer polls the worker, modal_ui.py; the UI stays
live); called from scripts (EXEC) or in background mode they block until the backend answers. Unset operator
arguments take the panel's settings (body/object from the main panel, the rest from this one).
"""
from __future__ import annotations

import bpy
from bpy.props import BoolProperty, EnumProperty, FloatProperty, PointerProperty, StringProperty

from . import client, modal_ui, scene_jobs
from .job import resolve_targets

MOVES = [("object", "Object", "Move the object onto the body's contact region"),
         ("body", "Body", "Move the body's root (its top-most parent, e.g. the rig) onto the object instead")]
_active: scene_jobs.SceneJob | None = None  # one scene job at a time per session


def active_job() -> scene_jobs.SceneJob | None:
    return _active if _active is not None and not _active.finished else None


def discard_active() -> None:
    """Cancel and forget the running scene job (unregister / file load)."""
    global _active
    if _active is not None:
        scene_jobs.discard_job(_active)
        _active = None


# Each setting is defined once, for the panel's settings and the operator argument of the same name
# (an unset argument takes the panel's value): Blender registers properties of mixin classes too.
class _ContactDistance:
    threshold: FloatProperty(name="Contact distance", default=scene_jobs.DEFAULT_THRESHOLD, min=1e-6, soft_max=0.2,
                             subtype="DISTANCE", unit="LENGTH", precision=4,
                             description="Vertices closer than this to the other mesh are in contact (score 1 at "
                                         "touching, 0 at this distance); penetrating vertices score 1")


class _PlaceSettings:
    body_contact: StringProperty(name="Body contact", default="Contact",
                                 description="Vertex group (or float attribute) of the body's contact region")
    object_contact: StringProperty(name="Object contact", default="Contact",
                                   description="Vertex group (or float attribute) of the object's contact region")
    move: EnumProperty(name="Move", items=MOVES, default="object")
    scale: BoolProperty(name="Scale", default=False, description="Also solve for a uniform scale of the moved mesh")


class InteractVLMSceneOpsSettings(_ContactDistance, _PlaceSettings, bpy.types.PropertyGroup):
    """Scene contact / placement settings (Scene.interactvlm_scene), saved with the .blend."""

    last_report: StringProperty(name="Last result", default="", options={"SKIP_SAVE"})

    @classmethod
    def register(cls) -> None:
        bpy.types.Scene.interactvlm_scene = PointerProperty(type=cls)

    @classmethod
    def unregister(cls) -> None:
        if hasattr(bpy.types.Scene, "interactvlm_scene"):
            del bpy.types.Scene.interactvlm_scene


class _SceneJobOperator:
    """Shared run logic: _start() submits a job, _apply() writes its result (scene changes only there)."""

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

    def _begin(self, context: bpy.types.Context) -> scene_jobs.SceneJob | None:
        global _active
        from .ops_estimate import active_job as active_estimate

        if active_job() is not None or active_estimate() is not None:
            self.report({"ERROR"}, "InteractVLM: another job is running; wait for it or press Cancel")
            return None
        try:
            _active = self._start(context)
        except (scene_jobs.SceneJobError, client.WorkerError) as error:
            self._tell(context, {"ERROR"}, f"InteractVLM: {error}")
            return None
        return _active

    def _tell(self, context: bpy.types.Context, level: set[str], text: str) -> None:
        self.report(level, text)
        context.scene.interactvlm_scene.last_report = text

    def _end(self, context: bpy.types.Context, job: scene_jobs.SceneJob) -> set[str]:
        global _active
        _active = None
        if job.state != scene_jobs.DONE:
            scene_jobs.discard_job(job)
            self._tell(context, {"WARNING"} if job.state == scene_jobs.CANCELLED else {"ERROR"}, job.message)
            return {"CANCELLED"}
        try:
            level, text = self._apply(context, job)
        except scene_jobs.SceneJobError as error:
            self._tell(context, {"ERROR"}, f"InteractVLM: {error}")
            return {"CANCELLED"}
        self._tell(context, {level}, text)
        return {"FINISHED"}

    def execute(self, context: bpy.types.Context) -> set[str]:
        job = self._begin(context)
        if job is None:
            return {"CANCELLED"}
        scene_jobs.wait_job(job)
        return self._end(context, job)

    def invoke(self, context: bpy.types.Context, event) -> set[str]:
        if bpy.app.background or context.window is None:
            return self.execute(context)
        job = self._begin(context)
        if job is None:
            return {"CANCELLED"}
        modal_ui.start(self, context)
        return {"RUNNING_MODAL"}

    def modal(self, context: bpy.types.Context, event) -> set[str]:
        job = _active
        if job is None:  # discarded (unregister or file load)
            modal_ui.stop(self, context)
            return {"CANCELLED"}
        if event.type == "ESC":
            job.cancel()
        if event.type != "TIMER":
            return {"PASS_THROUGH"}
        scene_jobs.tick(job)
        if not job.finished:
            modal_ui.status_text(context, job)
            modal_ui.redraw(context)
            return {"PASS_THROUGH"}
        modal_ui.stop(self, context)
        return self._end(context, job)  # FINISHED pushes one undo step (bl_options UNDO)


class INTERACTVLM_OT_scene_contact(_ContactDistance, _SceneJobOperator, bpy.types.Operator):
    """Mark where body and object touch or penetrate as they stand in the scene (exact mesh proximity, no photo)"""

    bl_idname = "interactvlm.scene_contact"
    bl_label = "Scene contact"
    bl_options = {"REGISTER", "UNDO"}

    def _start(self, context: bpy.types.Context) -> scene_jobs.SceneJob:
        body, obj = self._targets(context)
        return scene_jobs.start_scene_contact(context, body, obj, self._setting(context, "threshold"))

    def _apply(self, context: bpy.types.Context, job: scene_jobs.SceneJob) -> tuple[str, str]:
        reports = scene_jobs.finish_scene_contact(job)
        return scene_jobs.scene_contact_text(context, job, reports)


class INTERACTVLM_OT_place_object(_PlaceSettings, _SceneJobOperator, bpy.types.Operator):
    """Move the object (or the body's root) so the object's contact region meets the body's, avoiding
    penetration; one undo step"""

    bl_idname = "interactvlm.place_object"
    bl_label = "Place by contact"
    bl_options = {"REGISTER", "UNDO"}

    penetration_weight: FloatProperty(name="Penetration weight", default=10.0, min=0.0, soft_max=1000.0,
                                      description="How strongly penetrating object vertices push the solution out "
                                                  "(each weighs this many contact pairs)")

    def _start(self, context: bpy.types.Context) -> scene_jobs.SceneJob:
        body, obj = self._targets(context)
        return scene_jobs.start_place(
            context, body, obj, self._setting(context, "body_contact"), self._setting(context, "object_contact"),
            move=self._setting(context, "move"), scale=self._setting(context, "scale"),
            penetration_weight=self.penetration_weight, threshold=context.scene.interactvlm_scene.threshold)

    def _apply(self, context: bpy.types.Context, job: scene_jobs.SceneJob) -> tuple[str, str]:
        moved = scene_jobs.finish_place(job)
        context.view_layer.update()
        penetrating = job.summary.get("penetrating_vertices", 0) > 0
        return ("WARNING" if penetrating else "INFO"), scene_jobs.place_text(context, job, moved)


class INTERACTVLM_OT_cancel_scene_job(modal_ui.CancelJobButton, bpy.types.Operator):
    """Stop the running scene contact or placement; nothing is changed"""

    bl_idname = "interactvlm.cancel_scene_job"
    bl_label = "Cancel"
    running_job = staticmethod(active_job)


class VIEW3D_PT_interactvlm_scene(bpy.types.Panel):
    bl_label = "Scene contact & placement"
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
        layout.prop(settings, "threshold")
        job = active_job()
        if job is not None:
            row = layout.row(align=True)
            row.progress(factor=job.fraction, type="BAR", text=f"{job.stage} {job.fraction * 100:.0f}%")
            row.operator("interactvlm.cancel_scene_job", text="", icon="CANCEL")
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
           INTERACTVLM_OT_cancel_scene_job, VIEW3D_PT_interactvlm_scene)
