"""The job lifecycle shared by every op the worker runs (estimate, scene_contact, place).

A job reports progress per stage and checks `should_stop()` at each stage boundary (and inside long
stages, through `Stages.steps`), raising `Cancelled`; it writes its result npz to a temporary file
and renames it into place only when `may_commit()` agrees (`commit_npz`), so a cancelled job leaves
nothing behind; its failures carry a protocol error code (`JobError`, or any exception with a `code`
attribute, read by `classify`).

`JOBS` is the table of those ops: how a request is accepted (parsed and checked before `accepted`),
which runner runs it, the name of its result file and where its stages start. Every runner has the
signature of `run_estimate`: (request, cache, out_path, progress, should_stop, may_commit) -> JobResult.
"""
from __future__ import annotations

import importlib
import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

import numpy as np

from backend.progress import Steps
from backend.protocol import (ERROR_CODES, SCENE_STAGES, STAGES, ProtocolError, Request, check_inputs,
                              check_scene_inputs, parse_estimate, parse_place, parse_scene_contact)

if TYPE_CHECKING:
    from backend.localizers.cache import LocalizerCache

Progress = Callable[[str, float, "str | None"], None]
ShouldStop = Callable[[], bool]
MayCommit = Callable[[], bool]

# Where each stage starts on the job's 0..1 progress scale (localize dominates with a real model).
ESTIMATE_STAGE_STARTS = dict(zip(STAGES, (0.0, 0.1, 0.2, 0.85, 0.92)))
SCENE_STAGE_STARTS = dict(zip(SCENE_STAGES, (0.0, 0.1, 0.95)))


class Cancelled(Exception):
    """The job was cancelled; nothing was written."""


class JobError(Exception):
    """A job failure with its protocol error code and a hint for the user."""

    def __init__(self, code: str, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.code, self.message, self.hint = code, message, hint


@dataclass(frozen=True)
class JobResult:
    """What every job returns: the result npz it wrote and the summary of the `result` event."""

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


class Stages:
    """Progress events, cancellation checks and per-stage timings of one job.

    `starts` maps each stage to where it begins on the job's 0..1 progress scale.
    """

    def __init__(self, starts: dict[str, float], progress: Progress | None, should_stop: ShouldStop | None) -> None:
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


def commit_npz(arrays: dict[str, np.ndarray], out_path: Path, should_stop: ShouldStop,
               may_commit: MayCommit | None) -> None:
    """Write to a temporary file and rename it into place only if the job was not cancelled meanwhile,
    so a cancelled job leaves nothing behind (shared by every job that writes a result npz)."""
    out_path.parent.mkdir(parents=True, exist_ok=True)
    from backend.pending_files import tracked

    handle, tmp_name = tempfile.mkstemp(prefix=f".{out_path.stem}.", suffix=".tmp", dir=out_path.parent)
    with tracked(tmp_name):  # a process exiting meanwhile (serve's os._exit) removes it: nothing partial stays
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


def _accept_estimate(request: Request) -> Any:
    from backend.localizers.registry import DEFAULT_LOCALIZER, LocalizerUnavailable, require_localizer

    estimate = parse_estimate(request)
    check_inputs(estimate, request.id)
    try:
        require_localizer(estimate.localizer or DEFAULT_LOCALIZER, estimate.checkpoint_dir)
    except LocalizerUnavailable as error:
        raise ProtocolError(error.code, str(error), error.hint, request.id) from None
    return estimate


def _accept_scene_contact(request: Request) -> Any:
    scene = parse_scene_contact(request)
    check_scene_inputs(scene, request.id)
    return scene


def _accept_place(request: Request) -> Any:
    place = parse_place(request)
    check_scene_inputs(place, request.id)
    return place


@dataclass(frozen=True)
class JobKind:
    """One op the worker runs as a job.

    accept: Request -> the validated request (dataclass of backend.protocol), or ProtocolError; runs
        before `accepted`: fields, named files, and for estimate the localizer.
    runner: "module:function" with the runner signature; imported when the first job of this op
        runs (the runner modules import this one, and scipy/torch stay out of the worker's start-up).
    result_name: the file the job writes in the request's out_dir.
    stage_starts: stage -> where it starts on the job's 0..1 progress scale.
    """

    op: str
    accept: Callable[[Request], Any]
    runner: str
    result_name: str
    stage_starts: dict[str, float]

    def run(self, request: Any, cache: LocalizerCache, progress: Progress | None = None,
            should_stop: ShouldStop | None = None, may_commit: MayCommit | None = None) -> JobResult:
        """Run the job, writing `result_name` into the request's out_dir."""
        module, name = self.runner.split(":")
        runner = getattr(importlib.import_module(module), name)
        out_path = Path(request.out_dir).resolve() / self.result_name
        return runner(request, cache, out_path, progress, should_stop, may_commit)


JOBS: dict[str, JobKind] = {kind.op: kind for kind in (
    JobKind("estimate", _accept_estimate, "backend.pipeline:run_estimate", "result.npz", ESTIMATE_STAGE_STARTS),
    JobKind("scene_contact", _accept_scene_contact, "backend.scene_runners:run_scene_contact", "scene_contact.npz",
            SCENE_STAGE_STARTS),
    JobKind("place", _accept_place, "backend.scene_runners:run_place", "placement.npz", SCENE_STAGE_STARTS),
)}
