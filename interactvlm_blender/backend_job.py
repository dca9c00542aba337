"""What every backend job has in common on the Blender side, whatever its op (estimate, scene
contact, placement): its state, its request folder, the cheap non-blocking poll, the blocking wait
for scripts, cleanup of its temp files, and the checks on the meshes it names and the result npz it
gets back.

Each job module subclasses BackendJob and JobError, so operators report its own messages.
"""
from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

import bpy
import numpy as np

from . import client, mesh_io, protocol

RUNNING, DONE, FAILED, CANCELLED = "running", "done", "failed", "cancelled"


class JobError(RuntimeError):
    """A problem found before or after the backend ran; str() says what and how to fix it."""


@dataclass(kw_only=True)
class BackendJob:
    job_dir: Path
    worker: client.Worker
    job_id: str
    what: str = "job"  # for messages: "estimate", "scene contact", "placement"
    state: str = RUNNING
    stage: str = "queued"
    fraction: float = 0.0
    message: str = ""
    result_path: str = ""
    summary: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    cancel_sent: bool = False
    started: float = field(default_factory=time.monotonic)

    @property
    def finished(self) -> bool:
        return self.state != RUNNING

    def cancel(self) -> None:
        if not self.finished and not self.cancel_sent:
            self.cancel_sent = True
            self.worker.cancel(self.job_id)


@contextlib.contextmanager
def request_dir(op: str, error: type[JobError]) -> Iterator[Path]:
    """A new folder for a job's request files, removed again when anything fails before the job is
    submitted (the scene is untouched then); a mesh the backend cannot use becomes `error`."""
    job_dir = client.new_job_dir(op)
    try:
        yield job_dir
    except mesh_io.MeshError as failure:
        client.remove_job_dir(job_dir)
        raise error(str(failure)) from None
    except BaseException:
        client.remove_job_dir(job_dir)
        raise


@contextlib.contextmanager
def finishing(job: BackendJob, error: type[JobError]) -> Iterator[None]:
    """Writing a job's result onto the scene: `error` unless the job ended DONE (with its own message);
    the job's files are removed afterwards, whatever happens."""
    try:
        if job.state != DONE:
            raise error(job.message or f"the job ended as {job.state}")
        yield
    finally:
        client.remove_job_dir(job.job_dir)


def tick(job: BackendJob) -> str:
    """Non-blocking: take the job's new events and update its state. Main thread, cheap."""
    if job.finished:
        return job.state
    for event in job.worker.poll(job.job_id):
        kind = event["event"]
        if kind == "accepted":
            job.stage = "accepted"
        elif kind == "progress":
            job.stage, job.fraction = event["stage"], float(event["fraction"])
            job.message = str(event.get("message") or "")
        elif kind == "result":
            job.state, job.fraction, job.result_path, job.summary = DONE, 1.0, event["path"], event["summary"]
        elif kind == "error":
            job.state, job.message = FAILED, f"InteractVLM: {protocol.error_text(event)}"
        elif kind == "cancelled":
            job.state, job.message = CANCELLED, f"InteractVLM: {job.what} cancelled; nothing was changed"
        if job.finished:
            break
    return job.state


def wait_job(job: BackendJob, interval_s: float = 0.02) -> str:
    """Blocking: tick until the job ends (scripts and background mode)."""
    while tick(job) == RUNNING:
        time.sleep(interval_s)
    return job.state


def discard_job(job: BackendJob) -> None:
    """Cancel if still running and remove the job's files (failure, cancel, unregister)."""
    job.cancel()
    client.remove_job_dir(job.job_dir)


def mesh_object(name: str, role: str, error: type[JobError], how_to_pick: str) -> bpy.types.Object:
    """The mesh object called `name`, or `error` saying what to pick instead."""
    obj = bpy.data.objects.get(name) if name else None
    if obj is None:
        raise error(f"no {role} mesh: pick one in the InteractVLM panel ({how_to_pick})"
                    if not name else f"there is no object {name!r} to use as the {role}")
    if obj.type != "MESH":
        raise error(f"the {role} {obj.name!r} is a {obj.type.lower()}, not a mesh; pick a mesh object")
    return obj


def live_mesh(name: str, error: type[JobError]) -> bpy.types.Object:
    """A job's target mesh when its result arrives; it may have been removed while the job ran."""
    obj = bpy.data.objects.get(name)
    if obj is None or obj.type != "MESH":
        raise error(f"object {name!r} was removed or renamed while the job ran; nothing was changed")
    return obj


def load_result(path: str, keys: tuple[str, ...], error: type[JobError]) -> dict[str, np.ndarray]:
    """The backend's result npz (no pickles), with the keys this add-on needs."""
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {k: data[k] for k in data.files}
    except (OSError, ValueError) as failure:
        raise error(f"the backend's result {path} cannot be read ({failure}); run it again") from None
    missing = [k for k in keys if k not in arrays]
    if missing:
        raise error(f"the backend's result lacks {', '.join(missing)}; update the backend to this add-on's release")
    return arrays
