"""Runners of the `scene_contact` and `place` jobs: read two mesh npz files, compute, write a result npz.

Same contract as the estimate job (backend/jobs.py): `should_stop()` is checked between stages
(Cancelled), the result is written to a temporary file and renamed into place only when
`may_commit()` agrees, and failures carry a protocol code (JobError).
"""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

import numpy as np

from backend.jobs import SCENE_STAGE_STARTS, JobError, JobResult, MayCommit, Progress, ShouldStop, Stages, commit_npz
from backend.meshes import read_mesh
from backend.protocol import PlaceRequest, SceneContactRequest

if TYPE_CHECKING:  # backend.scene_contact needs scipy: imported by the job itself, not at start-up
    from backend.localizers.cache import LocalizerCache
    from backend.scene_contact import SceneContact


def _read(path: str, what: str, need_contact: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """(vertices, faces, contact or None) of a client-written mesh npz (MeshError: bad_mesh), or
    JobError bad_request when `contact` is needed and absent."""
    mesh = read_mesh(path, what)
    contact = mesh.arrays.get("contact")
    if need_contact and contact is None:
        raise JobError("bad_request", f"{what} npz {path} has no 'contact' array",
                       f"mark the {what}'s contact region first (estimate, scene contact or paint the vertex group), "
                       "then send it as 'contact': per-vertex weights (N,) or vertex indices")
    return mesh.vertices, mesh.faces, contact


def scene_contact_arrays(result: SceneContact) -> dict[str, np.ndarray]:
    """The result npz arrays of a backend.scene_contact result: body_* and object_* (score, distance,
    penetrating, depth), each indexed by its mesh's own vertex order (shared with the CLI)."""
    arrays: dict[str, np.ndarray] = {}
    for side, contact in (("body", result.body), ("object", result.object)):
        arrays.update({f"{side}_score": contact.score, f"{side}_distance": contact.distance,
                       f"{side}_penetrating": contact.penetrating, f"{side}_depth": contact.depth})
    return arrays


def _run(request: SceneContactRequest | PlaceRequest, out_path: Path, stages: Stages, may_commit: MayCommit | None,
         need_contact: bool, doing: str, compute: Callable[[tuple, tuple], tuple[dict[str, np.ndarray], dict[str, Any]]]
         ) -> JobResult:
    """A scene job's stages: load both meshes, compute(body, object) -> (arrays, summary), write."""
    stages.enter("load", "reading the meshes" + (" and contact regions" if need_contact else ""))
    body = _read(request.body_npz, "body", need_contact)
    obj = _read(request.object_npz, "object", need_contact)
    stages.enter("compute", f"{doing} ({body[0].shape[0]} + {obj[0].shape[0]} vertices)")
    arrays, summary = compute(body, obj)
    stages.enter("write", "writing the result")
    commit_npz(arrays, out_path, stages.should_stop, may_commit)
    stages.close()
    return JobResult(out_path, {**summary, "timings": stages.timings})


def run_scene_contact(request: SceneContactRequest, cache: LocalizerCache | None, out_path: Path,
                      progress: Progress | None = None, should_stop: ShouldStop | None = None,
                      may_commit: MayCommit | None = None) -> JobResult:
    """Per-vertex contact of both meshes; writes body_* / object_* arrays (score, distance, penetrating,
    depth). `cache` is unused (no localizer): the signature is every job runner's (backend.jobs.JOBS)."""
    from backend.scene_contact import scene_contact

    def compute(body: tuple, obj: tuple) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        result = scene_contact(body[0], body[1], obj[0], obj[1], request.contact_distance)
        return scene_contact_arrays(result), result.summary()

    stages = Stages(SCENE_STAGE_STARTS, progress, should_stop)
    return _run(request, Path(out_path), stages, may_commit, False, f"contact within {request.contact_distance:g}",
                compute)


def run_place(request: PlaceRequest, cache: LocalizerCache | None, out_path: Path, progress: Progress | None = None,
              should_stop: ShouldStop | None = None, may_commit: MayCommit | None = None) -> JobResult:
    """Rigid (+ optional uniform scale) transform of the moved mesh; writes `transform` (4,4) float64.
    `cache` is unused, as for run_scene_contact."""
    from backend.placement import place

    def compute(body: tuple, obj: tuple) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        try:
            result = place(body[0], body[1], obj[0], obj[1], body[2], obj[2], scale=request.scale, move=request.move,
                           penetration_weight=request.penetration_weight, regularizer=request.regularizer,
                           contact_distance=request.contact_distance)
        except ValueError as error:  # meshes were checked on reading: what is left are the contact regions
            raise JobError("bad_request", str(error),
                           "mark at least 3 contact vertices on each mesh (a region, not a point)") from error
        return {"transform": result.transform.astype(np.float64)}, result.summary()

    stages = Stages(SCENE_STAGE_STARTS, progress, should_stop)
    return _run(request, Path(out_path), stages, may_commit, True, f"placing the {request.move}", compute)
