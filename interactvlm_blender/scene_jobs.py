"""Scene contact and contact-guided placement jobs (no image), independent of the operators.

The computation runs in the backend worker (ops `scene_contact` and `place`, backend/PROTOCOL.md);
this module does the main-thread parts: read the meshes as they stand in the scene (world space,
evaluated) and the contact weights, write the request npz files, submit; tick() polls without
blocking; finish_*() writes the result onto the scene. Nothing in the scene changes before finish.

What scene contact writes on both meshes (namespaced like the image path, see results.py):
- float POINT attribute `ivlm_scene_contact`: score 1 - distance/threshold, 1 where penetrating;
- float POINT attribute `ivlm_scene_depth`: penetration depth (0 where not inside the other mesh);
- vertex group `Scene Contact`: weight = score for every vertex with score > 0;
- FLOAT_COLOR POINT attribute `ivlm_scene_contact_color`: heat map of the score.
Ownership is recorded in the object's custom property `ivlm_scene_results` (results.SCENE_RECORD_KEY,
{kind: name}); a name the user already uses for their own data is never touched: ours gets a
distinct name (results.SUFFIX / `_ivlm`).
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import bpy
import numpy as np
from mathutils import Matrix

from . import client, mesh_io, results
# State names and the poll/wait/discard helpers are re-exported: operators and tests use scene_jobs.*.
from .backend_job import (CANCELLED, DONE, FAILED, RUNNING, BackendJob, JobError, discard_job, live_mesh,
                          finishing, load_result, mesh_object as _mesh_object, request_dir, tick, wait_job)
from .prefs import get_prefs

ATTRIBUTE, DEPTH_ATTRIBUTE, GROUP, COLOR = "ivlm_scene_contact", "ivlm_scene_depth", "Scene Contact", "ivlm_scene_contact_color"
RECORD_KEY = results.SCENE_RECORD_KEY
GROUP_WEIGHT_STEPS = 1024  # group weights are rounded to 1/1024 so VertexGroup.add runs once per level
DEFAULT_THRESHOLD = 0.02  # scene units (metres): 2 cm, as the backend's default


class SceneJobError(JobError):
    """A problem found before or after the backend ran; str() says what and how to fix it."""


@dataclass(kw_only=True)
class SceneJob(BackendJob):
    op: str  # "scene_contact" | "place"
    body: str
    object: str
    params: dict[str, Any]


# -- inputs -------------------------------------------------------------------------------------
def mesh_object(name: str, role: str) -> bpy.types.Object:
    return _mesh_object(name, role, SceneJobError, "or select two meshes, the body active")


def _pair(body: str, obj: str) -> tuple[bpy.types.Object, bpy.types.Object]:
    b, o = mesh_object(body, "body"), mesh_object(obj, "object")
    if b == o:
        raise SceneJobError(f"body and object are the same mesh {b.name!r}; pick two different meshes")
    return b, o


def contact_weights(obj: bpy.types.Object, source: str) -> np.ndarray:
    """(N,) float32 contact weights of obj from a vertex group or a float point attribute named `source`.

    A vertex group (what the image path writes and what users paint) wins over an attribute of the
    same name.
    """
    mesh = obj.data
    if source in obj.vertex_groups:
        weights = results.group_weights(obj, source)
    else:
        attribute = mesh.attributes.get(source)
        if attribute is None or attribute.domain != "POINT" or attribute.data_type != "FLOAT":
            groups = ", ".join(g.name for g in obj.vertex_groups) or "none"
            raise SceneJobError(f"{obj.name!r} has no vertex group or float point attribute {source!r} (its groups: "
                                f"{groups}); run Estimate or Scene Contact first, or paint a vertex group and pick it")
        weights = np.empty(len(mesh.vertices), dtype=np.float32)
        attribute.data.foreach_get("value", weights)
        weights = np.nan_to_num(np.clip(weights, 0.0, None))
    count = int((weights > 0).sum())
    if count < 3:
        raise SceneJobError(f"{source!r} on {obj.name!r} marks {count} vertices; placement needs a contact region of at "
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
            raise SceneJobError(f"the body {body.name!r} is parented under {obj.name!r}, so moving it would move the "
                                "body too; move the body instead or clear the parent")
        return obj
    root = root_of(body)
    if _descends_from(obj, root):
        raise SceneJobError(f"the object {obj.name!r} is parented under the body's root {root.name!r}, so moving the "
                            "body would move the object too; move the object instead or clear the parent")
    return root


def _write_mesh(job_dir: Path, name: str, obj: bpy.types.Object, depsgraph, notes: list[str],
                contact: np.ndarray | None = None) -> str:
    arrays = mesh_io.read_mesh(obj, depsgraph, "WORLD")
    if arrays.note:
        notes.append(arrays.note)
    extra = {} if contact is None else {"contact": contact}
    return str(client.write_mesh_npz(job_dir / name, arrays.vertices, arrays.faces, **extra))


def _submit(context: bpy.types.Context, op: str, body: bpy.types.Object, obj: bpy.types.Object,
            params: dict[str, Any], contacts: tuple[np.ndarray, np.ndarray] | None) -> SceneJob:
    worker = client.get_worker(get_prefs(context))  # WorkerError before any file is written
    notes: list[str] = []
    with request_dir(op, SceneJobError) as job_dir:
        depsgraph = context.evaluated_depsgraph_get()
        fields: dict[str, Any] = {
            "body": {"npz": _write_mesh(job_dir, "body.npz", body, depsgraph, notes, contacts[0] if contacts else None)},
            "object": {"npz": _write_mesh(job_dir, "object.npz", obj, depsgraph, notes,
                                          contacts[1] if contacts else None)},
            "out_dir": str(job_dir / "out"), **params}
        job_id = worker.submit(op, fields)
    return SceneJob(op=op, what="scene contact" if op == "scene_contact" else "placement", body=body.name,
                    object=obj.name, params=params, job_dir=job_dir, worker=worker,
                    job_id=job_id, notes=notes)


def start_scene_contact(context: bpy.types.Context, body: str, obj: str, threshold: float) -> SceneJob:
    """Submit a scene contact job; SceneJobError / client.WorkerError on problems (nothing written)."""
    b, o = _pair(body, obj)
    if not threshold > 0:
        raise SceneJobError(f"the contact distance must be positive, got {threshold}; use e.g. 0.02 (2 cm)")
    return _submit(context, "scene_contact", b, o, {"threshold": float(threshold)}, None)


def start_place(context: bpy.types.Context, body: str, obj: str, body_contact: str, object_contact: str,
                move: str = "object", scale: bool = False, penetration_weight: float = 10.0,
                threshold: float = DEFAULT_THRESHOLD) -> SceneJob:
    """Submit a placement job from the two meshes' contact regions (vertex groups or attributes)."""
    b, o = _pair(body, obj)
    if move not in ("object", "body"):
        raise SceneJobError(f"move must be 'object' or 'body', got {move!r}")
    moved_object(b, o, move)  # parenting problems are found before the backend runs
    contacts = (contact_weights(b, body_contact), contact_weights(o, object_contact))
    params = {"move": move, "scale": bool(scale), "penetration_weight": float(penetration_weight),
              "threshold": float(threshold)}
    return _submit(context, "place", b, o, params, contacts)


# -- writing scene contact ---------------------------------------------------------------------
@dataclass
class SideReport:
    object: str
    group: str
    attribute: str
    contact_count: int
    penetrating: int
    renamed: list[str] = field(default_factory=list)


def _ours(record: dict[str, Any], kind: str) -> set[str]:
    name = record.get(kind)
    return {name} if isinstance(name, str) else set()


def _check_count(obj: bpy.types.Object, values: np.ndarray) -> None:
    if len(values) != len(obj.data.vertices):
        raise SceneJobError(f"the result has {len(values)} values but {obj.name!r} has {len(obj.data.vertices)} "
                            "vertices (the mesh changed while the job ran); run scene contact again")


def write_side(obj: bpy.types.Object, score: np.ndarray, depth: np.ndarray, threshold: float, other: str) -> SideReport:
    """Write one mesh's scene contact (see the module docstring); replaces only our own data."""
    mesh = obj.data
    score = np.ascontiguousarray(score, dtype=np.float32).reshape(-1)
    _check_count(obj, score)
    record = results.read_record(obj, RECORD_KEY)
    wanted = {"attribute": ATTRIBUTE, "depth": DEPTH_ATTRIBUTE, "color": COLOR, "group": GROUP}
    names, renamed = results.claim_names(obj, wanted, {kind: _ours(record, kind) for kind in wanted})
    results.set_point_attribute(mesh, names["attribute"], "FLOAT", score, "value")
    results.set_point_attribute(mesh, names["depth"], "FLOAT", depth, "value")
    results.write_heat_colors(obj, names["color"], score)  # never hides a user's own active colours
    group = obj.vertex_groups.get(names["group"]) or obj.vertex_groups.new(name=names["group"])
    # Members: every vertex with score > 0; weights rounded so VertexGroup.add runs per level, not per vertex.
    levels = np.where(score > 0, np.maximum(np.round(score * GROUP_WEIGHT_STEPS), 1) / GROUP_WEIGHT_STEPS, 0.0)
    count = results.set_group_weights(group, levels.astype(np.float32), 1.0 / (2 * GROUP_WEIGHT_STEPS))
    obj[RECORD_KEY] = json.dumps({**names, "threshold": float(threshold), "other": other}, sort_keys=True)
    mesh.update()
    return SideReport(object=obj.name, group=names["group"], attribute=names["attribute"], contact_count=count,
                      penetrating=int((np.asarray(depth) > 0).sum()), renamed=renamed)


def finish_scene_contact(job: SceneJob) -> tuple[SideReport, SideReport]:
    """Write a finished scene contact job onto both meshes, then remove the job's files."""
    with finishing(job, SceneJobError):
        body, obj = live_mesh(job.body, SceneJobError), live_mesh(job.object, SceneJobError)
        keys = tuple(f"{s}_{k}" for s in ("body", "object") for k in ("score", "depth"))
        arrays = load_result(job.result_path, keys, SceneJobError)
        threshold = float(job.params["threshold"])
        for side, target in (("body", body), ("object", obj)):  # check both before writing either
            _check_count(target, arrays[f"{side}_score"])
        return (write_side(body, arrays["body_score"], arrays["body_depth"], threshold, obj.name),
                write_side(obj, arrays["object_score"], arrays["object_depth"], threshold, body.name))


# -- applying a placement -----------------------------------------------------------------------
def finish_place(job: SceneJob) -> bpy.types.Object:
    """Apply a finished placement: matrix_world of the moved object (or body root) = T @ matrix_world."""
    with finishing(job, SceneJobError):
        body, obj = live_mesh(job.body, SceneJobError), live_mesh(job.object, SceneJobError)
        transform = np.asarray(load_result(job.result_path, ("transform",), SceneJobError)["transform"], dtype=np.float64)
        if transform.shape != (4, 4) or not np.isfinite(transform).all():
            raise SceneJobError(f"the backend's transform has shape {transform.shape} or non-finite values; run it again")
        target = moved_object(body, obj, job.params["move"])
        current = np.array(target.matrix_world, dtype=np.float64)
        target.matrix_world = Matrix((transform @ current).tolist())  # rows, as numpy holds them
        return target


# -- messages -----------------------------------------------------------------------------------
def length_text(context: bpy.types.Context, value: float | None) -> str:
    """A length in the scene's units (e.g. '2.34 cm')."""
    if value is None:
        return "n/a"
    units = context.scene.unit_settings
    if units.system == "NONE":
        return f"{value:.4g}"
    return bpy.utils.units.to_string(units.system, "LENGTH", value * units.scale_length, precision=3)


def scene_contact_text(context: bpy.types.Context, job: SceneJob, reports: tuple[SideReport, SideReport]) -> tuple[str, str]:
    """(report level, message) of a scene contact outcome."""
    summary = job.summary
    threshold = length_text(context, job.params["threshold"])
    body, obj = reports
    if not summary.get("in_contact"):
        return "WARNING", (f"InteractVLM: no contact between {job.body!r} and {job.object!r}: they are farther apart "
                           f"than the contact distance ({threshold}); their {body.group!r} groups are now empty "
                           "(raise the distance or move them together)")
    depth = max(summary["body"]["max_penetration_depth"], summary["object"]["max_penetration_depth"])
    text = (f"InteractVLM: scene contact within {threshold}: {body.contact_count} vertices of {job.body!r} and "
            f"{obj.contact_count} of {job.object!r} in group {body.group!r}")
    if summary.get("penetration"):
        text += (f"; penetration: {body.penetrating} body and {obj.penetrating} object vertices inside the other "
                 f"mesh, max depth {length_text(context, depth)} (attribute {DEPTH_ATTRIBUTE!r})")
    else:
        text += "; no penetration"
    renamed = body.renamed + obj.renamed
    if renamed:
        text += f"; your own data kept, ours renamed: {'; '.join(renamed)}"
    if job.notes:
        text += f"; note: {' '.join(job.notes)}"
    return ("WARNING" if summary.get("penetration") else "INFO"), text


def place_text(context: bpy.types.Context, job: SceneJob, moved: bpy.types.Object) -> str:
    s = job.summary
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
