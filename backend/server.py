"""The stdio worker behind `python -m backend serve` (protocol: backend/PROTOCOL.md).

The main thread reads JSON lines and answers at once (hello, cancel, validation errors); one
worker thread runs jobs (estimate, scene_contact, place) one at a time so a `cancel` is answered
immediately and the job stops at its next stage boundary without writing anything. Every failure, of a line or of a
job, becomes an `error` event; the server keeps serving until `shutdown` or EOF on stdin.
"""
from __future__ import annotations

import logging
import os
import platform
import queue
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, TextIO

from backend import __version__
from backend.jobs import JOBS, Cancelled, JobKind, JobResult, classify
from backend.localizers.cache import LocalizerCache
from backend.protocol import (
    HEARTBEAT_INTERVAL_S,
    OPS,
    PROTOCOL_VERSION,
    EstimateRequest,
    PlaceRequest,
    ProtocolError,
    Request,
    SceneContactRequest,
    encode,
    error_event,
    make_event,
    parse_request,
)

log = logging.getLogger("backend.server")
# How long shutdown / EOF waits for a result that is being written before the process exits (a 4-view
# 4096-px result is ~130 MB of arrays; a slow disk still writes that well within 10 s).
WRITE_GRACE_S = 10.0


@dataclass(eq=False)
class AcceptedJob:
    """A job the server accepted: queued, running, or finished but not yet collected by the worker."""

    id: str
    request: EstimateRequest | SceneContactRequest | PlaceRequest
    kind: JobKind
    cancelled: bool = False  # set by `cancel`, shutdown or EOF
    finished: bool = False  # its terminal event (result/error/cancelled) was sent
    committing: bool = False  # the result file is being moved into place: too late to cancel
    stage: str | None = None  # the stage the worker is in (its last progress event) and since when
    stage_since: float = 0.0

    @property
    def op(self) -> str:
        return self.kind.op


class Server:
    def __init__(self, out: TextIO, cache: LocalizerCache | None = None) -> None:
        self._out = out
        self._lock = threading.RLock()  # guards job state and keeps events of one job in order
        self._jobs: dict[str, AcceptedJob] = {}
        self._queue: queue.Queue[AcceptedJob | None] = queue.Queue()
        self.cache = cache or LocalizerCache()
        self._current: AcceptedJob | None = None  # the job the worker thread is inside (even after its `cancelled`)
        self._idle = threading.Event()
        self._idle.set()
        self._worker = threading.Thread(target=self._work, name="job-worker", daemon=True)
        self._worker.start()
        # INTERACTVLM_HEARTBEAT_S: a test hook (tests use a short interval); clients rely on HEARTBEAT_INTERVAL_S.
        self.heartbeat_s = float(os.environ.get("INTERACTVLM_HEARTBEAT_S", HEARTBEAT_INTERVAL_S))
        threading.Thread(target=self._beat, name="heartbeat", daemon=True).start()

    # -- output -----------------------------------------------------------------------------
    def emit(self, event: dict[str, Any]) -> None:
        line = encode(event)
        with self._lock:
            self._out.write(line)
            self._out.flush()

    def _finish(self, job: AcceptedJob, event: dict[str, Any]) -> None:
        """Send the job's terminal event unless one was sent already (e.g. `cancelled`)."""
        with self._lock:
            if not job.finished:
                job.finished = True
                self.emit(event)

    # -- input ------------------------------------------------------------------------------
    def serve(self, stream: BinaryIO) -> int:
        """Answer lines until shutdown or EOF; returns the exit status."""
        for raw in iter(stream.readline, b""):
            if raw.strip() and not self.handle_line(raw):
                break
        else:
            log.info("stdin closed: stopping")
        self.stop()
        return 0

    def handle_line(self, raw: bytes | str) -> bool:
        """Handle one request line; False when the server should stop. Never raises."""
        request_id = None
        try:
            request = parse_request(raw)
            request_id = request.id
            return self._dispatch(request)
        except ProtocolError as error:
            log.info("refused request %s: %s (%s)", error.request_id or request_id, error.message, error.code)
            self.emit(error_event(error.request_id or request_id, error.code, error.message, error.hint))
        except Exception as error:  # a bug in handling must not kill the worker
            log.exception("error while handling a request")
            code, message, hint = classify(error)
            self.emit(error_event(request_id, code, message, hint))
        return True

    def _dispatch(self, request: Request) -> bool:
        if request.op == "hello":
            self.emit(self._hello(request))
        elif request.op in JOBS:
            kind = JOBS[request.op]
            self._enqueue(AcceptedJob(request.id, kind.accept(request), kind))
        elif request.op == "cancel":
            self._cancel(request)
        elif request.op == "shutdown":
            self.stop()
            self.emit(make_event("bye", request.id))
            return False
        return True

    def _hello(self, request: Request) -> dict[str, Any]:
        from importlib.metadata import PackageNotFoundError, version

        from backend.devices import available_devices
        from backend.labels import VOCABULARY
        from backend.localizers.registry import DEFAULT_LOCALIZER, available_localizers

        try:
            torch_version, devices = version("torch"), available_devices()
        except (PackageNotFoundError, ImportError):
            torch_version, devices = None, ["cpu"]
        return make_event(
            "hello",
            request.id,
            backend_version=__version__,
            protocol=PROTOCOL_VERSION,
            python=platform.python_version(),
            executable=sys.executable,
            backend_path=str(Path(__file__).resolve().parent),
            torch=torch_version,
            devices=devices,
            ops=list(OPS),
            localizers=available_localizers(request.fields.get("checkpoint_dir")),
            default_localizer=DEFAULT_LOCALIZER,
            labels=list(VOCABULARY),  # the add-on's label suggestions (it cannot import the backend)
        )

    def _enqueue(self, job: AcceptedJob) -> None:
        """Accept the job unless another one is running (`busy`: one job at a time, whatever its op)."""
        with self._lock:
            if job.id in self._jobs:  # its own code: a `busy` with this id would read as the running job's error
                raise ProtocolError("duplicate_id", f"the id {job.id!r} belongs to a job that is still running",
                                    "give every request its own id", job.id)
            running = [j for j in self._jobs.values() if not j.finished]
            if running:
                raise ProtocolError("busy", f"{running[0].op} {running[0].id!r} is still running",
                                    "wait for its result or cancel it first", job.id)
            self._jobs[job.id] = job
            self.emit(make_event("accepted", job.id))
        self._queue.put(job)

    def _cancel(self, request: Request) -> None:
        target = request.fields["target"]
        with self._lock:
            job = self._jobs.get(target)
            if job is None or job.finished or job.committing:
                state = "has already finished" if job is not None else "is not running"
                raise ProtocolError("not_running", f"job {target!r} {state}",
                                    f"only a queued or running job ({', '.join(JOBS)}) can be cancelled",
                                    request.id)
            job.cancelled = True
            self._finish(job, make_event("cancelled", job.id))
        log.info("cancelled %s", target)

    def stop(self) -> None:
        """Cancel every unfinished job (each gets `cancelled`) and let the worker end."""
        with self._lock:
            for job in self._jobs.values():
                if not job.finished and not job.committing:
                    job.cancelled = True
                    self._finish(job, make_event("cancelled", job.id))
        self._queue.put(None)

    def wait_for_write(self, timeout: float = WRITE_GRACE_S) -> bool:
        """After stop(): if the worker is writing a result, let it finish (it removes its temporary file,
        or commits it) for up to `timeout` s. A job in any other stage is not waited for. True when idle."""
        with self._lock:
            job = self._current
            writing = job is not None and job.stage == "write"
        return self._idle.wait(timeout) if writing else self._idle.is_set()

    def _beat(self) -> None:
        """A `heartbeat` every heartbeat_s while the worker is inside a job, from this thread: a client sees
        that the process is alive during a long stage, and a frozen one (no heartbeats) as hung."""
        while True:
            time.sleep(self.heartbeat_s)
            with self._lock:
                job = self._current
                if job is not None:
                    self.emit(make_event("heartbeat", job.id, stage=job.stage,
                                         stage_seconds=round(time.monotonic() - job.stage_since, 1),
                                         stopping=job.cancelled))

    # -- worker -----------------------------------------------------------------------------
    def _work(self) -> None:
        while (job := self._queue.get()) is not None:
            with self._lock:
                self._current, job.stage_since = job, time.monotonic()
                self._idle.clear()
            try:
                if not job.cancelled:
                    self._run(job)
            finally:
                with self._lock:
                    self._current = None
                    self._idle.set()
                    if self._jobs.get(job.id) is job:
                        del self._jobs[job.id]

    def _run(self, job: AcceptedJob) -> None:
        def progress(stage: str, fraction: float, message: str | None = None) -> None:
            with self._lock:
                if stage != job.stage:
                    job.stage, job.stage_since = stage, time.monotonic()
                if not job.finished:
                    fields = {"stage": stage, "fraction": round(float(fraction), 4)}
                    self.emit(make_event("progress", job.id, **fields, **({"message": message} if message else {})))

        def may_commit() -> bool:
            with self._lock:
                job.committing = not job.cancelled
                return job.committing

        try:
            result: JobResult = job.kind.run(job.request, self.cache, progress, lambda: job.cancelled, may_commit)
        except Cancelled:
            self._finish(job, make_event("cancelled", job.id))
        except Exception as error:  # any failure of the job is reported and the server carries on
            code, message, hint = classify(error)
            if code == "internal":
                log.exception("%s %s failed", job.op, job.id)
            else:
                log.info("%s %s failed: %s (%s)", job.op, job.id, message, code)
            self._finish(job, error_event(job.id, code, message, hint))
        else:
            log.info("%s %s done in %.2f s", job.op, job.id, sum(result.summary["timings"].values()))
            self._finish(job, make_event("result", job.id, path=str(result.path), summary=result.summary))
