"""The backend worker: one `python -m backend serve` subprocess per Blender session.

Stable API (used by runner.py and the job modules; no bpy here, see tests/test_client.py):

    worker = get_worker(prefs)          # started on first use, reused, restarted if it died or the
                                        # settings changed while idle; raises WorkerError when the
                                        # backend Python is missing (message says what to fix)
    job_id = worker.submit("estimate", {"image": ..., "out_dir": ...})   # never blocks
    events = worker.poll(job_id)        # non-blocking: that job's events so far, in order
                                        # (worker.poll() with no id: every event not yet taken)
    worker.cancel(job_id)               # asks the backend to stop the job ("cancelled" follows)
    worker.is_pending(job_id)           # True until a terminal event for it was polled
    event = worker.wait(job_id, timeout_s)   # blocking helper for scripts: the terminal event
    stop_worker()                       # shutdown + kill after a grace period; at unregister/atexit

    folder = new_job_dir("estimate")    # a fresh folder inside the add-on's private temp dir
    remove_job_dir(folder)              # when the job's files have been read

Events are dicts validated by protocol.decode_event (see backend/PROTOCOL.md). When the process
dies, every job still pending gets a synthetic `error` event with code protocol.WORKER_DIED
carrying the tail of the worker's log, so callers see one terminal event per job in every case.
A reader thread fills a queue from stdout; poll() only drains it, so the main thread never waits
on the pipe.
"""
from __future__ import annotations

import atexit
import itertools
import logging
import os
import queue
import re
import shutil
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import protocol

log = logging.getLogger("interactvlm.client")

SHUTDOWN_GRACE_S = 2.0
LOG_TAIL_CHARS = 1500
_EOF = object()


class WorkerError(RuntimeError):
    """The worker cannot be started or reached; str() says what is wrong and what to do."""


@dataclass(frozen=True)
class WorkerSettings:
    """How to start the backend: its Python and the folder that holds the `backend` package."""

    python: str
    root: str = ""  # cwd and PYTHONPATH entry; "" when `backend` is installed in that Python
    env: tuple[tuple[str, str], ...] = field(default_factory=tuple)  # extra environment entries

    def command(self) -> list[str]:
        return [self.python, "-m", "backend", "serve"]

    def check(self) -> None:
        python = Path(self.python) if self.python else None
        if python is not None and python.is_dir():
            raise WorkerError(f"the backend Python {self.python!r} is a folder, not a Python executable: set "
                              "Preferences > Add-ons > InteractVLM > Backend Python to the python file inside it "
                              "(bin/python, or Scripts\\python.exe on Windows), or clear it to use the managed "
                              "environment")
        if python is None or not python.is_file():
            raise WorkerError(
                f"the backend Python {self.python or '(not set)'!r} does not exist: press "
                f"{SETUP_FIX}, or set Preferences > Add-ons > InteractVLM > Backend Python to the python "
                "of an environment with the backend (developers: .venv/bin/python of `python build.py setup`)"
            )
        if not os.access(python, os.X_OK):
            raise WorkerError(f"the backend Python {self.python!r} is not executable; check its permissions")
        if not is_python(self.python):
            raise WorkerError(f"the backend Python {self.python!r} is not a Python interpreter (it cannot run "
                              "`-c 'import sys'`): set Preferences > Add-ons > InteractVLM > Backend Python to a "
                              f"python executable, or clear it and press {SETUP_FIX}")
        if self.root and not (Path(self.root) / "backend").is_dir():
            raise WorkerError(f"the backend folder {self.root!r} has no backend/ package: set Preferences > "
                              "Add-ons > InteractVLM > Backend Folder to the project folder (or leave it empty)")


SETUP_FIX = "Preferences > InteractVLM > Set Up Backend / Repair"
# A worker that dies before answering, with one of these in its log, lacks the backend or its packages.
_INCOMPLETE = re.compile(rb"No module named '?([\w.]+)'?|ImportError: (.{0,200})")


def is_python(program: str) -> bool:
    """Whether the program runs `-c 'import sys'` as Python does (a few ms; checked before each start)."""
    try:
        run = subprocess.run([program, "-I", "-c", "import sys; print(sys.hexversion)"], capture_output=True,
                             text=True, timeout=30, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.SubprocessError):
        return False
    return run.returncode == 0 and run.stdout.strip().isdigit()


def settings_from(source: Any) -> WorkerSettings:
    """WorkerSettings from a WorkerSettings or any object with backend_python / backend_root."""
    if isinstance(source, WorkerSettings):
        return source
    python = str(getattr(source, "backend_python", "") or "")
    root = str(getattr(source, "backend_root", "") or "")
    if python and not root:
        root = guess_root(python)
    return WorkerSettings(python=python, root=root)


def guess_root(python: str) -> str:
    """The project folder of a managed environment (<root>/.venv/bin/python), else ""."""
    path = Path(python)
    for parent in list(path.parents)[:4]:
        if (parent / "backend" / "__main__.py").is_file():
            return str(parent)
    return ""


class Worker:
    """One backend process with a stdout reader thread; see the module docstring for the API."""

    def __init__(self, settings: WorkerSettings) -> None:
        settings.check()
        self.settings = settings
        self.log_path = private_dir() / f"worker-{os.getpid()}-{next(_COUNTER)}.log"
        env = dict(os.environ, PYTHONUNBUFFERED="1", **dict(settings.env))
        if settings.root:
            env["PYTHONPATH"] = settings.root + os.pathsep + env.get("PYTHONPATH", "")
        self._log_file = open(self.log_path, "wb")
        try:
            self.process = subprocess.Popen(settings.command(), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                            stderr=self._log_file, env=env, cwd=settings.root or None)
        except OSError as error:
            self._log_file.close()
            raise WorkerError(f"cannot start the backend {settings.python!r}: {error}") from None
        self._queue: queue.Queue = queue.Queue()
        self._events: dict[str | None, list[dict[str, Any]]] = {}
        self._pending: set[str] = set()
        self._heard: dict[str | None, float] = {}  # job id -> when the worker last said anything about it
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._dead = False
        self._answered = False  # any event read: it started; a later death is not a set-up problem
        self.bad_lines: list[str] = []
        threading.Thread(target=self._read, name="interactvlm-worker-reader", daemon=True).start()
        log.info("started backend worker pid %d: %s", self.process.pid, " ".join(settings.command()))

    # -- reader thread ----------------------------------------------------------------------
    def _read(self) -> None:
        stream = self.process.stdout
        assert stream is not None
        for raw in stream:
            try:
                self._queue.put(protocol.decode_event(raw))
            except ValueError as error:
                text = raw.decode("utf-8", "replace").rstrip()[:200]
                log.warning("dropped a backend line (%s): %s", error, text)
                self.bad_lines.append(text)
        try:  # stdout closed: reap the process here, off the main thread, so its status is known
            self.process.wait(SHUTDOWN_GRACE_S)
        except subprocess.TimeoutExpired:
            pass
        self._queue.put(_EOF)

    # -- API --------------------------------------------------------------------------------
    @property
    def alive(self) -> bool:
        return not self._dead and self.process.poll() is None

    @property
    def pid(self) -> int:
        return self.process.pid

    def submit(self, op: str, fields: dict[str, Any] | None = None) -> str:
        """Send one request; returns its id. Raises WorkerError if the process is gone."""
        job_id = f"blender-{os.getpid()}-{next(self._ids)}"
        line = protocol.encode_request(job_id, op, dict(fields or {}))
        with self._lock:
            self._pending.add(job_id)
            self._heard[job_id] = time.monotonic()
        self._write(line, job_id)
        return job_id

    def silent_for(self, job_id: str) -> float:
        """Seconds since the worker last said anything about job_id (its heartbeats included)."""
        self._drain()
        with self._lock:
            return time.monotonic() - self._heard.get(job_id, time.monotonic())

    def kill_hung(self, why: str) -> None:
        """The worker stopped answering: kill it; every pending job gets `worker_died` saying `why`, and
        the next job starts a fresh worker (get_worker replaces a dead one)."""
        try:
            self.process.kill()
        except OSError:
            pass
        self._mark_dead(why, hung=True)

    def cancel(self, job_id: str) -> None:
        """Ask the backend to stop a job; its `cancelled` (or final result) arrives through poll."""
        if self.alive and self.is_pending(job_id):
            self._write(protocol.encode_request(f"{job_id}-cancel", "cancel", protocol.cancel_request(job_id)), None)

    def is_pending(self, job_id: str) -> bool:
        with self._lock:
            return job_id in self._pending

    def poll(self, job_id: str | None = None) -> list[dict[str, Any]]:
        """Non-blocking: drain the reader's queue; return job_id's events (or all untaken ones)."""
        self._drain()
        with self._lock:
            if job_id is None:
                events = [e for bucket in self._events.values() for e in bucket]
                self._events.clear()
            else:
                events = self._events.pop(job_id, [])
        return events

    def wait(self, job_id: str, timeout_s: float | None = None, interval_s: float = 0.02) -> dict[str, Any]:
        """Block until job_id's terminal event and return it (events before it are dropped)."""
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        while True:
            for event in self.poll(job_id):
                if event["event"] in protocol.TERMINAL_EVENTS:
                    return event
            if deadline is not None and time.monotonic() > deadline:
                raise WorkerError(f"no answer from the backend within {timeout_s:.0f} s; its log: {self.log_tail()}")
            time.sleep(interval_s)

    def stop(self) -> None:
        """shutdown, then kill if it has not exited within SHUTDOWN_GRACE_S; never raises."""
        try:
            if self.process.poll() is None:
                try:
                    self._write(protocol.encode_request(f"blender-{os.getpid()}-bye", "shutdown", {}), None)
                    self.process.stdin.close()
                except (WorkerError, OSError, ValueError):
                    pass
                try:
                    self.process.wait(SHUTDOWN_GRACE_S)
                except subprocess.TimeoutExpired:
                    self.process.kill()
                    self.process.wait(SHUTDOWN_GRACE_S)
        except Exception:  # noqa: BLE001 - runs at exit; nothing may escape
            log.exception("stopping the backend worker")
        finally:
            self._dead = True
            self._log_file.close()

    def log_tail(self, chars: int = LOG_TAIL_CHARS) -> str:
        try:
            self._log_file.flush()
            text = self.log_path.read_text(errors="replace").strip()
        except (OSError, ValueError):
            return "(no log)"
        return text[-chars:] if text else "(empty log)"

    # -- internals --------------------------------------------------------------------------
    def _write(self, line: bytes, job_id: str | None) -> None:
        try:
            assert self.process.stdin is not None
            self.process.stdin.write(line)
            self.process.stdin.flush()
        except (OSError, ValueError) as error:  # broken pipe: the process died
            self._mark_dead(f"writing to the backend failed ({error})")
            if job_id is not None:
                raise WorkerError(f"the backend worker is not running ({error}); its log: {self.log_tail()}") from None

    def _drain(self) -> None:
        while True:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                break
            if item is _EOF:
                code = self.process.poll()
                how = f"was killed by signal {-code}" if code is not None and code < 0 else f"exited (status {code})"
                self._mark_dead(f"the backend worker {how}")
                continue
            with self._lock:
                self._answered = True
                self._heard[item["id"]] = time.monotonic()
                if item["event"] == "heartbeat":  # liveness only: never queued (none piles up after a job)
                    continue
                self._events.setdefault(item["id"], []).append(item)
                if item["event"] in protocol.TERMINAL_EVENTS and item["id"] in self._pending:
                    self._pending.discard(item["id"])

    def _mark_dead(self, why: str, hung: bool = False) -> None:
        with self._lock:
            if self._dead and not self._pending:
                return
            self._dead = True
            orphans, self._pending = sorted(self._pending), set()
            hint = ("run it again (the worker restarts by itself); if it keeps failing, read the "
                    f"worker log {self.log_path}: {self.log_tail(400)}")
            if hung:
                hint = f"run it again: a fresh worker starts; if it hangs again, read the worker log {self.log_path}"
            missing = None if self._answered or hung else _INCOMPLETE.search(self.log_tail().encode())
            if missing:  # a set-up problem, not a transient one: running it again cannot help
                what = (missing.group(1) or b"").decode() or (missing.group(2) or b"").decode().strip()
                why = (f"the backend environment is incomplete ({self.settings.python} cannot import {what}); "
                       f"the job was not run")
                hint = f"{SETUP_FIX} (worker log {self.log_path})"
            for job_id in orphans:
                event = protocol.worker_died_event(job_id, why, hint)
                if missing:
                    event["message"] = why
                self._events.setdefault(job_id, []).append(event)
        log.warning("%s", why)


_COUNTER = itertools.count(1)
_worker: Worker | None = None
_private_dir: Path | None = None
_worker_lock = threading.Lock()


def get_worker(prefs: Any) -> Worker:
    """The session's worker for these settings: reused while alive, (re)started when needed."""
    global _worker
    settings = settings_from(prefs)
    with _worker_lock:
        if _worker is not None and (not _worker.alive or
                                    (_worker.settings != settings and not _worker._pending)):
            _worker.stop()
            _worker = None
        if _worker is None:
            _worker = Worker(settings)
        return _worker


def current_worker() -> Worker | None:
    """The running worker, without starting one (for status display)."""
    return _worker if _worker is not None and _worker.alive else None


def stop_worker() -> None:
    """Stop the worker and remove the private temp dir; safe to call any number of times."""
    global _worker, _private_dir
    with _worker_lock:
        if _worker is not None:
            _worker.stop()
            _worker = None
        if _private_dir is not None:
            shutil.rmtree(_private_dir, ignore_errors=True)
            _private_dir = None


def private_dir() -> Path:
    """The add-on's own temp folder for this session (created on first use, removed by stop_worker).
    The first creation in a process also removes the folders that sessions killed before their
    cleanup left behind (remove_stale_dirs)."""
    global _private_dir, _swept
    if _private_dir is None or not _private_dir.is_dir():
        if not _swept:
            _swept = True
            remove_stale_dirs()
        _private_dir = Path(tempfile.mkdtemp(prefix=f"{PRIVATE_PREFIX}{os.getpid()}-"))
    return _private_dir


PRIVATE_PREFIX = "interactvlm-"  # + the owning process id + "-" + mkdtemp's random part
_swept = False


def process_alive(pid: int) -> bool:
    """Whether a process with this id exists (one of another user counts as alive)."""
    if pid <= 0:
        return False
    if os.name == "nt":  # os.kill would terminate it there: ask the kernel instead
        import ctypes

        kernel32 = ctypes.windll.kernel32
        handle = kernel32.OpenProcess(0x1000, False, pid)  # PROCESS_QUERY_LIMITED_INFORMATION
        if not handle:
            return kernel32.GetLastError() == 5  # ERROR_ACCESS_DENIED: it exists
        code = ctypes.c_ulong()
        kernel32.GetExitCodeProcess(handle, ctypes.byref(code))
        kernel32.CloseHandle(handle)
        return code.value == 259  # STILL_ACTIVE
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_stale_dirs(parent: Path | str | None = None) -> list[Path]:
    """Remove `interactvlm-<pid>-*` folders in the temp dir (or `parent`) whose process is gone and
    that belong to this user (a killed Blender leaves its request meshes and worker log there).
    Returns what was removed."""
    removed = []
    for folder in Path(parent or tempfile.gettempdir()).glob(f"{PRIVATE_PREFIX}*-*"):
        pid = folder.name[len(PRIVATE_PREFIX):].split("-", 1)[0]
        try:
            mine = folder.is_dir() and not folder.is_symlink() and folder.stat().st_uid == os.getuid()
        except (OSError, AttributeError):  # AttributeError: no getuid on Windows, where temp dirs are per user
            mine = folder.is_dir() and not folder.is_symlink()
        if pid.isdigit() and mine and int(pid) != os.getpid() and not process_alive(int(pid)):
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder)
    if removed:
        log.info("removed %d stale temp folder(s) of ended sessions", len(removed))
    return removed


def new_job_dir(prefix: str = "job") -> Path:
    return Path(tempfile.mkdtemp(prefix=f"{prefix}-", dir=private_dir()))


def remove_job_dir(folder: Path | str | None) -> None:
    """Remove a job folder, but only one inside the private temp dir (never a user folder)."""
    if folder is None or _private_dir is None:
        return
    folder = Path(folder).resolve()
    if _private_dir.resolve() in folder.parents:
        shutil.rmtree(folder, ignore_errors=True)


atexit.register(stop_worker)
__all__ = ["Worker", "WorkerError", "WorkerSettings", "get_worker", "current_worker", "stop_worker",
           "private_dir", "new_job_dir", "remove_job_dir", "remove_stale_dirs", "process_alive", "settings_from",
           "guess_root"]
