"""`interactvlm.setup_backend` (Set Up Backend / Repair) and `interactvlm.remove_backend`: the managed
environment (environment.py) made from the preferences, a job on the add-on's one runner like any other.

Set-up respects Blender's "Allow Online Access": without it, only a wheel folder can be used.
From a script or `blender -b` the operator blocks and reports (ops_job.JobOperator).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable

import bpy

from . import client, environment, runner
from .ops_job import JobOperator
from .prefs import bundle, environment_root, get_prefs


@dataclass(kw_only=True)
class EnvironmentJob(runner.Job):
    """A SetupJob on the runner: its steps are pip subprocesses; cancel kills pip and removes the
    half-made environment (the one in use, if any, stays in use)."""

    setup: environment.SetupJob
    what: str = "backend set-up"

    def tick(self) -> str:
        self.setup.tick()
        self.state, self.stage, self.fraction = self.setup.state, self.setup.stage, self.setup.fraction
        self.message = self.setup.message if self.state == runner.RUNNING else f"InteractVLM: {self.setup.message}"
        return self.state

    def request_cancel(self) -> None:
        self.setup.cancel()

    def discard(self) -> None:
        self.setup.cancel()  # a no-op once finished


def online_access() -> bool:
    """Blender's "Allow Online Access" (bpy.app.online_access; the bpy module starts with it off)."""
    return bool(getattr(bpy.app, "online_access", True))


def make_setup_job(context: bpy.types.Context) -> EnvironmentJob:
    """The set-up job the preferences ask for, or runner.JobError saying why it cannot start (nothing
    is created then, not even the user folder): online access off without a wheel folder, no Python
    3.11, too little disk."""
    prefs = get_prefs(context)
    wheel_dir = bpy.path.abspath(prefs.wheel_dir) if prefs.wheel_dir else ""
    try:
        setup = environment.SetupJob(environment_root(), bundle(), base_python=prefs.setup_python,
                                     torch_build=prefs.torch_build, wheel_dir=wheel_dir, online=online_access())
    except environment.SetupError as error:
        raise runner.JobError(str(error)) from None
    return EnvironmentJob(setup=setup)


class INTERACTVLM_OT_setup_backend(JobOperator, bpy.types.Operator):
    """Create (or repair) the backend's own Python environment in the extension's user folder and install
    its pinned packages with pip (about 2 GB; uses the Wheel folder instead of the internet when set)"""

    bl_idname = "interactvlm.setup_backend"
    bl_label = "Set Up Backend"

    def job_start(self, context: bpy.types.Context) -> EnvironmentJob:
        return make_setup_job(context)

    def job_apply(self, context: bpy.types.Context, job: EnvironmentJob) -> Iterable[None]:
        client.stop_worker()  # the next job starts a worker in the new environment
        return ()

    def job_report(self, context: bpy.types.Context, job: EnvironmentJob) -> tuple[str, str]:
        return "INFO", f"InteractVLM: {job.setup.message}"


class INTERACTVLM_OT_remove_backend(bpy.types.Operator):
    """Remove the managed backend environment (the add-on and its settings stay)"""

    bl_idname = "interactvlm.remove_backend"
    bl_label = "Remove Backend Environment"

    @classmethod
    def poll(cls, context: bpy.types.Context) -> bool:
        root = environment_root()
        return runner.active_job() is None and ((root / environment.POINTER).exists() or (root / "envs").exists())

    def execute(self, context: bpy.types.Context) -> set[str]:
        client.stop_worker()  # it may run from that environment
        environment.remove_environment(environment_root())
        self.report({"INFO"}, "InteractVLM: the managed backend environment was removed")
        return {"FINISHED"}


class INTERACTVLM_OT_open_setup_log(bpy.types.Operator):
    """Open the latest set-up's pip log"""

    bl_idname = "interactvlm.open_setup_log"
    bl_label = "Open Set-up Log"

    @classmethod
    def poll(cls, context: bpy.types.Context) -> bool:
        return bool(environment.latest_log(environment_root()))

    def execute(self, context: bpy.types.Context) -> set[str]:
        return bpy.ops.wm.path_open(filepath=environment.latest_log(environment_root()))


def cached_hello() -> dict[str, Any]:
    """The last `hello` answer (Check backend), for the checklist; {} before the first."""
    from . import ops_check

    return dict(getattr(ops_check, "LAST_HELLO", {}) or {})


CLASSES = (INTERACTVLM_OT_setup_backend, INTERACTVLM_OT_remove_backend, INTERACTVLM_OT_open_setup_log)


def _line(layout: Any, ok: bool, text: str) -> None:
    layout.label(text=text, icon="CHECKMARK" if ok else "ERROR")


def draw_checklist(layout: Any, context: bpy.types.Context, prefs: Any) -> None:
    """The preferences' set-up checklist: backend code, environment, localizers, devices; the buttons."""
    from .prefs import ENV_OVERRIDES, managed_status

    box = layout.box()
    box.label(text="Backend set-up", icon="PREFERENCES")
    found = bundle()
    _line(box, found is not None, f"Backend code: {found.root}" if found is not None else
          "Backend code: not found; reinstall the extension zip (it carries backend/)")
    managed = managed_status()
    if managed.present:
        text = f"Environment: Python {managed.python_version}, torch {managed.torch}"
        _line(box, not managed.stale, text + (f" (stale: {managed.problem})" if managed.stale else ""))
    else:
        _line(box, False, f"Environment: {managed.problem}")
    import os

    python = prefs.backend_python
    if os.environ.get(ENV_OVERRIDES["backend_python"]):
        _line(box, bool(python) and os.path.isfile(python), f"Backend Python: {python} ({ENV_OVERRIDES['backend_python']})")
    elif python and python != managed.python:
        _line(box, os.path.isfile(python), f"Backend Python: {python} (preference)")
    hello = cached_hello()
    if hello:
        for row in hello.get("localizers") or []:
            ready = bool(row.get("available"))
            _line(box, ready, f"Localizer {row.get('name')}: " + ("ready" if ready else str(row.get("reason"))))
        _line(box, True, f"Devices: {', '.join(hello.get('devices') or []) or 'none reported'}")
    else:
        box.label(text="Localizers and devices: press Check backend", icon="QUESTION")
    job = runner.active_job()
    if isinstance(job, EnvironmentJob):
        row = box.row()
        row.progress(factor=job.fraction, text=f"{job.stage}: {job.setup.message}")
        row.operator("interactvlm.cancel_job", text="", icon="CANCEL")
    row = box.row()
    row.operator(INTERACTVLM_OT_setup_backend.bl_idname, text="Repair" if managed.present else "Set Up Backend",
                 icon="FILE_REFRESH" if managed.present else "IMPORT")
    row.operator("interactvlm.check_backend", icon="CHECKMARK")
    row.operator(INTERACTVLM_OT_remove_backend.bl_idname, text="Remove", icon="TRASH")
    row.operator(INTERACTVLM_OT_open_setup_log.bl_idname, text="Log", icon="TEXT")
    if not online_access() and not prefs.wheel_dir:
        box.label(text="Online access is off: allow it (System > Network) or set a Wheel folder", icon="INFO")
