"""The fitted body: the posed body a localizer reasoned on (the default localizer's fitted Anny), kept
with its result and added to the scene by Add Fitted Body, so an animator sees the pose the contact
was reasoned on.

Where it lives between the estimate and the operator: our own mesh datablock (store()), with a fake
user so the .blend keeps it although no object shows it, named in the result's record entry under
"fitted" {"mesh", "mark", "objects", "serial"}. So it survives save and reopen in any later Blender
session, and needs neither the result npz (removed with its job folder) nor the backend. Not the
arrays in the record: the record is JSON in a custom property that the panel parses on every redraw,
and the default localizer's 13,718 vertices and 27,420 faces are 1.5 MB of JSON (measured).

Ownership follows ownership.py's rule (ours only while its mark matches): the stored mesh and each
added object carry the mark of their vertex coordinates and face corners as written. An added object
is ours while the record lists its name, its OBJECT_KEY property holds that mark, it is not being
edited and its mesh still matches; an edited one (Edit Mode, sculpted), a duplicate or a look-alike
of the same name is the user's, and Remove Results leaves it.
"""
from __future__ import annotations

import json
from typing import Any

import bpy
import numpy as np

from . import naming, ownership, protocol, results
from .runner import JobError

OBJECT_KEY = "ivlm_fitted_body"  # custom property of an object Add Fitted Body made (JSON: body, key, mark)
GAP_M = 0.3  # metres between the body's bounding box and the fitted body added beside it (+X)


def _fitted(entry: Any) -> dict[str, Any]:
    """The "fitted" field of a record entry ({} when absent or damaged)."""
    value = entry.get("fitted") if isinstance(entry, dict) else None
    return value if isinstance(value, dict) else {}


def has_fitted_body(entry: Any) -> bool:
    """Whether a record entry names a stored fitted body (from the record only: cheap enough for a panel)."""
    return bool(_fitted(entry).get("mesh"))


# The geometry as mesh attributes: bulk reads and writes of `position` and `.corner_vert` (Blender 4.0+)
# take 0.1 ms for the default's body where MeshVertex.co / MeshLoop.vertex_index take 7 and 25 ms.
POSITION, CORNER_VERT = "position", ".corner_vert"


def mesh_mark(mesh: bpy.types.Mesh) -> dict[str, Any]:
    """The mark of a mesh's geometry: its vertex coordinates and face corners (ownership.array_mark)."""
    co = np.empty(len(mesh.vertices) * 3, dtype=np.float32)
    mesh.attributes[POSITION].data.foreach_get("vector", co)
    corners = np.empty(len(mesh.loops), dtype=np.int32)
    mesh.attributes[CORNER_VERT].data.foreach_get("value", corners)
    return {"co": ownership.array_mark(co), "corners": ownership.array_mark(corners)}  # indices < 2**24: exact


def _write_mesh(mesh: bpy.types.Mesh, vertices: np.ndarray, faces: np.ndarray) -> None:
    """Replace the mesh's geometry with these triangles, smooth-shaded (bulk writes: ~15-25 ms in all for
    the default's 13,718 vertices and 27,420 faces, most of it Mesh.update's edges)."""
    mesh.clear_geometry()
    corners = np.ascontiguousarray(faces, dtype=np.int32).reshape(-1)
    mesh.vertices.add(len(vertices))
    mesh.loops.add(len(corners))
    mesh.polygons.add(len(corners) // 3)
    mesh.attributes[POSITION].data.foreach_set("vector", np.ascontiguousarray(vertices, dtype=np.float32).reshape(-1))
    mesh.attributes[CORNER_VERT].data.foreach_set("value", corners)
    mesh.polygons.foreach_set("loop_start", np.arange(0, len(corners), 3, dtype=np.int32))
    mesh.update(calc_edges=True)
    mesh.shade_smooth()


def _stored(entry: Any) -> bpy.types.Mesh | None:
    """The stored fitted body of a record entry while it is provably ours (tagged, mark matches)."""
    fitted = _fitted(entry)
    mesh = bpy.data.meshes.get(str(fitted.get("mesh") or ""))
    if mesh is None or results.IMAGE_OWNER_KEY not in mesh or mesh_mark(mesh) != fitted.get("mark"):
        return None
    return mesh


def store(obj: bpy.types.Object, key: str, arrays: dict[str, np.ndarray]) -> bool:
    """Keep the fitted body of the result just written under `key` on obj (arrays as protocol.read_result
    read them); a result without one drops the earlier result's stored body. The objects added from
    earlier results stay listed (Remove Results removes them). Returns whether one is kept."""
    record = results.read_record(obj)
    entry = record.get(key)
    if not isinstance(entry, dict):
        return False
    fitted, mesh = _fitted(entry), _stored(entry)
    objects = [str(name) for name in fitted.get("objects") or []]
    if not all(name in arrays for name in protocol.FITTED_BODY_KEYS):
        if not fitted:
            return False  # nothing kept before either: the record stays as written
        if mesh is not None:
            bpy.data.meshes.remove(mesh)  # it was the replaced result's pose, not this one's
        if objects:
            entry["fitted"] = {"objects": objects}
        else:
            entry.pop("fitted", None)
        results.write_record(obj, record)
        return False
    if mesh is None:  # none yet, or the one named is no longer provably ours: never write into it
        mesh = bpy.data.meshes.new(f"IVLM {obj.name} {key + ' ' if key else ''}fitted body")
        mesh.use_fake_user = True  # nothing uses it, and the .blend keeps only used data
    mesh[results.IMAGE_OWNER_KEY] = f"{obj.name}|{key}|fitted"
    _write_mesh(mesh, arrays["fitted_vertices"], arrays["fitted_faces"])
    serial = 1 + max((int(_fitted(e).get("serial") or 0) for e in record.values()), default=0)
    entry["fitted"] = {"mesh": mesh.name, "mark": mesh_mark(mesh), "objects": objects, "serial": serial}
    results.write_record(obj, record)
    return True


def _localizers(entries: dict[str, dict[str, Any]]) -> str:
    names = {str((entry.get("provenance") or {}).get("localizer") or "") for entry in entries.values()}
    return ", ".join(sorted(name for name in names if name)) or "unknown"


def fitted_result(obj: bpy.types.Object, key: str | None = None) -> tuple[str, dict[str, Any]]:
    """(key, entry) of obj's latest result with a fitted body (key None) or of result `key`;
    JobError saying what to do when there is none."""
    entries = results.estimate_entries(results.read_record(obj))
    if not entries:
        raise JobError(f"{obj.name!r} has no contact result; run Estimate Contact on it first")
    if key is not None:
        if key not in entries:
            known = ", ".join(repr(k) if k else "plain contact" for k in entries)
            raise JobError(f"{obj.name!r} has no result {key!r} (its results: {known}); pick one of them")
        entries = {key: entries[key]}
    with_body = {k: e for k, e in entries.items() if has_fitted_body(e)}
    if not with_body:
        raise JobError(f"the contact result on {obj.name!r} has no fitted body (its localizer, "
                       f"{_localizers(entries)}, returns none; so do results of earlier releases); run Estimate "
                       "Contact with the default localizer, which fits the body to the photo")
    chosen = max(with_body, key=lambda k: int(_fitted(with_body[k]).get("serial") or 0))
    return chosen, with_body[chosen]


def _mark_of_object(obj: bpy.types.Object) -> Any:
    try:
        return json.loads(obj.get(OBJECT_KEY, "")).get("mark")
    except (TypeError, ValueError, AttributeError):
        return None


def is_ours(obj: bpy.types.Object | None) -> bool:
    """Whether an object still is the fitted body Add Fitted Body made (not being edited, mesh unchanged)."""
    if obj is None or obj.type != "MESH" or obj.mode != "OBJECT":
        return False
    mark = _mark_of_object(obj)
    return mark is not None and mesh_mark(obj.data) == mark


def _listed(body: bpy.types.Object) -> list[str]:
    """Names of every object the body's record says Add Fitted Body made (ours or not any more)."""
    return [str(name) for entry in results.read_record(body).values() for name in _fitted(entry).get("objects") or []]


def _world_box(obj: bpy.types.Object) -> tuple[np.ndarray, np.ndarray]:
    """obj's world bounding box. An object without a parent is read through its own location, rotation
    and scale: matrix_world is stale until the depsgraph runs (a fitted body added a moment ago)."""
    corners = np.array([tuple(corner) for corner in obj.bound_box], dtype=np.float64)
    matrix = np.array(obj.matrix_basis if obj.parent is None else obj.matrix_world, dtype=np.float64)
    world = corners @ matrix[:3, :3].T + matrix[:3, 3]
    return world.min(axis=0), world.max(axis=0)


def _collection(context: bpy.types.Context, body: bpy.types.Object) -> bpy.types.Collection:
    """The body's collection in this scene, else the active collection."""
    scene = context.scene
    in_scene = {c.name for c in scene.collection.children_recursive}
    for collection in body.users_collection:
        if collection == scene.collection or collection.name in in_scene:
            return collection
    return context.collection or scene.collection


def _location(body: bpy.types.Object, neighbours: list[bpy.types.Object], vertices: np.ndarray,
              scale: float, gap: float) -> tuple[float, float, float]:
    """Beside the body (+X, past the fitted bodies added before), centred on it in Y, on its lowest Z."""
    low, high = _world_box(body)
    right = max([high[0], *(_world_box(o)[1][0] for o in neighbours)])
    v_low, v_high = vertices.min(axis=0) * scale, vertices.max(axis=0) * scale
    return (float(right + gap - v_low[0]), float((low[1] + high[1] - v_low[1] - v_high[1]) / 2),
            float(low[2] - v_low[2]))


def add_to_scene(context: bpy.types.Context, body: bpy.types.Object, key: str | None = None) -> bpy.types.Object:
    """A new mesh object of the fitted body of body's latest result (key None) or of result `key`,
    beside the body in its collection, marked ours and listed in the record; JobError (nothing added)
    when there is none."""
    if body is None or body.type != "MESH":
        raise JobError("Add Fitted Body needs the mesh that holds the contact result: make it the active object")
    key, entry = fitted_result(body, key)
    stored = _stored(entry)
    if stored is None:
        raise JobError(f"the fitted body kept with the result on {body.name!r} is gone or was edited; run Estimate "
                       "Contact again to get it back")
    listed = _listed(body)
    ours = {name for name in listed if is_ours(bpy.data.objects.get(name))}
    users = {o.name for o in bpy.data.objects} - ours
    name = naming.new_object_name(naming.fitted_body_name(body.name, key), users, ours)
    vertices = np.empty((len(stored.vertices), 3), dtype=np.float32)
    stored.vertices.foreach_get("co", vertices.reshape(-1))
    scale_length = context.scene.unit_settings.scale_length
    scale = 1.0 / scale_length if scale_length > 0 else 1.0  # metres in scene units (1 unit = scale_length m)
    mesh = stored.copy()
    mesh.use_fake_user = False
    del mesh[results.IMAGE_OWNER_KEY]  # the copy is the object's mesh, not the stored body
    mesh.name = name
    added = bpy.data.objects.new(name, mesh)
    added.scale = (scale, scale, scale)
    neighbours = [o for o in map(bpy.data.objects.get, listed) if o is not None]
    added.location = _location(body, neighbours, vertices, scale, GAP_M * scale)
    _collection(context, body).objects.link(added)
    added[OBJECT_KEY] = json.dumps({"body": body.name, "key": key, "mark": mesh_mark(mesh)}, sort_keys=True)
    record = results.read_record(body)
    record[key]["fitted"]["objects"] = [*_fitted(record[key]).get("objects", []), added.name]
    results.write_record(body, record)
    return added


def remove_added(body: bpy.types.Object) -> list[str]:
    """Remove the fitted bodies of body's record that are still ours (objects, their meshes when
    nothing else uses them) and the stored ones; returns the names removed. The record itself is
    results.remove_results()'s."""
    removed: list[str] = []
    record = results.read_record(body)
    for entry in record.values():
        for name in _fitted(entry).get("objects") or []:
            obj = bpy.data.objects.get(str(name))
            if not is_ours(obj):
                continue
            mesh = obj.data
            bpy.data.objects.remove(obj)
            removed.append(str(name))
            if mesh.users == 0:
                bpy.data.meshes.remove(mesh)
        stored = _stored(entry)
        if stored is not None:
            removed.append(stored.name)
            bpy.data.meshes.remove(stored)
    return removed
