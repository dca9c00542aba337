"""The sidebar panel (3D viewport > N panel > InteractVLM)."""
from __future__ import annotations

from pathlib import Path

import bpy

from . import fitted_body, results, runner, thumbnails

_previews = None  # bpy.utils.previews collection for the photo thumbnail (created at register)


def _photo_icon(path: str) -> int:
    """Icon id of a thumbnail of the photo file, or 0 when it cannot be shown."""
    if _previews is None or not path:
        return 0
    full = bpy.path.abspath(path)
    if not Path(full).is_file():
        return 0
    preview = _previews.get(full) or _previews.load(full, full, "IMAGE")
    return preview.icon_id


class VIEW3D_PT_interactvlm(bpy.types.Panel):
    bl_label = "InteractVLM"
    bl_idname = "VIEW3D_PT_interactvlm"
    bl_space_type = "VIEW_3D"
    bl_region_type = "UI"
    bl_category = "InteractVLM"

    def draw(self, context: bpy.types.Context) -> None:
        layout = self.layout
        settings = context.scene.interactvlm
        status = context.window_manager.interactvlm_status

        box = layout.box()
        box.label(text="Reference Photo", icon="IMAGE_DATA")
        box.row().prop(settings, "image_source", expand=True)
        if settings.image_source == "FILE":
            box.prop(settings, "image_path", text="")
            if settings.image_path and not Path(bpy.path.abspath(settings.image_path)).is_file():
                box.label(text="File not found", icon="ERROR")
            elif icon := _photo_icon(settings.image_path):
                box.template_icon(icon_value=icon, scale=6.0)
        else:
            box.template_ID_preview(settings, "image", open="image.open", rows=2, cols=4)

        col = layout.column()
        active = context.active_object
        col.prop(
            settings,
            "body",
            text="Body",
            placeholder=f"Active: {active.name}" if active and active.type == "MESH" else "Active object",
        )
        col.prop(settings, "object", text="Object", placeholder="Another selected mesh")
        col.prop(settings, "body_source")
        if settings.body_source == "SMPLX":
            col.prop(settings, "gender")
        col.prop(settings, "task")
        col.prop(settings, "label", text="Label" if settings.task != "human_contact" else "Objects",
                 placeholder="e.g. bicycle, bench")
        col.prop(settings, "localizer_choice")
        row = col.row(align=True)
        row.prop(settings, "pose", expand=True)
        col.prop(settings, "resolution")
        col.prop(settings, "threshold", slider=True)

        job = runner.active_job()  # any job: the worker runs one at a time
        if job is not None or status.running:
            row = layout.row(align=True)
            row.progress(factor=status.fraction, type="BAR",
                         text=f"{status.what}: {status.stage} {status.fraction * 100:.0f}% {status.message}".strip())
            row.operator("interactvlm.cancel_job", text="", icon="CANCEL")
        else:
            layout.operator("interactvlm.estimate_contact", icon="PLAY")
            layout.operator("interactvlm.estimate_selected", icon="SELECT_EXTEND")  # issue 19: one photo, many meshes

        body = settings.body or (active if active and active.type == "MESH" else None)
        if body is not None:
            draw_results(layout, settings, body)


def draw_results(layout: bpy.types.UILayout, settings, body: bpy.types.Object) -> None:
    """The result box: each result with its count and parts; show, select, weight-paint, add the
    fitted body, remove."""
    record = results.estimate_entries(results.read_record(body))
    if not record:
        return
    box = layout.box()
    box.label(text=f"Results on {body.name}", icon="GROUP_VERTEX")
    row = box.row(align=True)
    row.prop(settings, "show_heat_map", toggle=True, icon="SHADING_RENDERED")
    row.prop(settings, "heat_map_display", text="")
    for key, entry in record.items():
        count = (entry.get("marks") or {}).get("group", {}).get("count", "?")
        row = box.row(align=True)
        row.label(text=f"{entry.get('group')}: {count} vertices (threshold {entry.get('threshold', 0):.2f})")
        select = row.operator("interactvlm.select_result", text="", icon="RESTRICT_SELECT_OFF")
        select.object, select.key = body.name, key
        paint = row.operator("interactvlm.weight_paint_result", text="", icon="WPAINT_HLT")
        paint.object, paint.key = body.name, key
        if fitted_body.has_fitted_body(entry):  # the pose this result was reasoned on
            add = row.operator("interactvlm.add_fitted_body", text="", icon="OUTLINER_OB_ARMATURE")
            add.object, add.key, add.latest = body.name, key, False
        parts = entry.get("parts") or []
        if parts:
            box.label(text="Parts: " + ", ".join(parts[:6]) + (" …" if len(parts) > 6 else ""))
        pictures = thumbnails.result_images(body, key)
        if pictures:  # what the localizer found in the photo and marked in each view (the demo's strip too)
            grid = box.grid_flow(columns=len(pictures), align=True)
            for image in pictures:
                grid.template_icon(icon_value=thumbnails.icon_id(image), scale=3.0)
    if any(fitted_body.has_fitted_body(entry) for entry in record.values()):
        box.operator("interactvlm.add_fitted_body", icon="OUTLINER_OB_ARMATURE").object = body.name
    box.operator("interactvlm.remove_results", icon="TRASH")


def register_previews() -> None:
    global _previews
    import bpy.utils.previews

    if _previews is None:
        _previews = bpy.utils.previews.new()


def unregister_previews() -> None:
    global _previews
    import bpy.utils.previews

    if _previews is not None:
        bpy.utils.previews.remove(_previews)
        _previews = None


CLASSES = (VIEW3D_PT_interactvlm,)
