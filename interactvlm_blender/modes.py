"""Reading and writing mesh data whatever mode the user is in (Object, Edit, paint, sculpt).

In Edit Mode (and dynamic-topology Sculpt) a mesh's data lives in an edit-mesh: `mesh.vertices`
shows the state from before the edits, attributes read as empty, VertexGroup.add refuses, and
whatever is written to the mesh is overwritten when the mode is left. So reads flush the edits
first (flush_edits), and attribute reads and all writes happen in Object Mode, the user's mode
restored afterwards (mesh_data). Weight Paint, Vertex Paint and plain Sculpt work on the mesh
itself: nothing to do there.
"""
from __future__ import annotations

import contextlib
from typing import Iterator

import bpy


def holds_edit_mesh(obj: bpy.types.Object) -> bool:
    """True when obj's mesh data is held in an edit-mesh (Edit Mode, dynamic-topology Sculpt)."""
    return obj.type == "MESH" and (obj.mode == "EDIT" or
                                   (obj.mode == "SCULPT" and obj.use_dynamic_topology_sculpting))


def flush_edits(*objects: bpy.types.Object | None) -> None:
    """Copy Edit Mode changes into the mesh data, so reads see what the user sees."""
    for obj in objects:
        if obj is not None and obj.type == "MESH" and obj.mode == "EDIT":
            obj.update_from_editmode()


def _set_mode(view_layer: bpy.types.ViewLayer, obj: bpy.types.Object, mode: str) -> None:
    if obj.mode != mode:
        view_layer.objects.active = obj  # mode_set works on the active object
        bpy.ops.object.mode_set(mode=mode)


@contextlib.contextmanager
def mesh_data(*objects: bpy.types.Object | None) -> Iterator[None]:
    """Objects whose mesh is held in an edit-mesh are put in Object Mode for the block, then back in
    their mode (the edit-mesh is rebuilt from the mesh, with what was written); the active object
    is kept. A no-op for objects in any other mode."""
    held = [obj for obj in dict.fromkeys(objects) if obj is not None and holds_edit_mesh(obj)]
    if not held:
        yield
        return
    view_layer = bpy.context.view_layer
    active = view_layer.objects.active
    modes = {obj: obj.mode for obj in held}
    try:
        for obj in held:
            _set_mode(view_layer, obj, "OBJECT")
        view_layer.objects.active = active
        yield
    finally:
        for obj, mode in modes.items():
            _set_mode(view_layer, obj, mode)
        view_layer.objects.active = active
