"""`interactvlm.check_backend`: start (or reuse) the worker, send `hello`, report versions and devices."""
from __future__ import annotations

import bpy

from . import client, props
from .prefs import get_prefs

HELLO_TIMEOUT_S = 120.0  # the first start imports torch


def hello_text(event: dict) -> str:
    lines = [f"Backend {event.get('backend_version')} (protocol {event.get('protocol')}), Python {event.get('python')}, "
             f"torch {event.get('torch') or 'not installed'}",
             f"Devices: {', '.join(event.get('devices') or [])}; default localizer: {event.get('default_localizer')}"]
    for row in event.get("localizers") or []:
        state = "ready" if row.get("available") else f"unavailable: {row.get('reason')}"
        lines.append(f"  {row.get('name')}: {state}")
    return "\n".join(lines)


class INTERACTVLM_OT_check_backend(bpy.types.Operator):
    """Start the backend worker and report its versions, devices and localizers"""

    bl_idname = "interactvlm.check_backend"
    bl_label = "Check backend"

    def _submit(self, context: bpy.types.Context):
        prefs = get_prefs(context)
        fields = {"checkpoint_dir": bpy.path.abspath(prefs.checkpoint_dir)} if prefs.checkpoint_dir else {}
        worker = client.get_worker(prefs)
        return worker, worker.submit("hello", fields)

    def _report_event(self, context: bpy.types.Context, event: dict) -> set[str]:
        status = context.window_manager.interactvlm_status
        if event["event"] != "hello":
            from .protocol import error_text

            status.backend_report = f"Backend problem: {error_text(event)}"
            self.report({"ERROR"}, f"InteractVLM: {error_text(event)}")
            return {"CANCELLED"}
        status.backend_report = hello_text(event)
        names = [str(row.get("name")) for row in event.get("localizers") or [] if row.get("name")]
        props.KNOWN_LOCALIZERS[:] = list(dict.fromkeys([*props.KNOWN_LOCALIZERS, *names]))
        self.report({"INFO"}, "InteractVLM: " + status.backend_report.replace("\n", "; "))
        return {"FINISHED"}

    def execute(self, context: bpy.types.Context) -> set[str]:
        try:
            worker, job_id = self._submit(context)
            return self._report_event(context, worker.wait(job_id, HELLO_TIMEOUT_S))
        except client.WorkerError as error:
            context.window_manager.interactvlm_status.backend_report = f"Backend problem: {error}"
            self.report({"ERROR"}, f"InteractVLM: {error}")
            return {"CANCELLED"}

    def invoke(self, context: bpy.types.Context, event) -> set[str]:
        if bpy.app.background or context.window is None:
            return self.execute(context)
        try:
            self._worker, self._job = self._submit(context)
        except client.WorkerError as error:
            context.window_manager.interactvlm_status.backend_report = f"Backend problem: {error}"
            self.report({"ERROR"}, f"InteractVLM: {error}")
            return {"CANCELLED"}
        context.window_manager.interactvlm_status.backend_report = "Starting the backend…"
        self._timer = context.window_manager.event_timer_add(0.2, window=context.window)
        context.window_manager.modal_handler_add(self)
        return {"RUNNING_MODAL"}

    def modal(self, context: bpy.types.Context, event) -> set[str]:
        if event.type != "TIMER":
            return {"PASS_THROUGH"}
        for item in self._worker.poll(self._job):
            if item["event"] in ("hello", "error"):
                context.window_manager.event_timer_remove(self._timer)
                for area in context.screen.areas if context.screen else []:
                    area.tag_redraw()
                return self._report_event(context, item)
        return {"PASS_THROUGH"}


CLASSES = (INTERACTVLM_OT_check_backend,)
