"""The add-on's one job lifecycle (no bpy): jobs, the session's single job slot, runs, waiting.

A *job* is any long task the add-on runs while Blender stays live: a backend worker request
(BackendJob: estimate, scene contact, placement, hello) or anything else slow, such as a pip
subprocess that sets up the backend environment. Every job

- is ticked on the main thread (`tick()`, never blocks) and reports `stage`, `fraction`, `message`;
- can be asked to cancel (`cancel()`, a request: the job ends CANCELLED when the work has stopped);
- ends DONE, FAILED or CANCELLED (`state`), and releases what it holds in `discard()`.

A new kind of job subclasses Job and defines `tick` and `request_cancel` (Job refuses a subclass
that forgets one); `discard` and `expire` have defaults. Example, a subprocess:

    @dataclass(kw_only=True)
    class PipJob(runner.Job):
        process: subprocess.Popen
        what: str = "backend set-up"
        def tick(self) -> str:
            if self.process.poll() is not None:
                self.state = runner.DONE if self.process.returncode == 0 else runner.FAILED
            return self.state
        def request_cancel(self) -> None:
            self.process.terminate()   # tick() then sees it end; set CANCELLED there

A *run* is a job plus the steps that apply its result on the main thread (a generator: one short
step per timer tick, so no step stalls the UI). `start(make_job, apply)` claims the slot (one job
at a time per session: the worker runs one job at a time, and a second would get `busy`), builds
the job and returns its Run; `Run.step()` is what the operator's timer calls; `Run.wait()` and
`run()` block (scripts, background mode, api.py). A run frees the slot and discards its job when
it ends, whatever ended it (done, failure, cancel, an exception in a step, discard_active()).
Operators drive runs through ops_job.JobOperator; nothing else touches the slot.

Main-thread work before a job exists (reading a 1M-vertex mesh and its groups: 0.96 s in one go)
is split the same way: make_job may return a generator that yields after each short step and
returns the Job (a *preparation*, see Preparation); its first step (the checks) runs in start(),
the others one per tick, and a cancel closes it (its `finally`/`request_folder` clean up). A
result writer that can undo its writing yields Revocable fractions until the scene holds the whole
result: a cancel then closes it (nothing written); at other steps the writing completes. A step
yields Alone (or Revocable(..., alone=True)) before a step that is long by itself. `Work` splits a
loop into steps of a stated cost, the same steps whether the run is modal or blocking.
"""
from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Generator, Iterable, Iterator

from . import client, protocol

__all__ = ["RUNNING", "DONE", "FAILED", "CANCELLED", "Revocable", "Alone", "settled", "JobError", "Job", "BackendJob",
           "Preparation", "Work", "Run", "start", "run", "wait", "finish", "active_job", "active_run", "cancel_active",
           "discard_active", "request_folder"]

RUNNING, DONE, FAILED, CANCELLED = "running", "done", "failed", "cancelled"
WAIT_INTERVAL_S = 0.02  # blocking waits poll this often (a poll only drains a queue)


class Revocable(float):
    """A fraction written that a result writer yields while closing it still removes all it wrote
    (see Run.cancel); a plain float means the scene already holds (part of) the result. alone: as
    for Alone."""

    alone = False

    def __new__(cls, value: float, alone: bool = False) -> "Revocable":
        step = super().__new__(cls, value)
        step.alone = alone
        return step


class Alone(float):
    """A fraction a step yields when the next step is long by itself (Blender's own work that Python
    cannot split, e.g. copying 1M vertices' deform weights): Run.step_for ends the tick there, so that
    step gets a tick of its own instead of following others within the budget."""

    alone = True


class JobError(RuntimeError):
    """A problem found before or after a job's work ran; str() says what and how to fix it."""


@dataclass(kw_only=True)
class Job:
    """A long task (see the module docstring). Subclasses define tick() and request_cancel()."""

    what: str = "job"  # for messages: "estimate", "scene contact", "placement", "backend check"
    state: str = RUNNING
    stage: str = "queued"
    fraction: float = 0.0
    message: str = ""  # the latest progress message, or why it failed / was cancelled
    timeout_s: float | None = None  # expire() when still RUNNING this long after it started
    cancel_requested: bool = False
    started: float = field(default_factory=time.monotonic)

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        missing = [name for name in ("tick", "request_cancel") if getattr(cls, name) is getattr(Job, name)]
        if missing:
            raise TypeError(f"job class {cls.__name__} must define {' and '.join(missing)}")

    @property
    def finished(self) -> bool:
        return self.state != RUNNING

    def tick(self) -> str:
        """Advance without blocking; update state/stage/fraction/message. Returns the state."""
        raise NotImplementedError

    def request_cancel(self) -> None:
        """Ask the work to stop (called once, while RUNNING); tick() later reports CANCELLED."""
        raise NotImplementedError

    def cancel(self) -> None:
        """Request a cancel (a no-op once finished or already requested)."""
        if not self.finished and not self.cancel_requested:
            self.cancel_requested = True
            self.request_cancel()

    def expire(self) -> None:
        """Called when timeout_s has passed: stop the work and fail with a message saying so."""
        self.cancel()
        self.state, self.message = (
            FAILED,
            f"InteractVLM: no answer within {self.timeout_s:g} s; the {self.what} was stopped",
        )

    def discard(self) -> None:
        """Release what the job holds (files, processes); called once when its run ends."""


@dataclass(kw_only=True)
class BackendJob(Job):
    """One request to the backend worker (client.Worker); its events drive the state."""

    worker: client.Worker
    request_id: str
    op: str
    job_dir: Path | None = None  # the request folder (request_folder()), removed by discard()
    result_path: str = ""
    summary: dict[str, Any] = field(default_factory=dict)
    history: list[tuple[str, float]] = field(default_factory=list)  # every progress event: (stage, fraction)
    reply: dict[str, Any] = field(default_factory=dict)  # the terminal event (e.g. `hello`'s fields)
    notes: list[str] = field(default_factory=list)  # remarks for the outcome report (e.g. modifiers skipped)
    hung_after_s: float = protocol.HUNG_AFTER_S  # silence (no event, no heartbeat) that means a hung worker

    @classmethod
    def submit(cls, worker: client.Worker, op: str, fields: dict[str, Any], **attributes: Any) -> "BackendJob":
        """Send the request (client.WorkerError when the worker is gone) and return its job."""
        return cls(worker=worker, request_id=worker.submit(op, fields), op=op, **attributes)

    def tick(self) -> str:
        if self.finished:
            return self.state
        for event in self.worker.poll(self.request_id):
            kind = event["event"]
            if kind == "accepted":
                self.stage = "accepted"
            elif kind == "progress":
                self.stage, self.fraction = event["stage"], float(event["fraction"])
                self.message = str(event.get("message") or "")
                self.history.append((self.stage, self.fraction))
            elif kind in ("result", "hello"):
                self.state, self.fraction, self.reply = DONE, 1.0, event
                self.result_path, self.summary = str(event.get("path") or ""), dict(event.get("summary") or {})
            elif kind == "error":
                self.state, self.message, self.reply = FAILED, f"InteractVLM: {protocol.error_text(event)}", event
            elif kind == "cancelled":
                self.state, self.message = CANCELLED, f"InteractVLM: {self.what} cancelled; nothing was changed"
            if self.finished:
                break
        if not self.finished and self.worker.silent_for(self.request_id) > self.hung_after_s:
            self.worker.kill_hung(f"the backend worker sent nothing for {self.hung_after_s:g} s while running the "
                                  f"{self.what} (no heartbeat): it was hung and has been stopped")
            return self.tick()  # its worker_died event ends the job
        return self.state

    def request_cancel(self) -> None:
        self.worker.cancel(self.request_id)

    def expire(self) -> None:
        super().expire()
        self.message += f"; the worker's log: {self.worker.log_tail(400)}"

    def discard(self) -> None:
        self.cancel()
        client.remove_job_dir(self.job_dir)


@contextlib.contextmanager
def request_folder(op: str) -> Iterator[Path]:
    """A new folder for a job's request files, removed again when anything fails before the job is
    submitted (the scene is untouched then); BackendJob.discard() removes it after that."""
    folder = client.new_job_dir(op)
    try:
        yield folder
    except BaseException:
        client.remove_job_dir(folder)
        raise


Steps = Generator[Any, None, Any]  # yields after each short step, returns what it built


def finish(steps: Steps) -> Any:
    """Run a generator of steps to its end in one go (the blocking path); its return value."""
    while True:
        try:
            next(steps)
        except StopIteration as done:
            return done.value


def settled(steps: Steps) -> Generator[float, None, Any]:
    """A writer's steps run after the scene already holds part of the result (the second mesh of a
    pair): its Revocable fractions become plain ones, since closing it could no longer undo the
    whole; Alone is kept. Returns the writer's value."""
    while True:
        try:
            done = next(steps)
        except StopIteration as end:
            return end.value
        yield Alone(done) if getattr(done, "alone", False) else float(done)


class Work:
    """Splits a long main-thread loop into steps of about `step_s` seconds of *estimated* cost
    (costs measured once, not timed at run time: the same steps on a busy or an idle machine, so
    a blocking and a stepped run do exactly the same work). `spend(cost_s)` after each piece;
    True when the step is full and the caller should yield."""

    def __init__(self, step_s: float) -> None:
        self.step_s, self.spent = step_s, 0.0

    def spend(self, cost_s: float) -> bool:
        self.spent += cost_s
        if self.spent >= self.step_s:
            self.spent = 0.0
            return True
        return False


@dataclass(kw_only=True)
class Preparation(Job):
    """The main-thread steps that build a job (checks, mesh arrays, request files, submit), one per
    tick; start() runs the first. DONE with `built` set when the steps return the job; FAILED with
    the message of a JobError/WorkerError; a cancel closes the steps (their cleanup runs)."""

    steps: Steps
    built: Job | None = None
    stage: str = "reading"
    alone: bool = False  # the last step yielded Alone

    def tick(self) -> str:
        if self.finished:
            return self.state
        try:
            done = next(self.steps)
            self.alone = bool(getattr(done, "alone", False))
            if isinstance(done, float):
                self.fraction = min(max(done, 0.0), 1.0)
        except StopIteration as end:
            if not isinstance(end.value, Job):
                raise TypeError(f"the steps of the {self.what} returned {end.value!r}, not a job") from None
            self.state, self.built = DONE, end.value
        except (JobError, client.WorkerError) as error:
            self.state, self.message = FAILED, f"InteractVLM: {error}"
        return self.state

    def request_cancel(self) -> None:
        self.steps.close()
        self.state, self.message = CANCELLED, f"InteractVLM: {self.what} cancelled; nothing was changed"

    def discard(self) -> None:
        if self.built is None:
            self.steps.close()


Apply = Callable[[Job], Iterable[float | str | None] | None]  # each step may yield the fraction written
_active: "Run | None" = None  # the session's one job slot


class Run:
    """A job and the main-thread steps that apply its result (see the module docstring).

    `error` is set when applying failed with a JobError; `applied` says whether applying began,
    `steps` how many apply steps completed (a first step checks everything before it writes, so
    with steps == 0 the scene is unchanged); `withdrawn` whether a cancel closed the writer at a
    Revocable step (nothing written)."""

    def __init__(self, job: Job, apply: Apply | None = None) -> None:
        self.job, self._apply = job, apply
        self._writer: Iterator[Any] | None = None
        self.error = ""
        self.steps = 0
        self.ended = False
        self.revocable = False
        self.withdrawn = False
        self.alone = False  # the last step yielded Alone: step_for ends the tick

    @property
    def writing(self) -> bool:
        return self._writer is not None and not self.ended

    @property
    def applied(self) -> bool:
        return self._writer is not None

    @property
    def preparing(self) -> bool:
        return isinstance(self.job, Preparation) and not self.ended

    def cancel(self) -> None:
        """What Esc and Cancel do: cancel the job; while its result is written and the writer's
        last step was Revocable, close the writer (it removes what it wrote) and end CANCELLED."""
        if self.writing and self.revocable:
            self.withdrawn = True
            self.job.state, self.job.message = CANCELLED, f"InteractVLM: {self.job.what} cancelled; nothing was changed"
            self._end()
        else:
            self.job.cancel()

    def step(self) -> bool:
        """Advance by one short step; True once the run has ended (slot freed, job discarded).

        An exception other than JobError ends the run too (the slot is never left taken) and
        propagates to the caller."""
        if self.ended:
            return True
        try:
            if self._writer is None:
                job = self.job
                if isinstance(job, Preparation):
                    if job.tick() == RUNNING:
                        self.alone = job.alone
                        return False
                    if job.state != DONE:
                        return self._end()
                    self.job = job.built  # its own state/progress from now on
                    return False
                if job.tick() == RUNNING:
                    if job.timeout_s is not None and time.monotonic() - job.started > job.timeout_s:
                        job.expire()
                    if not job.finished:
                        return False
                if job.state != DONE or self._apply is None:
                    return self._end()
                self._writer = iter(self._apply(job) or ())
                job.stage, job.fraction, job.message = "writing", 0.0, ""
            done = next(self._writer)
            self.revocable = isinstance(done, Revocable)
            self.alone = bool(getattr(done, "alone", False))
            if isinstance(done, float):  # a step may say how much of the writing is done
                self.job.fraction = min(max(done, 0.0), 1.0)
            self.steps += 1
            return False
        except StopIteration:
            return self._end()
        except JobError as error:
            self.error = str(error)
            return self._end()
        except BaseException:
            self._end()
            raise

    def step_for(self, budget_s: float) -> bool:
        """step(), then more preparation or result-writing steps while they fit in budget_s (a timer
        tick that writes only one piece wastes a whole tick per mask image: 4 x 0.1 s per estimate
        at ops_job.TIMER_S). A next step starts only while the tick, plus as long again as the last
        step took, stays within the budget: a step that began at 29 ms of a 30 ms budget made 1M-vertex
        ticks of 90-100 ms. True once the run has ended."""
        start = time.perf_counter()
        ended = self.step()
        last = time.perf_counter() - start
        while (not ended and (self.writing or self.preparing) and not self.alone
               and time.perf_counter() - start + last < budget_s):
            began = time.perf_counter()
            ended = self.step()
            last = time.perf_counter() - began
        return ended

    def wait(self, interval_s: float = WAIT_INTERVAL_S) -> "Run":
        """Blocking: step until the run ends (scripts, background mode). Returns self."""
        while not self.step():
            if not self.writing and not self.preparing:
                time.sleep(interval_s)
        return self

    def discard(self) -> None:
        """End now: cancel the job if running, nothing more is applied."""
        self._end()

    def _end(self) -> bool:
        global _active
        if not self.ended:
            self.ended = True
            if self._writer is not None:
                close = getattr(self._writer, "close", None)
                if close is not None:
                    close()
            if _active is self:
                _active = None
            self.job.discard()
        return True


def start(make_job: Callable[[], Job | Steps], apply: Apply | None = None, what: str = "job") -> Run:
    """Claim the session's job slot, build the job and return its Run.

    make_job returns the job, or the steps that build it (a Preparation called `what`, whose first
    step runs here). JobError when another job holds the slot (nothing is built then); an error of
    make_job or of that first step propagates and leaves the slot free."""
    global _active
    if _active is not None and not _active.ended:
        raise JobError(f"{_active.job.what} is running; wait for it or press Cancel")
    job = make_job()
    if not isinstance(job, Job):
        steps = job
        try:
            next(steps)
        except StopIteration as end:
            job = end.value
        else:
            job = Preparation(steps=steps, what=what)
    _active = Run(job, apply)
    return _active


def run(make_job: Callable[[], Job | Steps], apply: Apply | None = None, what: str = "job") -> Run:
    """start() and wait(): the blocking run for scripts and api.py."""
    return start(make_job, apply, what).wait()


def wait(job: Job) -> str:
    """Blocking: tick a bare job (no slot, nothing applied) until it ends, then discard it; its state."""
    return Run(job).wait().job.state


def active_run() -> Run | None:
    return _active if _active is not None and not _active.ended else None


def active_job() -> Job | None:
    """The job holding the slot (running, or having its result applied), else None."""
    current = active_run()
    return current.job if current is not None else None


def cancel_active() -> bool:
    """Ask the active job to cancel (what Esc and the Cancel button do); False when none runs."""
    current = active_run()
    if current is None:
        return False
    current.cancel()
    return True


def discard_active() -> None:
    """End the active run at once (file load, unregister): its job is cancelled and discarded."""
    current = active_run()
    if current is not None:
        current.discard()
