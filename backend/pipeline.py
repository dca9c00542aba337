"""One estimate job: load inputs -> render -> localize -> lift -> write the result npz + summary.

Shared by the stdio server and the `estimate` CLI. Between stages the job calls `should_stop()`
and raises Cancelled when it returns True; the result is written to a temporary file and only
renamed into place when `may_commit()` agrees, so a cancelled job leaves nothing behind.
Errors carry a protocol code (JobError / classify) so callers can report them as they are.
Stages and commit_npz are the same mechanism for the scene jobs (backend/scene_jobs.py).
"""
from __future__ import annotations

import gc
import logging
import os
import sys
import tempfile
import time
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np

from backend.bodies.base import Body
from backend.localizers.base import Localizer, LocalizerOutput, Query, Steps
from backend.protocol import ERROR_CODES, STAGES, EstimateRequest

log = logging.getLogger(__name__)

Progress = Callable[[str, float, "str | None"], None]
# Where each stage starts on the job's 0..1 progress scale (localize dominates with a real model).
STAGE_START = dict(zip(STAGES, (0.0, 0.1, 0.2, 0.85, 0.92)))
CONTACT_THRESHOLD = 0.5


class Cancelled(Exception):
    """The job was cancelled; nothing was written."""


class JobError(Exception):
    """A job failure with its protocol error code and a hint for the user."""

    def __init__(self, code: str, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.code, self.message, self.hint = code, message, hint


class Stages:
    """Progress events, cancellation checks and per-stage timings of one job (estimate, scene ops).

    `starts` maps each stage to where it begins on the job's 0..1 progress scale.
    """

    def __init__(self, starts: dict[str, float], progress: Progress | None,
                 should_stop: Callable[[], bool] | None) -> None:
        self.starts, self.progress = starts, progress
        self.should_stop = should_stop or (lambda: False)
        self.timings: dict[str, float] = {}
        self._current: tuple[str, float] | None = None

    def enter(self, stage: str, message: str | None = None) -> None:
        """Close the running stage; Cancelled if the job should stop, else report and time `stage`."""
        self.close()
        if self.should_stop():
            raise Cancelled()
        if self.progress:
            self.progress(stage, self.starts[stage], message)
        self._current = (stage, time.perf_counter())

    def steps(self, stage: str) -> Steps:
        """Progress inside `stage` (0..1 of it, mapped onto the job's scale up to the next stage's
        start) and the cancel check, for a localizer or any long step; raises Cancelled."""
        start = self.starts[stage]
        following = [s for s in self.starts.values() if s > start]
        span = (min(following) if following else 1.0) - start

        def report(fraction: float, message: str | None = None) -> None:
            if self.should_stop():
                raise Cancelled()
            if self.progress:
                self.progress(stage, start + span * fraction, message)

        return Steps(report)

    def close(self) -> None:
        if self._current is not None:
            name, start = self._current
            self.timings[name] = round(time.perf_counter() - start, 4)
            self._current = None


@dataclass
class EstimateResult:
    path: Path
    summary: dict[str, Any]


def classify(error: BaseException) -> tuple[str, str, str]:
    """(code, message, hint) of any exception raised by a job."""
    if isinstance(error, JobError):
        return error.code, error.message, error.hint
    code = getattr(error, "code", None)
    if isinstance(code, str) and code in ERROR_CODES:
        return code, str(error), str(getattr(error, "hint", ""))
    if isinstance(error, FileNotFoundError):
        return "missing_file", str(error), "check the path; the backend reads it from its own file system"
    if isinstance(error, MemoryError):
        return "internal", f"out of memory: {error}", "use a smaller resolution, another device, or close programs"
    return "internal", f"{type(error).__name__}: {error}", "this is a bug or an unexpected input; see the backend log"


class LocalizerCache:
    """Loaded localizers kept warm, keyed by (name, device, checkpoint_dir); least recently used goes first."""

    def __init__(self, capacity: int = 2) -> None:
        self.capacity = max(1, capacity)
        self._items: OrderedDict[tuple[str, str, str | None], Any] = OrderedDict()

    def __len__(self) -> int:
        return len(self._items)

    def get(self, name: str, device: str, checkpoint_dir: str | None, progress: Progress | None = None) -> Localizer:
        """The loaded localizer, loading it (with a 'load' progress event) only on a miss."""
        from backend.localizers.registry import create_localizer

        checkpoint = str(Path(checkpoint_dir).resolve()) if checkpoint_dir else None
        key = (name, device, checkpoint)
        if key in self._items:
            self._items.move_to_end(key)
            return self._items[key]
        while len(self._items) >= self.capacity:  # free the old model before loading a new one
            self._items.popitem(last=False)
            _release_memory()
        if progress:
            progress("load", STAGE_START["load"], f"loading localizer {name} on {device}")
        start = time.perf_counter()
        try:
            localizer = create_localizer(name, checkpoint)
            localizer.load(device)
        except (ValueError, OSError) as error:
            if isinstance(getattr(error, "code", None), str):  # already a protocol error (device, registry)
                raise
            raise JobError("localizer_unavailable", f"localizer {name!r} could not be loaded: {error}",
                           "check its checkpoint folder (python -m backend check-checkpoint DIR) or pick "
                           "another localizer") from error
        log.info("loaded localizer %s on %s in %.2f s", name, device, time.perf_counter() - start)
        self._items[key] = localizer
        return localizer


def _release_memory() -> None:
    gc.collect()
    torch = sys.modules.get("torch")  # only when a job already imported it
    if torch is not None and torch.cuda.is_available():
        torch.cuda.empty_cache()


def load_object_mesh(spec: dict[str, Any], what: str) -> tuple[np.ndarray, np.ndarray]:
    """An object mesh from {'npz': path} (any trimesh format too) or {'vertices', 'faces'}."""
    from backend.bodies import load_mesh_file
    from backend.mesh_checks import check_mesh

    arrays = load_mesh_file(spec["npz"]) if "npz" in spec else spec
    if "vertices" not in arrays or "faces" not in arrays:
        raise ValueError(f"{what} needs vertices (N,3) and faces (F,3)")
    return check_mesh(arrays["vertices"], arrays["faces"], what=what)


def _bad_mesh(what: str, error: Exception) -> JobError:
    if isinstance(error, FileNotFoundError):
        return JobError("missing_file", str(error), f"check the {what} path")
    return JobError("bad_mesh", f"{what}: {error}",
                    "send vertices (N,3) float32 and faces (F,3) int32 of a triangulated mesh")


def run_estimate(request: EstimateRequest, cache: LocalizerCache, out_path: str | Path,
                 progress: Progress | None = None, should_stop: Callable[[], bool] | None = None,
                 may_commit: Callable[[], bool] | None = None) -> EstimateResult:
    """Run one job and write `out_path` (npz). Raises Cancelled, JobError, or another exception."""
    from backend.bodies import load_body
    from backend.devices import resolve_device
    from backend.images import load_image
    from backend.localizers.registry import DEFAULT_LOCALIZER

    stages = Stages(STAGE_START, progress, should_stop)
    stages.enter("load", "reading the photo and meshes")
    image = load_image(request.image)
    body = request.body
    if body is not None and not isinstance(body, Body):  # the protocol's dict; the CLI passes a Body
        try:
            body = load_body(body)
        except (ValueError, FileNotFoundError) as error:
            raise _bad_mesh("body", error) from error
    object_mesh = None
    if request.object is not None:
        try:
            object_mesh = load_object_mesh(request.object, "object mesh")
        except (ValueError, FileNotFoundError) as error:
            raise _bad_mesh("object", error) from error
    query = Query(task=request.task, label=request.label,
                  vertex_parts=body.parts if body is not None and request.surface == "body" else None,
                  body_vertices=body.vertices if body is not None and request.surface == "object" else None,
                  labels=tuple(request.labels), body_name=body.name if request.surface == "body" else None)
    device = resolve_device(request.device)
    name = request.localizer or DEFAULT_LOCALIZER
    localizer = cache.get(name, device, request.checkpoint_dir, progress)
    if request.data_dir and hasattr(localizer, "use_data_dir"):  # a localizer that brings its own data folder
        localizer.use_data_dir(request.data_dir)

    stages.enter("render", f"rendering the {request.surface} at {request.resolution}px")
    from backend.bodies.correspondence import Surface, surface_of, transfer_rule, transfer_scores
    from backend.cameras import body_rig, object_rig
    from backend.render import render

    on_body = request.surface == "body"
    vertices, faces = (body.canonical_vertices, body.faces) if on_body else object_mesh
    target = surface_of(body) if on_body else Surface("object", vertices, faces, np.zeros(len(vertices), np.int16))
    # A localizer with its own fixed views (the official renders) is fed those instead of our render.
    canonical = localizer.canonical_views(query) if on_body else None
    if canonical is not None:
        views = canonical.views
    else:
        cameras = localizer.cameras(query, vertices, request.resolution)  # its training rig, if it has one
        if cameras is None:
            cameras = (body_rig if on_body else object_rig)(vertices, request.resolution)
        views = render(vertices, faces, cameras)

    stages.enter("localize", f"{name} is reading the photo")
    output = localizer.localize(image, views, query, steps=stages.steps("localize"))
    if not isinstance(output, LocalizerOutput):  # a bare mask array is accepted too
        output = LocalizerOutput(masks=np.asarray(output))

    stages.enter("lift", "lifting masks to vertices")
    from backend.lift import lift, project
    from backend.mesh_checks import check_masks

    correspondence = None
    if output.surface_scores is not None:  # scored in 3D on a canonical surface: transfer, then show it
        source = output.surface_scores.surface
        scores = transfer_scores(output.surface_scores.scores, source, target)
        correspondence = transfer_rule(source, target)
        masks = (check_masks(output.masks, views.n_views, *views.size) if output.masks is not None
                 else np.clip(project(views, scores), 0.0, 1.0))
        _, seen = lift(views, masks)
    else:
        masks = check_masks(output.masks, views.n_views, *views.size)
        scores, seen = lift(views, masks)
        if canonical is not None:  # lifted onto the canonical surface: transfer onto the user's body
            scores = transfer_scores(scores, canonical.surface, target)
            seen = np.rint(transfer_scores(np.minimum(seen, 1).astype(np.float32), canonical.surface,
                                           target)).astype(np.int32)
            correspondence = transfer_rule(canonical.surface, target)

    stages.enter("write", "writing the result")
    arrays = {"scores": scores.astype(np.float32), "seen": seen.astype(np.int32),
              "masks": np.round(masks * 255.0).astype(np.uint8), "views": views.shaded,
              "view_names": np.array([c.name for c in views.cameras])}
    if request.surface == "body":
        arrays["parts"] = body.parts.astype(np.int16)
    if output.fitted_body is not None:
        arrays["fitted_vertices"] = np.asarray(output.fitted_body.vertices, dtype=np.float32)
        arrays["fitted_faces"] = np.asarray(output.fitted_body.faces, dtype=np.int32)
    out_path = Path(out_path)
    commit_npz(arrays, out_path, stages.should_stop, may_commit)
    stages.close()
    summary = _summary(request, name, device, scores, body, stages.timings, output.report)
    if correspondence is not None:
        summary["correspondence"] = correspondence
    if output.fitted_body is not None:
        summary["fitted_body_frame"] = output.fitted_body.frame
    return EstimateResult(path=out_path, summary=summary)


def commit_npz(arrays: dict[str, np.ndarray], out_path: Path, should_stop: Callable[[], bool],
               may_commit: Callable[[], bool] | None) -> None:
    """Write to a temporary file and rename it into place only if the job was not cancelled meanwhile,
    so a cancelled job leaves nothing behind (shared by every job that writes a result npz)."""
    out_path.parent.mkdir(parents=True, exist_ok=True)
    handle, tmp_name = tempfile.mkstemp(prefix=f".{out_path.stem}.", suffix=".tmp", dir=out_path.parent)
    try:
        with os.fdopen(handle, "wb") as stream:
            np.savez(stream, **arrays)
        os.chmod(tmp_name, 0o644)  # mkstemp makes it private (0600); results are ordinary files
        if should_stop() or (may_commit is not None and not may_commit()):
            raise Cancelled()
        os.replace(tmp_name, out_path)
    finally:
        if os.path.exists(tmp_name):
            os.unlink(tmp_name)


def _summary(request: EstimateRequest, localizer: str, device: str, scores: np.ndarray, body: Body | None,
             timings: dict[str, float], localizer_report: dict[str, Any]) -> dict[str, Any]:
    contact = scores >= CONTACT_THRESHOLD
    parts: list[str] = []
    if request.surface == "body":
        from backend.bodies.parts import PARTS

        counts = np.bincount(body.parts[contact], minlength=len(PARTS))
        parts = [PARTS[i] for i in np.argsort(-counts, kind="stable") if counts[i] > 0]
    warnings: list[str] = []
    if request.surface == "body":
        from backend.mesh_checks import body_frame_warnings

        warnings = body_frame_warnings(body.canonical_vertices)
    return {"task": request.task, "label": request.label, **({"labels": list(request.labels)} if request.labels else {}),
            "surface": request.surface,
            "n_vertices": int(scores.shape[0]), "contact_vertices": int(contact.sum()),
            "parts_in_contact": parts, "warnings": warnings, "timings": dict(timings),
            "localizer": localizer, "device": device, "localizer_report": dict(localizer_report or {})}
