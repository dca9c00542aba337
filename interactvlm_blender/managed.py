"""Where the add-on's managed backend environment lives and how it is doing (environment.py does the
work without bpy): the bundled backend, the extension's user folder, the status the checklist shows,
the set-up as a job on the add-on's runner, and the last `hello` answer (Check backend).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import bpy

from . import environment, runner

ADDON_ID = __package__ or "interactvlm_blender"
ADDON_DIR = Path(__file__).resolve().parent
LAST_HELLO: dict[str, Any] = {}  # the last `hello` event (ops_check fills it), for the checklist


def bundle() -> environment.Bundle | None:
    """The backend code shipped with the add-on (bundled/ in the extension, or the source tree)."""
    return environment.find_bundle(ADDON_DIR)


def environment_root(create: bool = False) -> Path:
    """The extension's user folder, home of the managed environment (kept across extension updates)."""
    if ADDON_ID.startswith("bl_ext."):
        return Path(bpy.utils.extension_path_user(ADDON_ID, path="", create=create))
    # registered from a source tree by a script or test: a folder of Blender's user config
    return Path(bpy.utils.user_resource("CONFIG", path="interactvlm", create=create))


def status() -> environment.EnvironmentStatus:
    return environment.status(environment_root(), bundle())


def online_access() -> bool:
    """Blender's "Allow Online Access" (bpy.app.online_access; the bpy module starts with it off)."""
    return bool(getattr(bpy.app, "online_access", True))


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
