"""The placement job: move the object (or the body's root) so the object's contact region meets
the body's, from two vertex groups or float attributes (backend op `place`, backend/placement.py).

start_steps() (start_job in one go) checks the parenting and reads the contact weights before the
backend runs, in short main-thread steps (a 1M-vertex group is ~1 s of reading); apply_steps() sets the
moved object's matrix_world = T @ matrix_world (the only change to the scene); place_text() is the report.
"""
from __future__ import annotations

from typing import Any, Generator, Iterator

import bpy
import numpy as np
from mathutils import Matrix

from . import mesh_io, protocol, runner
from .modes import mesh_data
from .runner import JobError
from .scene_contact import PairJob, length_text, mesh_pair, submit_pair_steps
from .targets import live_mesh


def contact_source_check(obj: bpy.types.Object, source: str) -> str:
    """'group' or 'attribute': where obj's contact weights `source` come from (a vertex group, what the
    image path writes and what users paint, wins over a float point attribute of the same name);
    JobError naming the groups there are when it is neither."""
    if source in obj.vertex_groups:
        return "group"
    with mesh_data(obj):  # attributes read as empty in Edit Mode
        attribute = obj.data.attributes.get(source)
        if attribute is not None and attribute.domain == "POINT" and attribute.data_type == "FLOAT":
            return "attribute"
    groups = ", ".join(g.name for g in obj.vertex_groups) or "none"
    raise JobError(f"{obj.name!r} has no vertex group or float point attribute {source!r} (its groups: "
                   f"{groups}); run Estimate or Scene Contact first, or paint a vertex group and pick it")


def contact_weight_steps(obj: bpy.types.Object, source: str) -> Generator[float, None, np.ndarray]:
    """(N,) float32 contact weights of obj from `source` (contact_source_check), in steps: a group is
    read by the vertex loop (mesh_io.group_weight_steps, ~1 s at 1M vertices), an attribute in bulk."""
    if contact_source_check(obj, source) == "group":
        weights = yield from mesh_io.group_weight_steps(obj, source)
    else:
        with mesh_data(obj):
            weights = np.empty(len(obj.data.vertices), dtype=np.float32)
            obj.data.attributes[source].data.foreach_get("value", weights)
        weights = np.nan_to_num(np.clip(weights, 0.0, None))
    count = int((weights > 0).sum())
    if count < 3:
        raise JobError(f"{source!r} on {obj.name!r} marks {count} vertices; placement needs a contact region of at "
                       "least 3 vertices (paint more of it, or lower the estimate threshold)")
    return weights


def root_of(obj: bpy.types.Object) -> bpy.types.Object:
    while obj.parent is not None:
        obj = obj.parent
    return obj


def _descends_from(obj: bpy.types.Object, ancestor: bpy.types.Object) -> bool:
    while obj is not None:
        if obj == ancestor:
            return True
        obj = obj.parent
    return False


def moved_object(body: bpy.types.Object, obj: bpy.types.Object, move: str) -> bpy.types.Object:
    """What the placement moves: the object itself, or the body's root (its top-most parent, e.g. the rig)."""
    if move == "object":
        if _descends_from(body, obj):
            raise JobError(f"the body {body.name!r} is parented under {obj.name!r}, so moving it would move the "
                           "body too; move the body instead or clear the parent")
        return obj
    root = root_of(body)
    if _descends_from(obj, root):
        raise JobError(f"the object {obj.name!r} is parented under the body's root {root.name!r}, so moving the "
                       "body would move the object too; move the object instead or clear the parent")
    return root


def start_job(context: bpy.types.Context, body: str, obj: str, body_contact: str, object_contact: str,
              move: str = "object", scale: bool = False, penetration_weight: float = 10.0,
              contact_distance: float = protocol.DEFAULT_CONTACT_DISTANCE) -> PairJob:
    """Submit a placement job from the two meshes' contact regions (vertex groups or attributes), in one go."""
    return runner.finish(start_steps(context, body, obj, body_contact, object_contact, move, scale,
                                     penetration_weight, contact_distance))


def start_steps(context: bpy.types.Context, body: str, obj: str, body_contact: str, object_contact: str,
                move: str = "object", scale: bool = False, penetration_weight: float = 10.0,
                contact_distance: float = protocol.DEFAULT_CONTACT_DISTANCE) -> Generator[float, None, PairJob]:
    """start_job in short main-thread steps: the checks (meshes, move, parenting, contact sources)
    before the first yield."""
    b, o = mesh_pair(body, obj)
    if move not in protocol.MOVES:
        raise JobError(f"move must be one of {', '.join(protocol.MOVES)}, got {move!r}")
    moved_object(b, o, move)  # parenting problems are found before the backend runs
    for target, source in ((b, body_contact), (o, object_contact)):
        contact_source_check(target, source)
    yield 0.0
    contacts = []
    for side, source in enumerate((body_contact, object_contact)):
        target = mesh_pair(body, obj)[side]  # looked up again: the user may delete it between steps
        contacts.append((yield from contact_weight_steps(target, source)))
    params = {"move": move, "scale": bool(scale), "penetration_weight": float(penetration_weight),
              "contact_distance": float(contact_distance)}

    def request(**paths: Any) -> dict[str, Any]:
        return protocol.place_request(**paths, **params)

    b, o = mesh_pair(body, obj)
    return (yield from submit_pair_steps(context, "place", "placement", b, o, request, params, tuple(contacts)))


def apply_steps(job: PairJob) -> Iterator[None]:
    """Apply a DONE placement: matrix_world of the moved object (or body root) = T @ matrix_world."""
    body, obj = live_mesh(job.body), live_mesh(job.object)
    try:
        transform = np.asarray(protocol.read_result("place", job.result_path)["transform"], dtype=np.float64)
    except protocol.ResultError as error:
        raise JobError(str(error)) from None
    if transform.shape != (4, 4) or not np.isfinite(transform).all():
        raise JobError(f"the backend's transform has shape {transform.shape} or non-finite values; run it again")
    target = moved_object(body, obj, job.params["move"])
    current = np.array(target.matrix_world, dtype=np.float64)
    target.matrix_world = Matrix((transform @ current).tolist())  # rows, as numpy holds them
    job.params["moved"] = target.name
    yield


def place_text(context: bpy.types.Context, job: PairJob) -> str:
    s = job.summary
    moved = bpy.data.objects[job.params["moved"]]
    translation = float(np.linalg.norm(s.get("translation", [0, 0, 0])))
    text = (f"InteractVLM: moved {moved.name!r} by {length_text(context, translation)}, rotated "
            f"{s.get('rotation_deg', 0.0):.2f}°")
    if job.params.get("scale"):
        text += f", scaled ×{s.get('scale', 1.0):.4f}"
    text += (f"; contact residual mean {length_text(context, s.get('residual_mean'))}, max "
             f"{length_text(context, s.get('residual_max'))}; penetration: {s.get('penetrating_vertices', 0)} object "
             f"vertices inside the body (max depth {length_text(context, s.get('max_penetration_depth'))})")
    animated = moved.animation_data is not None and moved.animation_data.action is not None
    if animated:
        text += f"; {moved.name!r} is animated: insert a keyframe to keep the new placement"
    if job.notes:
        text += f"; note: {' '.join(job.notes)}"
    return text
