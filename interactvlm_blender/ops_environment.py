"""`interactvlm.setup_backend` (Set Up Backend / Repair) and `interactvlm.remove_backend`: the managed
environment (environment.py) made from the preferences, a job on the add-on's one runner like any other.

Set-up respects Blender's "Allow Online Access": without it, only a wheel folder can be used.
From a script or `blender -b` the operator blocks and reports (ops_job.JobOperator).
"""
from __future__ import annotations

from typing import Iterable

import bpy

from . import client, environment, runner
from .managed import EnvironmentJob, bundle, environment_root, online_access
from .ops_job import JobOperator, tell
from .prefs import get_prefs


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
    """Create or repair the backend's own Python environment and install its pinned packages (about 2 GB)"""

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
        tell(self, "INFO", "InteractVLM: the managed backend environment was removed")
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


CLASSES = (INTERACTVLM_OT_setup_backend, INTERACTVLM_OT_remove_backend, INTERACTVLM_OT_open_setup_log)

