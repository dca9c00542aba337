"""What the modal job operators (estimate, scene contact, placement) share while a job runs: the
timer that polls the worker, the status-bar text and the redraws, so the UI stays live."""
from __future__ import annotations

from typing import Any, Callable

import bpy

from .backend_job import BackendJob

TIMER_S = 0.1  # job.tick only drains a queue, so polling this often costs the UI nothing


def redraw(context: bpy.types.Context) -> None:
    """Redraw the viewports (the panels' progress bars) and the status bar."""
    for window in context.window_manager.windows:
        for area in window.screen.areas:
            if area.type in {"VIEW_3D", "STATUSBAR"}:
                area.tag_redraw()


def status_text(context: bpy.types.Context, job: BackendJob | None) -> None:
    """Show the job's stage and progress in the status bar; None clears it."""
    workspace = getattr(context, "workspace", None)
    if workspace is not None:
        workspace.status_text_set(None if job is None else
                                  f"InteractVLM: {job.stage} {job.fraction * 100:.0f}%  (Esc: cancel)")


def start(operator: bpy.types.Operator, context: bpy.types.Context) -> None:
    """Add the operator's poll timer and modal handler (its invoke() then returns RUNNING_MODAL)."""
    wm = context.window_manager
    operator._timer = wm.event_timer_add(TIMER_S, window=context.window)
    wm.modal_handler_add(operator)


def stop(operator: bpy.types.Operator, context: bpy.types.Context) -> None:
    """Remove the operator's timer, clear the status bar and redraw: the modal run has ended."""
    timer = getattr(operator, "_timer", None)
    if timer is not None:
        context.window_manager.event_timer_remove(timer)
        operator._timer = None
    status_text(context, None)
    redraw(context)


class CancelJobButton:
    """What a Cancel button does (mixed into each path's Cancel operator with bpy.types.Operator):
    enabled while its job runs, cancels it (nothing is written). Subclasses set `running_job`."""

    running_job: Callable[[], Any]

    @classmethod
    def poll(cls, context: bpy.types.Context) -> bool:
        return cls.running_job() is not None

    def execute(self, context: bpy.types.Context) -> set[str]:
        job = type(self).running_job()
        if job is not None:
            job.cancel()
        return {"FINISHED"}
