"""Scene meshes -> the protocol's mesh arrays (coordinates and triangles read with foreach_get;
vertex groups, which bpy cannot read in bulk, in one pass over the vertices, see dominant_groups).

Results are stored on the object's own mesh, so the arrays must follow its vertex order: the
evaluated mesh (modifiers applied) is used when its vertex count equals the original's
(deforming modifiers such as Armature); when a modifier changes the topology (Subdivision,
Decimate) the original mesh is sent instead and `note` says so.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import bpy
import numpy as np

from . import protocol
from .modes import flush_edits
from .runner import JobError


@dataclass
class MeshArrays:
    vertices: np.ndarray  # (N,3) float32: world space (pose WORLD) or the rest coordinates (REST)
    faces: np.ndarray  # (F,3) int32 triangles
    group_names: list[str]
    group_index: np.ndarray  # (N,) int32 dominant vertex group per vertex, -1 for none
    note: str = ""


def _coords(mesh: bpy.types.Mesh) -> np.ndarray:
    co = np.empty(len(mesh.vertices) * 3, dtype=np.float32)
    mesh.vertices.foreach_get("co", co)
    return co.reshape(-1, 3)


def _triangles(mesh: bpy.types.Mesh) -> np.ndarray:
    tris = np.empty(len(mesh.loop_triangles) * 3, dtype=np.int32)
    mesh.loop_triangles.foreach_get("vertices", tris)
    return tris.reshape(-1, 3)


def _to_world(co: np.ndarray, matrix) -> np.ndarray:
    m = np.array(matrix, dtype=np.float64)
    return (co.astype(np.float64) @ m[:3, :3].T + m[:3, 3]).astype(np.float32)


def dominant_groups(obj: bpy.types.Object, skip: set[str]) -> tuple[list[str], np.ndarray]:
    """Each vertex's strongest vertex group (rig names let the backend infer body parts).

    bpy 5.0 has no bulk accessor for deform weights (no foreach_get; vertex groups are not among
    mesh.attributes, not even on an evaluated mesh), so this walks the vertices once: about 30 ms
    for 10k vertices in 55 groups. Copying each group into an attribute with Geometry Nodes on a
    temporary object measured 70-100 ms there (building the node tree dominates), so the loop
    stays. Skipped for objects without vertex groups; groups in `skip` (our results) are left out.
    """
    mesh = obj.data
    names = [g.name for g in obj.vertex_groups]
    index = np.full(len(mesh.vertices), -1, dtype=np.int32)
    keep = [g.index for g in obj.vertex_groups if g.name not in skip]
    if not keep:
        return [], index
    keep_set = set(keep)
    for vertex in mesh.vertices:
        best, best_weight = -1, 0.0
        for element in vertex.groups:
            if element.group in keep_set and element.weight > best_weight:
                best, best_weight = element.group, element.weight
        index[vertex.index] = best
    remap = np.full(len(names) + 1, -1, dtype=np.int32)
    remap[keep] = np.arange(len(keep), dtype=np.int32)
    return [names[i] for i in keep], remap[index]


def read_mesh(obj: bpy.types.Object, depsgraph: bpy.types.Depsgraph, pose: str = "WORLD",
              with_groups: bool = False, skip_groups: set[str] | None = None) -> MeshArrays:
    """The arrays the backend needs for one mesh object; JobError when it cannot be used."""
    if obj is None or obj.type != "MESH":
        raise JobError(f"{getattr(obj, 'name', obj)!r} is not a mesh object; pick a mesh")
    if pose not in ("WORLD", "REST"):
        raise JobError(f"pose {pose!r} is not WORLD or REST")
    flush_edits(obj)
    original = obj.data
    if len(original.vertices) == 0 or len(original.polygons) == 0:
        raise JobError(f"object {obj.name!r} has no faces ({len(original.vertices)} vertices, "
                        f"{len(original.polygons)} faces); contact needs a surface: pick a mesh with faces")
    note = ""
    evaluated = obj.evaluated_get(depsgraph)
    mesh = evaluated.to_mesh()
    try:
        if len(mesh.vertices) == len(original.vertices) and len(mesh.loop_triangles) > 0:
            posed, faces = _coords(mesh), _triangles(mesh)
        else:
            changed = [m.name for m in obj.modifiers if m.show_viewport]
            note = (f"modifiers of {obj.name!r} ({', '.join(changed) or 'none'}) change its vertex count; "
                    "the mesh without modifiers was used")
            posed, faces = _coords(original), _triangles(original)
    finally:
        evaluated.to_mesh_clear()
    # REST: the mesh's own coordinates (object space, no modifiers): an imported character's rest pose.
    vertices = _to_world(posed, obj.matrix_world) if pose == "WORLD" else _coords(original)
    if not np.isfinite(vertices).all():
        raise JobError(f"object {obj.name!r} has non-finite vertex coordinates; fix the mesh first")
    names, index = (dominant_groups(obj, skip_groups or set()) if with_groups
                    else ([], np.full(len(vertices), -1, np.int32)))
    return MeshArrays(vertices=vertices, faces=faces, group_names=names, group_index=index, note=note)


def write_request_mesh(path: Path | str, arrays: MeshArrays, contact: np.ndarray | None = None) -> Path:
    """The protocol's mesh npz for `arrays` (vertex groups only when there are some; contact weights for `place`)."""
    return protocol.write_mesh_npz(path, arrays.vertices, arrays.faces, group_names=arrays.group_names or None,
                                   group_index=arrays.group_index, contact=contact)
