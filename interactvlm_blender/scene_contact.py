"""The scene contact job (no image): exact per-vertex contact of two meshes as they stand.

The computation runs in the backend worker (op `scene_contact`, backend/PROTOCOL.md); this module
does the main-thread parts, each in short steps (a 1M-vertex mesh is seconds of main-thread work):
read both meshes (world space, evaluated), write the request npz files, submit (start_steps;
start_job in one go); write the result onto both meshes (apply_steps); the report (outcome).
Placement (placement.py) submits its pair of meshes the same way (submit_pair_steps).

What scene contact writes on both meshes, through results.write_steps (names: naming.py):
- float POINT attribute `ivlm_scene_contact`: score 1 - distance/contact_distance, 1 where penetrating;
- float POINT attribute `ivlm_scene_depth`: penetration depth (0 where not inside the other mesh);
- vertex group `Scene Contact`: weight = score for every vertex with score > 0;
- FLOAT_COLOR POINT attribute `ivlm_scene_contact_color`: heat map of the score;
recorded under naming.SCENE_CONTACT_KEY in the object's `ivlm_results` like an estimate result.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Generator, Iterator

import bpy
import numpy as np

from . import client, mesh_io, naming, protocol, results, runner
from .prefs import get_prefs
from .runner import JobError
from .targets import live_mesh, mesh_object

GROUP_WEIGHT_STEPS = 1024  # group weights are rounded to 1/1024 so VertexGroup.add runs once per level


@dataclass(kw_only=True)
class PairJob(runner.BackendJob):
    """A job on two scene meshes (scene contact, placement)."""

    body: str
    object: str
    params: dict[str, Any] = field(default_factory=dict)  # the operator's settings, for applying and reporting
    sides: tuple["SideReport", ...] = ()  # scene contact: what apply_steps wrote on body and object


def mesh_pair(body: str, obj: str) -> tuple[bpy.types.Object, bpy.types.Object]:
    how = "or select two meshes, the body active"
    b, o = mesh_object(body, "body", how), mesh_object(obj, "object", how)
    if b == o:
        raise JobError(f"body and object are the same mesh {b.name!r}; pick two different meshes")
    return b, o


def submit_pair_steps(context: bpy.types.Context, op: str, what: str, body: bpy.types.Object,
                      obj: bpy.types.Object, request: Callable[..., dict[str, Any]], params: dict[str, Any],
                      contacts: tuple[np.ndarray, np.ndarray] | None = None) -> Generator[float, None, PairJob]:
    """Write both meshes (world space; with their contact weights when given) and submit `op` with
    the fields request(body_npz=, object_npz=, out_dir=) builds, in short main-thread steps (a
    runner.Preparation, as estimate.start_steps: two 1M-vertex meshes are seconds of reading). Closed
    early (a cancel), it removes the request folder; nothing is written to the scene either way."""
    worker = client.get_worker(get_prefs(context))  # WorkerError before any file is written
    names = (body.name, obj.name)
    notes: list[str] = []
    with runner.request_folder(op) as job_dir:
        yield runner.Alone(0.0)  # evaluating the depsgraph after a change: ~85 ms at 1M vertices
        depsgraph = context.evaluated_depsgraph_get()
        paths = []
        for side, file in enumerate(("body.npz", "object.npz")):
            mesh = mesh_pair(*names)[side]  # looked up again: the user may delete it between steps
            arrays = yield from mesh_io.read_steps(mesh, depsgraph, "WORLD")
            notes += [arrays.note] if arrays.note else []
            yield runner.Alone(1.0)
            paths.append((yield from mesh_io.request_mesh_steps(job_dir / file, arrays,
                                                                contacts[side] if contacts else None)))
            yield runner.Alone(1.0)
        fields = request(body_npz=paths[0], object_npz=paths[1], out_dir=job_dir / "out")
        return PairJob.submit(worker, op, fields, what=what, body=names[0], object=names[1], params=params,
                              job_dir=job_dir, notes=notes)


def start_job(context: bpy.types.Context, body: str, obj: str, contact_distance: float) -> PairJob:
    """Submit a scene contact job in one go; JobError / client.WorkerError on problems (nothing written)."""
    return runner.finish(start_steps(context, body, obj, contact_distance))


def start_steps(context: bpy.types.Context, body: str, obj: str,
                contact_distance: float) -> Generator[float, None, PairJob]:
    """start_job in short main-thread steps (the checks before the first yield)."""
    b, o = mesh_pair(body, obj)
    if not contact_distance > 0:
        raise JobError(f"the contact distance must be positive, got {contact_distance}; use e.g. 0.02 (2 cm)")

    def request(**paths: Any) -> dict[str, Any]:
        return protocol.scene_contact_request(**paths, contact_distance=contact_distance)

    return (yield from submit_pair_steps(context, "scene_contact", "scene contact", b, o, request,
                                         {"contact_distance": float(contact_distance)}))


# -- writing ------------------------------------------------------------------------------------
@dataclass
class SideReport:
    object: str
    report: results.WriteReport
    penetrating: int


def group_levels(score: np.ndarray) -> np.ndarray:
    """Group weights: the score rounded to 1/GROUP_WEIGHT_STEPS (at least one step where score > 0),
    so VertexGroup.add runs once per level, not per vertex."""
    score = np.asarray(score, dtype=np.float32)
    steps = np.maximum(np.round(score * GROUP_WEIGHT_STEPS), 1) / GROUP_WEIGHT_STEPS
    return np.where(score > 0, steps, 0.0).astype(np.float32)


def write_side_steps(obj: bpy.types.Object, score: np.ndarray, depth: np.ndarray, contact_distance: float,
                     other: str) -> Generator[float, None, SideReport]:
    """Write one mesh's scene contact (see the module docstring) in steps (results.write_steps);
    replaces only our own data."""
    report = yield from results.write_steps(
        obj, naming.SCENE_CONTACT_KEY, naming.SCENE_CONTACT_NAMES, score, group_values=group_levels(score),
        group_threshold=1.0 / (2 * GROUP_WEIGHT_STEPS), settings={"contact_distance": float(contact_distance),
                                                                  "other": other},
        extra={"depth": np.asarray(depth, dtype=np.float32)})
    return SideReport(object=obj.name, report=report, penetrating=int((np.asarray(depth) > 0).sum()))


def apply_steps(job: PairJob) -> Iterator[float]:
    """Write a DONE scene contact job onto both meshes (both checked before either is written), in
    steps: a cancel while the body is written leaves both meshes as they were; once the body holds its
    side, the object's side is completed (runner.settled)."""
    body, obj = live_mesh(job.body), live_mesh(job.object)
    try:
        arrays = protocol.read_result("scene_contact", job.result_path)
    except protocol.ResultError as error:
        raise JobError(str(error)) from None
    for side, target in (("body", body), ("object", obj)):
        results.check_counts(target, arrays[f"{side}_score"], arrays[f"{side}_depth"])
    distance = job.params["contact_distance"]
    body_side = yield from write_side_steps(body, arrays["body_score"], arrays["body_depth"], distance, obj.name)
    object_side = yield from runner.settled(write_side_steps(live_mesh(job.object), arrays["object_score"],
                                                             arrays["object_depth"], distance, job.body))
    job.sides = (body_side, object_side)


def length_text(context: bpy.types.Context, value: float | None) -> str:
    """A length in the scene's units (e.g. '2.34 cm')."""
    if value is None:
        return "n/a"
    units = context.scene.unit_settings
    if units.system == "NONE":
        return f"{value:.4g}"
    return bpy.utils.units.to_string(units.system, "LENGTH", value * units.scale_length, precision=3)


def outcome(context: bpy.types.Context, job: PairJob) -> tuple[str, str]:
    """(report level, message) of an applied scene contact job."""
    summary = job.summary
    distance = length_text(context, job.params["contact_distance"])
    body, obj = job.sides
    group = body.report.group
    if not summary.get("in_contact"):
        return "WARNING", (f"InteractVLM: no contact between {job.body!r} and {job.object!r}: they are farther apart "
                           f"than the contact distance ({distance}); their {group!r} groups are now empty "
                           "(raise the distance or move them together)")
    depth = max(summary["body"]["max_penetration_depth"], summary["object"]["max_penetration_depth"])
    text = (f"InteractVLM: scene contact within {distance}: {body.report.contact_count} vertices of {job.body!r} and "
            f"{obj.report.contact_count} of {job.object!r} in group {group!r}")
    if summary.get("penetration"):
        text += (f"; penetration: {body.penetrating} body and {obj.penetrating} object vertices inside the other "
                 f"mesh, max depth {length_text(context, depth)} (attribute "
                 f"{naming.SCENE_CONTACT_NAMES['depth']!r})")
    else:
        text += "; no penetration"
    renamed = body.report.renamed + obj.report.renamed
    if renamed:
        text += f"; your own data kept, ours renamed: {'; '.join(renamed)}"
    if job.notes:
        text += f"; note: {' '.join(job.notes)}"
    return ("WARNING" if summary.get("penetration") else "INFO"), text
