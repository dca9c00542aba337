"""Showing a result in the 3D viewport: the heat map (solid shading by our colour attribute, or the
heat-map material) and back to the user's own shading; Weight Paint on our group.

The user's shading of each 3D viewport is saved (scene custom property SAVED_KEY, JSON: viewport
key -> shading settings; saved with the .blend) the first time the heat map is shown and restored
when it is hidden, so toggling never loses the user's choice. Which display (Scene settings
`heat_map_display`) is a scene property, so the choice is remembered per file.
"""
from __future__ import annotations

import json
from typing import Any, Iterator

import bpy

from . import naming, results

SAVED_KEY = "ivlm_user_shading"
MATERIAL_OWNER = "ivlm_heat_map"  # custom property on the material we made: proves it is ours
HEAT_MATERIAL = "IVLM Heat Map"
_SHADING = ("type", "color_type", "light")  # what showing the heat map changes in View3DShading


def view_spaces(context: bpy.types.Context) -> Iterator[tuple[str, Any]]:
    """(key, SpaceView3D) of every 3D viewport in the open windows (key: screen name and area index)."""
    for window in context.window_manager.windows:
        for index, area in enumerate(window.screen.areas):
            if area.type == "VIEW_3D":
                yield f"{window.screen.name}/{index}", area.spaces.active


def _saved(scene: bpy.types.Scene) -> dict[str, Any]:
    try:
        value = json.loads(scene.get(SAVED_KEY, "{}"))
    except (TypeError, ValueError):
        return {}
    return value if isinstance(value, dict) else {}


def heat_objects(context: bpy.types.Context) -> list[bpy.types.Object]:
    """The mesh objects with a result of ours (the selected ones first, else every such object)."""
    def has_result(obj: bpy.types.Object) -> bool:
        return obj is not None and obj.type == "MESH" and bool(results.read_record(obj))

    chosen = [o for o in {o.name: o for o in [context.active_object, *context.selected_objects] if o}.values()
              if has_result(o)]
    return chosen or [o for o in context.scene.objects if has_result(o)]


def color_name(obj: bpy.types.Object) -> str | None:
    """Our heat-map colour attribute on obj (the estimate's, else scene contact's), or None."""
    record = results.read_record(obj)
    entries = list(results.estimate_entries(record).values()) + [
        e for k, e in record.items() if k == naming.SCENE_CONTACT_KEY and isinstance(e, dict)]
    for entry in entries:
        name = entry.get("color")
        if isinstance(name, str) and name in obj.data.color_attributes:
            return name
    return None


def heat_map_material(obj: bpy.types.Object) -> bpy.types.Material:
    """A material showing our colour attribute (for renders and Material Preview); added to obj as a
    new material slot, the existing slots untouched. JobError when obj has no result."""
    from .runner import JobError

    color = color_name(obj)
    if color is None:
        raise JobError(f"{obj.name!r} has no contact result yet; estimate first")
    name = f"{HEAT_MATERIAL} {color}" if color != naming.COLOR_NAME else HEAT_MATERIAL
    material = next((m for m in bpy.data.materials if m.get(MATERIAL_OWNER) == color), None)
    if material is None:
        material = bpy.data.materials.new(name)
        material[MATERIAL_OWNER] = color
        if bpy.app.version < (5, 0, 0):  # always node-based from 5.0 (the flag is deprecated there)
            material.use_nodes = True
        nodes, links = material.node_tree.nodes, material.node_tree.links
        shader = next(n for n in nodes if n.type == "BSDF_PRINCIPLED")
        attribute = nodes.new("ShaderNodeVertexColor")
        attribute.layer_name = color
        links.new(attribute.outputs["Color"], shader.inputs["Base Color"])
    if material.name not in obj.data.materials:
        obj.data.materials.append(material)
    return material


def remove_heat_material(obj: bpy.types.Object) -> bool:
    """Take our heat-map materials off obj's slots (the user's materials stay); True when any was removed."""
    mesh, removed = obj.data, False
    for index in reversed(range(len(mesh.materials))):
        material = mesh.materials[index]
        if material is not None and material.get(MATERIAL_OWNER):
            mesh.materials.pop(index=index)
            if material.users == 0:
                bpy.data.materials.remove(material)
            removed = True
    return removed


def show_heat_map(context: bpy.types.Context) -> int:
    """Show our heat map in every 3D viewport; returns how many objects show it.

    SHADING: Solid shading, colour by the active colour attribute (made ours on the objects with a
    result); MATERIAL: the heat-map material in Material Preview."""
    objects = heat_objects(context)
    mode = context.scene.interactvlm.heat_map_display
    for obj in objects:
        name = color_name(obj)
        if name is None:
            continue
        obj.data.color_attributes.active_color_name = name
        if mode == "MATERIAL":
            heat_map_material(obj)
    saved = _saved(context.scene)
    for key, space in view_spaces(context):
        shading = space.shading
        saved.setdefault(key, {name: getattr(shading, name) for name in _SHADING})
        if mode == "MATERIAL":
            shading.type = "MATERIAL"
        else:
            shading.type, shading.light, shading.color_type = "SOLID", "STUDIO", "VERTEX"  # "Attribute"
    context.scene[SAVED_KEY] = json.dumps(saved, sort_keys=True)
    return len(objects)


def hide_heat_map(context: bpy.types.Context) -> None:
    """Restore the user's shading in every 3D viewport we changed; take our material off again."""
    saved = _saved(context.scene)
    for key, space in view_spaces(context):
        for name, value in saved.get(key, {}).items():
            try:
                setattr(space.shading, name, value)
            except (TypeError, AttributeError):  # a value this Blender no longer has
                pass
    if SAVED_KEY in context.scene:
        del context.scene[SAVED_KEY]
    for obj in context.scene.objects:
        if obj.type == "MESH":
            remove_heat_material(obj)


def weight_paint(context: bpy.types.Context, obj: bpy.types.Object, group: str) -> None:
    """Make obj active and its vertex group `group` active, in Weight Paint mode."""
    if context.object is not None and context.object.mode != "OBJECT":
        bpy.ops.object.mode_set(mode="OBJECT")
    for other in context.selected_objects:
        other.select_set(False)
    obj.select_set(True)
    context.view_layer.objects.active = obj
    obj.vertex_groups.active_index = obj.vertex_groups[group].index
    bpy.ops.object.mode_set(mode="WEIGHT_PAINT")
