"""`interactvlm.check_backend`: start (or reuse) the worker, send `hello`, report versions and
devices. A job like any other (ops_job.JobOperator): modal from the preferences' button,
blocking from scripts; it changes no scene data."""
from __future__ import annotations

from typing import Any, Iterable

import bpy

from . import client, managed, messages, protocol, runner
from .ops_job import JobOperator
from .prefs import checkpoint_path, get_prefs

HELLO_TIMEOUT_S = 120.0  # the first start imports torch


def hello_text(event: dict[str, Any]) -> str:
    lines = [
        f"Backend {event.get('backend_version')} (protocol {event.get('protocol')}), Python {event.get('python')}, "
        f"torch {event.get('torch') or 'not installed'}",
        f"Devices: {', '.join(event.get('devices') or [])}; default localizer: {event.get('default_localizer')}",
    ]
    for row in event.get("localizers") or []:
        state = "ready" if row.get("available") else f"unavailable: {messages.artist_text(str(row.get('reason')))}"
        lines.append(f"  {row.get('name')}: {state}")
    return "\n".join(lines)


class INTERACTVLM_OT_check_backend(JobOperator, bpy.types.Operator):
    """Start the backend worker and report its versions, devices and localizers"""

    bl_idname = "interactvlm.check_backend"
    bl_label = "Check Backend"

    def job_start(self, context: bpy.types.Context) -> runner.BackendJob:
        worker = client.get_worker(get_prefs(context))
        job = runner.BackendJob.submit(worker, "hello", protocol.hello_request(checkpoint_path(get_prefs(context))),
                                       what="backend check", timeout_s=HELLO_TIMEOUT_S)
        context.window_manager.interactvlm_status.backend_report = "Starting the backend…"
        return job

    def job_apply(self, context: bpy.types.Context, job: runner.BackendJob) -> Iterable[None]:
        context.window_manager.interactvlm_status.backend_report = hello_text(job.reply)
        managed.LAST_HELLO.clear()  # for the preferences' set-up checklist
        managed.LAST_HELLO.update(job.reply)
        return ()

    def job_report(self, context: bpy.types.Context, job: runner.BackendJob) -> tuple[str, str]:
        return "INFO", "InteractVLM: " + context.window_manager.interactvlm_status.backend_report.replace("\n", "; ")

    def job_told(self, context: bpy.types.Context, level: str, text: str) -> None:
        if level == "ERROR":
            context.window_manager.interactvlm_status.backend_report = \
                f"Backend problem: {text.removeprefix('InteractVLM: ')}"


CLASSES = (INTERACTVLM_OT_check_backend,)
