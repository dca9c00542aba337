"""Operators on stored results: Weight Paint on our group, select a result's vertices, Add Fitted
Body (fitted_body.py), Remove Results; and the menu entries that make every operator findable (Object menu, vertex-group
specials menu; F3 search finds what a menu shows)."""
from __future__ import annotations

import bpy
from bpy.props import BoolProperty, StringProperty

from . import fitted_body, ownership, results, viewport
from .ops_job import tell
from .runner import JobError


def _mesh_with_record(context: bpy.types.Context, name: str) -> bpy.types.Object | None:
    obj = bpy.data.objects.get(name) if name else context.active_object
    return obj if obj is not None and obj.type == "MESH" and results.read_record(obj) else None


def _our_group(obj: bpy.types.Object, key: str) -> str | None:
    """The vertex group of result `key` on obj while it is provably ours."""
    entry = results.read_record(obj).get(key)
    if not isinstance(entry, dict):
        return None
    name = entry.get("group")
    return name if ownership.matches(obj, "group", name, (entry.get("marks") or {}).get("group")) else None


class _ResultOperator:
    object: StringProperty(name="Object", description="Mesh object name (empty: the active object)")
    key: StringProperty(name="Result", description="The result's label (empty: plain contact)")

    @classmethod
    def poll(cls, context: bpy.types.Context) -> bool:
        obj = context.active_object
        return obj is not None and obj.type == "MESH" and bool(results.read_record(obj))

    def _group(self, context: bpy.types.Context) -> tuple[bpy.types.Object | None, str | None]:
        obj = _mesh_with_record(context, self.object)
        if obj is None:
            tell(self, "WARNING", "InteractVLM: no contact result on this object; estimate first")
            return None, None
        group = _our_group(obj, self.key)
        if group is None:
            tell(self, "WARNING", "InteractVLM: this result's vertex group is gone or was edited")
        return obj, group


class INTERACTVLM_OT_weight_paint_result(_ResultOperator, bpy.types.Operator):
    """Show the contact vertex group in Weight Paint mode"""

    bl_idname = "interactvlm.weight_paint_result"
    bl_label = "Weight Paint Contact"
    bl_options = {"REGISTER", "UNDO"}

    def execute(self, context: bpy.types.Context) -> set[str]:
        obj, group = self._group(context)
        if group is None:
            return {"CANCELLED"}
        viewport.weight_paint(context, obj, group)
        return {"FINISHED"}


class INTERACTVLM_OT_select_result(_ResultOperator, bpy.types.Operator):
    """Select the vertices of a contact result in Edit Mode"""

    bl_idname = "interactvlm.select_result"
    bl_label = "Select Contact Vertices"
    bl_options = {"REGISTER", "UNDO"}

    def execute(self, context: bpy.types.Context) -> set[str]:
        obj, group = self._group(context)
        if group is None:
            return {"CANCELLED"}
        if context.object is not None and context.object.mode != "OBJECT":
            bpy.ops.object.mode_set(mode="OBJECT")
        context.view_layer.objects.active = obj
        obj.select_set(True)
        obj.vertex_groups.active_index = obj.vertex_groups[group].index
        bpy.ops.object.mode_set(mode="EDIT")
        bpy.ops.mesh.select_mode(type="VERT")
        bpy.ops.mesh.select_all(action="DESELECT")
        bpy.ops.object.vertex_group_select()
        return {"FINISHED"}


class INTERACTVLM_OT_add_fitted_body(bpy.types.Operator):
    """Add the body pose the contact was reasoned on as a mesh beside the body"""

    bl_idname = "interactvlm.add_fitted_body"
    bl_label = "Add Fitted Body"
    bl_options = {"REGISTER", "UNDO"}

    object: StringProperty(name="Object", description="Mesh object holding the result (empty: the active object)")
    key: StringProperty(name="Result", description="The result's label (empty: plain contact), used when Latest is off")
    latest: BoolProperty(name="Latest", default=True, description="Use the latest result that has a fitted body")

    @classmethod
    def poll(cls, context: bpy.types.Context) -> bool:  # the active mesh, or the panel's body (its result box)
        return any(o is not None and o.type == "MESH" for o in (context.active_object, context.scene.interactvlm.body))

    def execute(self, context: bpy.types.Context) -> set[str]:
        # No mode switch: a new object is linked to a collection in any mode, the user's mode and
        # selection stay as they are.
        body = bpy.data.objects.get(self.object) if self.object else context.active_object
        try:
            added = fitted_body.add_to_scene(context, body, None if self.latest else self.key)
        except JobError as error:
            tell(self, "ERROR", f"InteractVLM: {error}")
            return {"CANCELLED"}
        tell(self, "INFO", f"InteractVLM: added {added.name!r} ({len(added.data.vertices)} vertices), the pose the "
                           f"contact on {body.name!r} was reasoned on")
        return {"FINISHED"}


class INTERACTVLM_OT_remove_results(bpy.types.Operator):
    """Remove everything InteractVLM wrote on the selected objects (your own data stays)"""

    bl_idname = "interactvlm.remove_results"
    bl_label = "Remove Contact Results"
    bl_options = {"REGISTER", "UNDO"}

    @classmethod
    def poll(cls, context: bpy.types.Context) -> bool:
        return any(o.type == "MESH" for o in [context.active_object, *context.selected_objects] if o)

    def execute(self, context: bpy.types.Context) -> set[str]:
        targets = [o for o in {o.name: o for o in [context.active_object, *context.selected_objects] if o}.values()
                   if o.type == "MESH" and results.read_record(o)]
        if not targets:
            tell(self, "WARNING", "InteractVLM: no contact results on the selected objects")
            return {"CANCELLED"}
        removed = 0
        for obj in targets:
            viewport.remove_heat_material(obj)
            removed += len(fitted_body.remove_added(obj))  # before the record that lists them goes
            removed += len(results.remove_results(obj))
        if not any(results.read_record(o) for o in context.scene.objects if o.type == "MESH"):
            context.scene.interactvlm.show_heat_map = False  # nothing left to show: the user's shading back
        tell(self, "INFO", f"InteractVLM: removed {removed} items from {len(targets)} objects")
        return {"FINISHED"}


# Every operator of the add-on, in the order an artist uses them (tests check that each is here).
MENU_OPERATORS = ("interactvlm.estimate_contact", "interactvlm.estimate_selected", "interactvlm.cancel_job",
                  "interactvlm.apply_threshold", "interactvlm.weight_paint_result", "interactvlm.select_result",
                  "interactvlm.add_fitted_body", "interactvlm.remove_results", "interactvlm.import_result",
                  "interactvlm.export_gltf", "interactvlm.scene_contact", "interactvlm.place_object",
                  "interactvlm.check_backend", "interactvlm.setup_backend", "interactvlm.remove_backend",
                  "interactvlm.open_setup_log")
_SEPARATORS_BEFORE = (3, 8, 10, 12)  # results; import/export; scene; set-up


class VIEW3D_MT_interactvlm(bpy.types.Menu):
    bl_label = "InteractVLM"
    bl_idname = "VIEW3D_MT_interactvlm"

    def draw(self, context: bpy.types.Context) -> None:
        layout = self.layout
        for index, name in enumerate(MENU_OPERATORS):
            if index in _SEPARATORS_BEFORE:
                layout.separator()
            layout.operator(name)


def draw_object_menu(self, context: bpy.types.Context) -> None:
    self.layout.separator()
    self.layout.menu(VIEW3D_MT_interactvlm.bl_idname)


def draw_vertex_group_menu(self, context: bpy.types.Context) -> None:
    layout = self.layout
    layout.separator()
    layout.operator("interactvlm.select_result")
    layout.operator("interactvlm.weight_paint_result")
    layout.operator("interactvlm.remove_results")


MENUS = ((bpy.types.VIEW3D_MT_object, draw_object_menu),
         (bpy.types.MESH_MT_vertex_group_context_menu, draw_vertex_group_menu))


def register_menus() -> None:
    for menu, draw in MENUS:
        menu.append(draw)


def unregister_menus() -> None:
    for menu, draw in MENUS:
        menu.remove(draw)


CLASSES = (VIEW3D_MT_interactvlm, INTERACTVLM_OT_weight_paint_result, INTERACTVLM_OT_select_result,
           INTERACTVLM_OT_add_fitted_body, INTERACTVLM_OT_remove_results)
