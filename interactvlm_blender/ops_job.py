"""The operator side of every job (runner.py): one mix-in and the one Cancel operator.

    class INTERACTVLM_OT_x(JobOperator, bpy.types.Operator):
        bl_idname = "interactvlm.x"
        bl_options = {"UNDO"}                       # FINISHED then pushes one undo step
        def job_start(self, context) -> runner.Job: ...            # build and start it (or return the steps
                                                                   # that do, runner.Preparation), or raise JobError
        def job_apply(self, context, job) -> Iterable[None]: ...   # apply a DONE job's result, step by step
        def job_report(self, context, job) -> tuple[str, str]: ... # (level, text) once applied

JobOperator owns the rest, in the manner of Blender's extension manager (bl_pkg's command
mix-in): execute() blocks (scripts, EXEC calls); invoke() runs modal unless in background mode
or without a window; modal() steps the run on a TIMER_S timer, turns Esc into a cancel request,
updates the status bar and the panels' progress only when they changed; the job slot
(runner.start: one job at a time, one "busy" message); the reports; and undo: FINISHED (one undo
step) only when the scene may have changed, CANCELLED otherwise. A concrete subclass (one with a
bl_idname) that forgets a hook is refused when its class is created. Optional hook:
job_told(context, level, text) also shows each report elsewhere (a panel's last result); `job_what`
names the job while its preparation steps run.
Any exception in a hook ends the run (the slot is freed, the job's files removed) and is
reported as an internal error.
"""
from __future__ import annotations

import logging
from typing import Any, Iterable

import bpy

from . import client, messages, runner

log = logging.getLogger("interactvlm.ops")
TIMER_S = 0.1  # a step only drains a queue or writes one piece of a result, so polling this often costs nothing
# Preparation and result-writing steps per tick while they fit (one ~10 ms mask image per tick cost 0.4 s
# per estimate in idle ticks); a step that starts before the budget ends still runs: a tick is at most
# 30 ms plus one step, or one step that is long by itself (runner.Alone); at 1M vertices the longest tick
# measured 81 ms (bench/README.md), under the 100 ms main-thread target.
TICK_BUDGET_S = 0.03
_HOOKS = ("job_start", "job_apply", "job_report")


def redraw(context: bpy.types.Context) -> None:
    """Redraw the viewports (the panels' progress bars) and the status bar."""
    for window in context.window_manager.windows:
        for area in window.screen.areas:
            if area.type in {"VIEW_3D", "STATUSBAR"}:
                area.tag_redraw()


def show_progress(context: bpy.types.Context, job: runner.Job | None) -> None:
    """Copy a job's progress into the WindowManager status the panels draw, and the status bar
    text; None clears both."""
    status = context.window_manager.interactvlm_status
    if job is None:
        status.running, status.fraction, status.stage, status.what = False, 0.0, "", ""
    else:
        status.running, status.fraction, status.stage = True, job.fraction, job.stage
        status.message, status.what = job.message, job.what
    workspace = getattr(context, "workspace", None)
    if workspace is not None:
        workspace.status_text_set(None if job is None else f"InteractVLM: {progress_text(job)}  (Esc: cancel)")


def tell(operator: bpy.types.Operator, level: str, text: str) -> None:
    """Report text the one way (messages.py): whole in the Info editor, a status-bar line when long."""
    for line in messages.reports(text):
        operator.report({level}, line)


def progress_text(job: runner.Job) -> str:
    """The stage, its percentage and the backend's message (e.g. "render 40% view 2 of 4")."""
    text = f"{job.stage} {job.fraction * 100:.0f}%"
    return f"{text} {job.message}" if job.message and job.state == runner.RUNNING else text


class JobOperator:
    """Mix-in for every operator that runs a job; see the module docstring."""

    job_what = "job"

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "bl_idname" not in cls.__dict__:  # an intermediate mix-in (e.g. shared properties)
            return
        missing = [name for name in _HOOKS if getattr(cls, name) is getattr(JobOperator, name)]
        if missing:
            raise TypeError(f"{cls.__name__} must define {', '.join(missing)} (see ops_job.JobOperator)")

    # -- hooks ------------------------------------------------------------------------------
    def job_start(self, context: bpy.types.Context) -> runner.Job:
        raise NotImplementedError

    def job_apply(self, context: bpy.types.Context, job: Any) -> Iterable[None]:
        raise NotImplementedError

    def job_report(self, context: bpy.types.Context, job: Any) -> tuple[str, str]:
        raise NotImplementedError

    def job_told(self, context: bpy.types.Context, level: str, text: str) -> None:
        """Optional: also show a report somewhere else."""

    # -- Blender's operator methods ------------------------------------------------------------
    def execute(self, context: bpy.types.Context) -> set[str]:
        current = self._begin(context)
        if current is None:
            return {"CANCELLED"}
        try:
            current.wait()
        except Exception as error:  # noqa: BLE001 - reported; the run has freed the slot
            return self._crash(context, current, error)
        return self._end(context, current)

    def invoke(self, context: bpy.types.Context, event: Any) -> set[str]:
        if bpy.app.background or context.window is None:
            return self.execute(context)
        current = self._begin(context)
        if current is None:
            return {"CANCELLED"}
        self._run, self._shown = current, None
        self._timer = context.window_manager.event_timer_add(TIMER_S, window=context.window)
        context.window_manager.modal_handler_add(self)
        self._show(context)
        return {"RUNNING_MODAL"}

    def modal(self, context: bpy.types.Context, event: Any) -> set[str]:
        current = self._run
        if current.ended:  # discarded (file load, unregister)
            self._stop_modal(context)
            return {"CANCELLED"}
        if event.type == "ESC":
            current.cancel()  # a request; once the result is committed to the scene, the writing completes
            if current.ended:  # a revocable writer was closed at once: report it now
                self._stop_modal(context)
                return self._end(context, current)
            return {"RUNNING_MODAL"}
        if event.type != "TIMER":
            return {"PASS_THROUGH"}
        try:
            ended = current.step_for(TICK_BUDGET_S)
        except Exception as error:  # noqa: BLE001 - reported; the run has freed the slot
            self._stop_modal(context)
            return self._crash(context, current, error)
        if not ended:
            self._show(context)
            return {"PASS_THROUGH"}
        self._stop_modal(context)
        return self._end(context, current)

    # -- internals ------------------------------------------------------------------------------
    def _begin(self, context: bpy.types.Context) -> runner.Run | None:
        try:
            return runner.start(lambda: self.job_start(context), lambda job: self.job_apply(context, job),
                                what=self.job_what)
        except (runner.JobError, client.WorkerError) as error:
            self._tell(context, "ERROR", f"InteractVLM: {error}")
        except Exception as error:  # noqa: BLE001 - reported; nothing was started
            self._crash(context, None, error)
        return None

    def _end(self, context: bpy.types.Context, current: runner.Run) -> set[str]:
        """Report the outcome; FINISHED (one undo step) only when the scene may have changed."""
        job = current.job
        if not current.applied or current.withdrawn:  # failed or cancelled before anything was written
            level = "WARNING" if job.state == runner.CANCELLED else "ERROR"
            self._tell(context, level, job.message or f"InteractVLM: the {job.what} ended {job.state}")
            return {"CANCELLED"}
        if current.error:
            self._tell(context, "ERROR", f"InteractVLM: {current.error}")
            return {"FINISHED"} if current.steps else {"CANCELLED"}  # a first step checks before it writes
        level, text = self.job_report(context, job)
        self._tell(context, level, text)
        return {"FINISHED"}

    def _crash(self, context: bpy.types.Context, current: runner.Run | None, error: Exception) -> set[str]:
        log.exception("InteractVLM: %s failed", type(self).__name__)
        text = (f"InteractVLM: internal error ({type(error).__name__}: {error}); this is a bug, please report it "
                "with the system console's output")
        self._tell(context, "ERROR", text)
        return {"FINISHED"} if current is not None and current.steps else {"CANCELLED"}

    def _tell(self, context: bpy.types.Context, level: str, text: str) -> None:
        tell(self, level, text)
        self.job_told(context, level, messages.artist_text(text))

    def _show(self, context: bpy.types.Context) -> None:
        job = self._run.job
        shown = (job.stage, round(job.fraction * 100), job.message)
        if shown != self._shown:  # redraw only on change
            self._shown = shown
            show_progress(context, job)
            redraw(context)

    def _stop_modal(self, context: bpy.types.Context) -> None:
        timer = getattr(self, "_timer", None)
        if timer is not None:
            context.window_manager.event_timer_remove(timer)
            self._timer = None
        show_progress(context, None)
        redraw(context)


class INTERACTVLM_OT_cancel_job(bpy.types.Operator):
    """Stop the running InteractVLM job; nothing is written"""

    bl_idname = "interactvlm.cancel_job"
    bl_label = "Cancel"

    @classmethod
    def poll(cls, context: bpy.types.Context) -> bool:
        return runner.active_job() is not None

    def execute(self, context: bpy.types.Context) -> set[str]:
        runner.cancel_active()
        return {"FINISHED"}


CLASSES = (INTERACTVLM_OT_cancel_job,)
