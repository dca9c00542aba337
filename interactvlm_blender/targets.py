"""Which scene objects a job works on: the panel's pickers, else the active and selected meshes;
each name checked to be a mesh when the job starts and again when its result arrives."""
from __future__ import annotations

import bpy

from .modes import flush_edits
from .runner import JobError


def resolve_targets(context: bpy.types.Context, body: str, obj: str) -> tuple[str, str]:
    """Body/object names: the given ones, else the active mesh and another selected mesh."""
    active = context.view_layer.objects.active if context.view_layer else None
    if not body and active is not None and active.type == "MESH":
        body = active.name
    if not obj:
        others = [o for o in getattr(context, "selected_objects", []) if o.type == "MESH" and o.name != body]
        obj = others[0].name if others else ""
    return body, obj


def mesh_object(name: str, role: str, how_to_pick: str) -> bpy.types.Object:
    """The mesh object called `name` (its Edit Mode changes flushed, so reads see them), or JobError
    saying what to pick instead."""
    obj = bpy.data.objects.get(name) if name else None
    if obj is None:
        raise JobError(f"no {role} mesh: pick one in the InteractVLM panel ({how_to_pick})"
                       if not name else f"there is no object {name!r} to use as the {role}")
    if obj.type != "MESH":
        raise JobError(f"the {role} {obj.name!r} is a {obj.type.lower()}, not a mesh; pick a mesh object")
    flush_edits(obj)
    return obj


def live_mesh(name: str) -> bpy.types.Object:
    """A job's target mesh when its result arrives; it may have been removed while the job ran."""
    obj = bpy.data.objects.get(name)
    if obj is None or obj.type != "MESH":
        raise JobError(f"object {name!r} was removed or renamed while the job ran; nothing was changed")
    return obj
