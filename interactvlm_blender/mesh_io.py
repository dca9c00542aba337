"""Scene meshes -> the protocol's mesh arrays, in short main-thread steps (read_steps) or in one go
(read_mesh: the same steps run to their end).

Coordinates and the corner->vertex map are read as attributes (`position`, `.corner_vert`: bulk
copies), the triangles computed from them with Blender's own rule (see triangle_steps); vertex groups,
which bpy cannot read in bulk, are read by a loop over the vertices split into steps (see
dominant_groups). Why steps: at 1M vertices the one-go read held Blender's main thread for 0.96 s
(more with groups); each step now stays well under the 100 ms target (bench/README.md).

Results are stored on the object's own mesh, so the arrays must follow its vertex order: the
evaluated mesh (modifiers applied) is used when its vertex count equals the original's
(deforming modifiers such as Armature); when a modifier changes the topology (Subdivision,
Decimate) the original mesh is sent instead and `note` says so.
"""
from __future__ import annotations

import gc
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Generator

import bpy
import numpy as np

from . import protocol
from .modes import flush_edits
from .runner import Alone, JobError, Work, finish

# Estimated main-thread seconds of one read step (runner.Work); ops_job adds steps to a tick while
# they fit in its 30 ms budget, so a tick stays under 100 ms even on a loaded machine.
STEP_S = 0.02
# The vertex-group loop: 3.7-5.9 us per vertex in 2 groups, 1M vertices on the 2-core machine
# (2026-12-01), read in blocks of GROUP_BLOCK vertices.
GROUP_VERTEX_S = 5e-6
GROUP_BLOCK = 1000
# Triangles from the faces: 0.5-0.6 us per face (1M faces in 0.5-0.63 s in one go); world coordinates:
# ~0.1 us per vertex (1M: 103 ms in one go).
FACE_S, FACE_BLOCK = 6e-7, 16384
WORLD_S, WORLD_BLOCK = 1e-7, 65536


@dataclass
class MeshArrays:
    vertices: np.ndarray  # (N,3) float32: world space (pose WORLD) or the rest coordinates (REST)
    faces: np.ndarray  # (F,3) int32 triangles
    group_names: list[str]
    group_index: np.ndarray  # (N,) int32 dominant vertex group per vertex, -1 for none
    note: str = ""


def _coords(mesh: bpy.types.Mesh) -> np.ndarray:
    # The `position` attribute is a bulk copy: 22 ms for 1M vertices, vertices' "co" took 150 ms.
    co = np.empty(len(mesh.vertices) * 3, dtype=np.float32)
    position = mesh.attributes.get("position")  # absent while the mesh is in Edit Mode (modes.py)
    if position is not None:
        position.data.foreach_get("vector", co)
    else:
        mesh.vertices.foreach_get("co", co)
    return co.reshape(-1, 3)


@dataclass
class _Topology:
    """What the triangles are computed from, copied out of a mesh that may not outlive the step."""
    corner_vert: np.ndarray  # (L,) int32
    face_start: np.ndarray | None  # (P,) int32; None when every face has `size` corners
    size: int  # 3 or 4 when all faces have that many corners, else 0
    ngon_triangles: np.ndarray | None  # Blender's own triangles when some face has > 4 corners


def _corner_verts(mesh: bpy.types.Mesh) -> np.ndarray:
    corner_vert = np.empty(len(mesh.loops), dtype=np.int32)
    attribute = mesh.attributes.get(".corner_vert")  # absent in Edit Mode, like `position`
    if attribute is not None:
        attribute.data.foreach_get("value", corner_vert)
    else:
        mesh.loops.foreach_get("vertex_index", corner_vert)
    return corner_vert


def _topology(mesh: bpy.types.Mesh, corner_vert: np.ndarray | None = None) -> _Topology:
    """The faces of mesh (corner_vert: already read from it)."""
    loops, faces = len(mesh.loops), len(mesh.polygons)
    corner_vert = _corner_verts(mesh) if corner_vert is None else corner_vert
    if loops in (3 * faces, 4 * faces):  # all triangles or all quads: no face offsets to read
        return _Topology(corner_vert, None, loops // faces, None)
    face_start = np.empty(faces, dtype=np.int32)
    mesh.polygons.foreach_get("loop_start", face_start)
    sizes = np.diff(np.append(face_start, loops))
    if sizes.max() <= 4:
        return _Topology(corner_vert, face_start, 0, None)
    # n-gons: Blender's polyfill + beautify is not repeated here; its triangles are read (slow: ~0.4 us
    # per triangle through RNA, one step).
    tris = np.empty(len(mesh.loop_triangles) * 3, dtype=np.int32)
    mesh.loop_triangles.foreach_get("vertices", tris)
    return _Topology(corner_vert, face_start, 0, tris.reshape(-1, 3))


def triangle_steps(topology: _Topology, co: np.ndarray,
                   work: Work | None = None) -> Generator[float, None, np.ndarray]:
    """Mesh.loop_triangles' vertices, in their order, computed in bulk (loop_triangles.foreach_get
    goes through RNA per triangle: 0.45-0.83 s for 2M triangles), FACE_BLOCK faces per step. Triangles
    are kept; a quad is split as Blender's tessellation does (is_quad_flip_v3_first_third_fast: along
    1-3 when corners 2 and 4 lie on the same side of the 0-2 diagonal, else along 0-2; checked against
    loop_triangles in tests/blender/test_main_thread_steps.py)."""
    if topology.ngon_triangles is not None:
        return topology.ngon_triangles
    corner_vert = topology.corner_vert
    if topology.size == 3:
        return corner_vert.reshape(-1, 3)
    work = work or Work(STEP_S)
    if topology.size == 4:
        starts = np.arange(0, len(corner_vert), 4)
        sizes = np.full(len(starts), 4)
    else:
        starts = topology.face_start
        sizes = np.diff(np.append(starts, len(corner_vert)))
    first = np.concatenate([[0], np.cumsum(sizes - 2)[:-1]])  # each face's first triangle
    out = np.empty((int((sizes - 2).sum()), 3), dtype=np.int32)
    for begin in range(0, len(starts), FACE_BLOCK):
        block = slice(begin, begin + FACE_BLOCK)
        block_starts, block_first, tri = starts[block], first[block], sizes[block] == 3
        out[block_first[tri]] = corner_vert[block_starts[tri, None] + np.arange(3)]
        quad_starts, quad_first = block_starts[~tri], block_first[~tri]
        corners = corner_vert[quad_starts[:, None] + np.arange(4)]
        p = co[corners]
        d13 = p[:, 2] - p[:, 0]
        flip = np.einsum("ij,ij->i", np.cross(p[:, 1] - p[:, 0], d13), np.cross(p[:, 3] - p[:, 0], d13)) > 0
        out[quad_first] = np.where(flip[:, None], corners[:, [0, 1, 3]], corners[:, [0, 1, 2]])
        out[quad_first + 1] = np.where(flip[:, None], corners[:, [1, 2, 3]], corners[:, [0, 2, 3]])
        if work.spend(FACE_S * len(block_starts)) and begin + FACE_BLOCK < len(starts):
            yield (begin + FACE_BLOCK) / len(starts)
    return out


def _to_world(co: np.ndarray, matrix) -> np.ndarray:
    """World coordinates in float64 (then float32), WORLD_BLOCK vertices at a time (see world_steps)."""
    return finish(world_steps(co, matrix))


def world_steps(co: np.ndarray, matrix, work: Work | None = None) -> Generator[float, None, np.ndarray]:
    m = np.array(matrix, dtype=np.float64)
    work = work or Work(STEP_S)
    out = np.empty_like(co, dtype=np.float32)
    for begin in range(0, len(co), WORLD_BLOCK):
        block = co[begin:begin + WORLD_BLOCK].astype(np.float64)
        out[begin:begin + WORLD_BLOCK] = block @ m[:3, :3].T + m[:3, 3]
        if work.spend(WORLD_S * len(block)) and begin + WORLD_BLOCK < len(co):
            yield (begin + WORLD_BLOCK) / len(co)
    return out


def _live(name: str, count: int) -> bpy.types.Object:
    """The object being read, looked up again each step (the user may edit or delete it between
    steps; a stale reference into its vertices would not be safe)."""
    obj = bpy.data.objects.get(name)
    if obj is None or obj.type != "MESH" or len(obj.data.vertices) != count:
        raise JobError(f"{name!r} was removed or its mesh changed while it was read; nothing was changed: "
                       "run it again")
    return obj


def _vertex_block_steps(obj: bpy.types.Object, visit: Callable[[int, Any], None],
                        work: Work) -> Generator[float, None, None]:
    """visit(first index, vertices) for each block of GROUP_BLOCK vertices, in steps of about STEP_S
    (yields the fraction done): the one loop over vertices for what bpy cannot read in bulk (deform
    weights). The object is looked up again each step."""
    name, count = obj.name, len(obj.data.vertices)
    paused = gc.isenabled()
    for begin in range(0, count, GROUP_BLOCK):
        # The loop makes millions of short-lived, acyclic RNA objects: the cyclic collector's full passes
        # they trigger added 40-70 ms to some steps, and freeing by reference count needs no collector.
        gc.disable()
        try:
            vertices = _live(name, count).data.vertices[begin:begin + GROUP_BLOCK]
            visit(begin, vertices)
        finally:
            if paused:
                gc.enable()
        if work.spend(GROUP_VERTEX_S * len(vertices)) and begin + GROUP_BLOCK < count:
            yield (begin + GROUP_BLOCK) / count


def group_steps(obj: bpy.types.Object, skip: set[str],
                work: Work | None = None) -> Generator[float, None, tuple[list[str], np.ndarray]]:
    """Each vertex's strongest vertex group (rig names let the backend infer body parts), in steps.

    bpy 5.0 has no bulk accessor for deform weights (no foreach_get; vertex groups are not among
    mesh.attributes, not even on an evaluated mesh), so this walks the vertices: 3.7-5.9 us per
    vertex, i.e. seconds for 1M vertices, split into steps of about STEP_S (yields the fraction done).
    Copying each group into an attribute with Geometry Nodes on a temporary object measured 70-100 ms
    at 10k vertices (building the node tree dominates), so the loop stays. Skipped for objects without
    vertex groups; groups in `skip` (our results) are left out.
    """
    names = [g.name for g in obj.vertex_groups]
    index = np.full(len(obj.data.vertices), -1, dtype=np.int32)
    keep = [g.index for g in obj.vertex_groups if g.name not in skip]
    if not keep:
        return [], index
    keep_set = set(keep)

    def strongest(begin: int, vertices: Any) -> None:
        for at, vertex in enumerate(vertices, begin):
            best, best_weight = -1, 0.0
            for element in vertex.groups:
                weight = element.weight
                if weight > best_weight and element.group in keep_set:
                    best, best_weight = element.group, weight
            index[at] = best

    yield from _vertex_block_steps(obj, strongest, work or Work(STEP_S))
    remap = np.full(len(names) + 1, -1, dtype=np.int32)
    remap[keep] = np.arange(len(keep), dtype=np.int32)
    return [names[i] for i in keep], remap[index]


def group_weight_steps(obj: bpy.types.Object, group_name: str,
                       work: Work | None = None) -> Generator[float, None, np.ndarray]:
    """(N,) float32 weights of one vertex group, 0 where a vertex is not a member, in steps (the same
    vertex loop as group_steps: bpy has no bulk reader of deform weights; ~1 s at 1M vertices)."""
    flush_edits(obj)  # Edit Mode: the vertices' groups as the user sees them
    weights = np.zeros(len(obj.data.vertices), dtype=np.float32)
    wanted = obj.vertex_groups[group_name].index

    def member_weights(begin: int, vertices: Any) -> None:
        for at, vertex in enumerate(vertices, begin):
            for element in vertex.groups:
                if element.group == wanted:
                    weights[at] = element.weight

    yield from _vertex_block_steps(obj, member_weights, work or Work(STEP_S))
    return weights


def dominant_groups(obj: bpy.types.Object, skip: set[str]) -> tuple[list[str], np.ndarray]:
    """group_steps in one go."""
    return finish(group_steps(obj, skip))


def read_steps(obj: bpy.types.Object, depsgraph: bpy.types.Depsgraph, pose: str = "WORLD",
               with_groups: bool = False, skip_groups: set[str] | None = None
               ) -> Generator[float, None, MeshArrays]:
    """The arrays the backend needs for one mesh object, in short main-thread steps (each yields the
    fraction read; the generator returns the MeshArrays); JobError when it cannot be used. The checks
    run before the first yield. Drive it with runner.finish() to read in one go (read_mesh)."""
    if obj is None or obj.type != "MESH":
        raise JobError(f"{getattr(obj, 'name', obj)!r} is not a mesh object; pick a mesh")
    if pose not in ("WORLD", "REST"):
        raise JobError(f"pose {pose!r} is not WORLD or REST")
    flush_edits(obj)
    original = obj.data
    if len(original.vertices) == 0 or len(original.polygons) == 0:
        raise JobError(f"object {obj.name!r} has no faces ({len(original.vertices)} vertices, "
                        f"{len(original.polygons)} faces); contact needs a surface: pick a mesh with faces")
    name, count = obj.name, len(original.vertices)
    yield 0.0
    obj = _live(name, count)
    note, posed = "", None
    if obj.modifiers or obj.data.shape_keys is not None:
        # The evaluated mesh lives only within this step: positions and topology in one step
        # (1M vertices: ~0.1 s); without modifiers or shape keys the mesh itself is read over steps.
        evaluated = obj.evaluated_get(depsgraph)
        mesh = evaluated.to_mesh()
        try:
            if len(mesh.vertices) == count and len(mesh.polygons) > 0:
                posed, topology = _coords(mesh), _topology(mesh)
            else:
                changed = [m.name for m in obj.modifiers if m.show_viewport]
                note = (f"modifiers of {obj.name!r} ({', '.join(changed) or 'none'}) change its vertex count; "
                        "the mesh without modifiers was used")
        finally:
            evaluated.to_mesh_clear()
        yield 0.1
    if posed is None:
        posed = _coords(_live(name, count).data)
        yield 0.1
        corner_vert = _corner_verts(_live(name, count).data)
        yield Alone(0.12)  # face offsets of 1M mixed faces: ~55 ms through RNA
        topology = _topology(_live(name, count).data, corner_vert)
        yield 0.15
    faces = yield from triangle_steps(topology, posed)
    yield 0.2
    obj = _live(name, count)
    # REST: the mesh's own coordinates (object space, no modifiers): an imported character's rest pose.
    if pose == "WORLD":
        vertices = yield from world_steps(posed, obj.matrix_world)
    else:
        vertices = _coords(obj.data)
    if not np.isfinite(vertices).all():
        raise JobError(f"object {name!r} has non-finite vertex coordinates; fix the mesh first")
    if not with_groups:
        return MeshArrays(vertices=vertices, faces=faces, group_names=[], group_index=np.full(count, -1, np.int32),
                          note=note)
    yield Alone(0.3)
    # The first read of a vertex's groups after a depsgraph evaluation costs Blender 65-117 ms at 1M
    # vertices (up to ~220 ms on the loaded machine): it copies the deform weights the evaluated mesh
    # shares (one allocation per vertex), which no Python call can split. A step of its own.
    list(_live(name, count).data.vertices[0].groups)
    yield 0.3
    groups = group_steps(_live(name, count), skip_groups or set())
    while True:
        try:
            done = next(groups)
        except StopIteration as end:
            names, index = end.value
            break
        yield 0.3 + 0.7 * done
    return MeshArrays(vertices=vertices, faces=faces, group_names=names, group_index=index, note=note)


def read_mesh(obj: bpy.types.Object, depsgraph: bpy.types.Depsgraph, pose: str = "WORLD",
              with_groups: bool = False, skip_groups: set[str] | None = None) -> MeshArrays:
    """read_steps in one go (scripts, the blocking path)."""
    return finish(read_steps(obj, depsgraph, pose, with_groups, skip_groups))


def write_request_mesh(path: Path | str, arrays: MeshArrays, contact: np.ndarray | None = None) -> Path:
    """The protocol's mesh npz for `arrays` (vertex groups only when there are some; contact weights for `place`)."""
    return finish(request_mesh_steps(path, arrays, contact))


def request_mesh_steps(path: Path | str, arrays: MeshArrays,
                       contact: np.ndarray | None = None) -> Generator[None, None, Path]:
    """write_request_mesh one array per step (protocol.mesh_npz_steps)."""
    return (yield from protocol.mesh_npz_steps(path, arrays.vertices, arrays.faces,
                                               group_names=arrays.group_names or None,
                                               group_index=arrays.group_index, contact=contact))
