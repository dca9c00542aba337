"""Add-on preferences: where the backend runs and which model files it reads.

`get_prefs()` works both when Blender enabled the add-on (its AddonPreferences) and when the
package was registered directly by a script or test (then an unsaved in-memory copy with the same
fields and defaults, which callers may edit).
"""
from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import bpy
from bpy.props import EnumProperty, StringProperty

from . import protocol

ADDON_ID = __package__ or "interactvlm_blender"
_DEVICE_TEXT = {"auto": ("Auto", "CUDA when the backend sees a GPU, else the CPU"),
                "cpu": ("CPU", "Always run on the CPU"),
                "cuda": ("CUDA", "Run on the GPU; fails clearly when the backend has none")}
DEVICES = [(name, *_DEVICE_TEXT[name]) for name in protocol.DEVICES]


def managed_python() -> str:
    """The environment made by `python build.py setup` when the add-on runs from the project tree."""
    root = Path(__file__).resolve().parents[1]
    for candidate in (root / ".venv" / "bin" / "python", root / ".venv" / "Scripts" / "python.exe"):
        if candidate.is_file() and (root / "backend").is_dir():
            return str(candidate)
    return ""


class InteractVLMPreferences(bpy.types.AddonPreferences):
    bl_idname = ADDON_ID

    backend_python: StringProperty(
        name="Backend Python", subtype="FILE_PATH", default=managed_python(),
        description="Python of the backend environment (made by `python build.py setup`: …/.venv/bin/python)")
    backend_root: StringProperty(
        name="Backend folder", subtype="DIR_PATH", default="",
        description="Project folder that contains backend/ (empty: found from the Backend Python's location)")
    device: EnumProperty(name="Device", items=DEVICES, default="auto",
                         description="Where the backend runs the localizer")
    checkpoint_dir: StringProperty(
        name="InteractVLM checkpoint folder",
        subtype="DIR_PATH",
        default="",
        description="Folder with the official InteractVLM weights (licence-gated; the 'interactvlm' localizer)",
    )
    smplx_dir: StringProperty(
        name="SMPL-X model folder", subtype="DIR_PATH", default="",
        description="Folder with SMPLX_NEUTRAL.npz (licence-gated; only for the SMPL-X body source)")

    def draw(self, context: bpy.types.Context) -> None:
        layout = self.layout
        for name in ("backend_python", "backend_root", "device", "checkpoint_dir", "smplx_dir"):
            layout.prop(self, name)
        row = layout.row()
        row.operator("interactvlm.check_backend", icon="CHECKMARK")
        status = getattr(context.window_manager, "interactvlm_status", None)
        if status is not None and status.backend_report:
            box = layout.box()
            for line in status.backend_report.splitlines():
                box.label(text=line)


_FALLBACK = SimpleNamespace(backend_python=managed_python(), backend_root="", device="auto",
                            checkpoint_dir="", smplx_dir="")


def get_prefs(context: bpy.types.Context | None = None) -> Any:
    """The add-on's preferences (or the in-memory fallback when not enabled through Blender)."""
    context = context or bpy.context
    addon = context.preferences.addons.get(ADDON_ID)
    if addon is not None and addon.preferences is not None:
        return addon.preferences
    return _FALLBACK


def checkpoint_path(prefs: Any) -> str:
    """The InteractVLM checkpoint folder of the preferences as an absolute path ("" when unset)."""
    checkpoint = bpy.path.abspath(prefs.checkpoint_dir) if prefs.checkpoint_dir else ""
    return str(Path(checkpoint).resolve()) if checkpoint else ""


CLASSES = (InteractVLMPreferences,)
