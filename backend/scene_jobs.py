"""The `scene_contact` and `place` jobs of the stdio server: read mesh npz files, compute, write a result npz.

Same contract as the estimate job (backend/pipeline.py): `should_stop()` is checked between stages
(Cancelled), the result is written to a temporary file and renamed into place only when
`may_commit()` agrees, and failures carry a protocol code (JobError).
"""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

import numpy as np

from backend.mesh_checks import check_mesh
from backend.pipeline import JobError, Progress, Stages, commit_npz
from backend.protocol import SCENE_STAGES, PlaceRequest, SceneContactRequest

if TYPE_CHECKING:  # backend.scene_contact needs scipy: imported by the job itself, not at start-up
    from backend.scene_contact import SceneContact

SCENE_CONTACT_RESULT = "scene_contact.npz"
PLACE_RESULT = "placement.npz"
# Where each stage starts on the job's 0..1 progress scale.
_STAGE_START = dict(zip(SCENE_STAGES, (0.0, 0.1, 0.95)))


def _load_mesh_npz(path: str, what: str, need_contact: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """(vertices, faces, contact or None) from a client-written npz, or JobError bad_mesh / bad_request."""
    from backend.npz_limits import check_mesh_npz

    try:
        check_mesh_npz(path, f"{what} npz")  # before inflating: a zip at all, sizes in proportion
        with np.load(path, allow_pickle=False) as data:
            names = sorted(data.files)
            arrays = {k: data[k] for k in ("vertices", "faces", "contact") if k in names}
    except Exception as error:  # zip/pickle/format errors of a broken file
        raise JobError("bad_mesh", f"{what} npz {path} is not readable: {error}",
                       "write it with numpy.savez (no object arrays)") from error
    missing = [k for k in ("vertices", "faces") if k not in arrays]
    if missing:
        raise JobError("bad_mesh", f"{what} npz {path} has arrays {names}, lacks {missing}",
                       "write vertices (N,3) float32 and faces (F,3) int32 in world space")
    contact = arrays.get("contact")
    try:
        vertices, faces = check_mesh(arrays["vertices"], arrays["faces"], what)
    except ValueError as error:
        raise JobError("bad_mesh", str(error), "send a triangulated mesh with finite world-space vertices") from error
    if need_contact and contact is None:
        raise JobError("bad_request", f"{what} npz {path} has no 'contact' array",
                       f"mark the {what}'s contact region first (estimate, scene contact or paint the vertex group), "
                       "then send it as 'contact': per-vertex weights (N,) or vertex indices")
    return vertices, faces, contact


def scene_contact_arrays(result: SceneContact) -> dict[str, np.ndarray]:
    """The result npz arrays of a backend.scene_contact result: body_* and object_* (score, distance,
    penetrating, depth), each indexed by its mesh's own vertex order (shared with the CLI)."""
    arrays: dict[str, np.ndarray] = {}
    for side, contact in (("body", result.body), ("object", result.object)):
        arrays.update({f"{side}_score": contact.score, f"{side}_distance": contact.distance,
                       f"{side}_penetrating": contact.penetrating, f"{side}_depth": contact.depth})
    return arrays


def run_scene_contact(request: SceneContactRequest, out_path: Path, progress: Progress | None = None,
                      should_stop: Callable[[], bool] = lambda: False,
                      may_commit: Callable[[], bool] | None = None) -> tuple[Path, dict[str, Any]]:
    """Per-vertex contact of both meshes; writes body_* / object_* arrays (score, distance, penetrating, depth)."""
    from backend.scene_contact import scene_contact

    stages = Stages(_STAGE_START, progress, should_stop)
    stages.enter("load", "reading the meshes")
    bv, bf, _ = _load_mesh_npz(request.body_npz, "body", need_contact=False)
    ov, of, _ = _load_mesh_npz(request.object_npz, "object", need_contact=False)
    stages.enter("compute", f"contact within {request.threshold:g} ({bv.shape[0]} + {ov.shape[0]} vertices)")
    result = scene_contact(bv, bf, ov, of, request.threshold)
    stages.enter("write", "writing the result")
    commit_npz(scene_contact_arrays(result), out_path, should_stop, may_commit)
    stages.close()
    summary = result.summary()
    summary["timings"] = stages.timings
    return out_path, summary


def run_place(request: PlaceRequest, out_path: Path, progress: Progress | None = None,
              should_stop: Callable[[], bool] = lambda: False,
              may_commit: Callable[[], bool] | None = None) -> tuple[Path, dict[str, Any]]:
    """Rigid (+ optional uniform scale) transform of the moved mesh; writes `transform` (4,4) float64."""
    from backend.placement import place

    stages = Stages(_STAGE_START, progress, should_stop)
    stages.enter("load", "reading the meshes and contact regions")
    bv, bf, bc = _load_mesh_npz(request.body_npz, "body", need_contact=True)
    ov, of, oc = _load_mesh_npz(request.object_npz, "object", need_contact=True)
    stages.enter("compute", f"placing the {request.move} from {bv.shape[0]} + {ov.shape[0]} vertices")
    try:
        result = place(bv, bf, ov, of, bc, oc, scale=request.scale, move=request.move,
                       penetration_weight=request.penetration_weight, regularizer=request.regularizer,
                       threshold=request.threshold)
    except ValueError as error:  # meshes were checked above: what is left are the contact regions
        raise JobError("bad_request", str(error),
                       "mark at least 3 contact vertices on each mesh (a region, not a point)") from error
    stages.enter("write", "writing the result")
    commit_npz({"transform": result.transform.astype(np.float64)}, out_path, should_stop, may_commit)
    stages.close()
    summary = result.summary()
    summary["timings"] = stages.timings
    return out_path, summary
