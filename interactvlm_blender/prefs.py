"""Add-on preferences: where the backend runs and which model files it reads.

`get_prefs()` works both when Blender enabled the add-on (its AddonPreferences) and when the
package was registered directly by a script or test (then an unsaved in-memory copy with the same
fields and defaults, which callers may edit). What it returns reads through ENV_OVERRIDES: an
INTERACTVLM_* environment variable wins over the preference (farms: `blender -b` from factory
settings), and an empty Backend Python means the managed environment (Set Up Backend) when it exists.
"""
from __future__ import annotations

import os
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import bpy
from bpy.props import EnumProperty, StringProperty

from . import environment, managed, protocol

ADDON_ID = managed.ADDON_ID


def docs_url() -> str:
    """The manifest's website (beside __init__.py in the extension, the repository root in a source tree)."""
    import tomllib

    for folder in (managed.ADDON_DIR, managed.ADDON_DIR.parent):
        manifest = folder / "blender_manifest.toml"
        if manifest.is_file():
            try:
                return str(tomllib.loads(manifest.read_text(encoding="utf-8")).get("website", ""))
            except (OSError, ValueError):
                return ""
    return ""
_DEVICE_TEXT = {"auto": ("Auto", "CUDA when the backend sees a GPU, else the CPU"),
                "cpu": ("CPU", "Always run on the CPU"),
                "cuda": ("CUDA", "Run on the GPU; fails clearly when the backend has none")}
DEVICES = [(name, *_DEVICE_TEXT[name]) for name in protocol.DEVICES]


# preference -> environment variable that overrides it (documented in README, "Render farms")
ENV_OVERRIDES = {"backend_python": "INTERACTVLM_BACKEND_PYTHON", "backend_root": "INTERACTVLM_BACKEND_ROOT",
                 "checkpoint_dir": "INTERACTVLM_CHECKPOINT_DIR", "data_dir": "INTERACTVLM_DATA_DIR",
                 "smplx_dir": "INTERACTVLM_SMPLX_DIR", "wheel_dir": "INTERACTVLM_WHEEL_DIR"}
TORCH_BUILDS = [(key, label, text) for key, (label, text, _index) in environment.TORCH_BUILDS.items()]


def managed_python() -> str:
    """The environment made by `python build.py setup` when the add-on runs from the project tree."""
    root = managed.ADDON_DIR.parent
    for candidate in (environment.venv_python(root / ".venv", "posix"), environment.venv_python(root / ".venv", "nt")):
        if candidate.is_file() and (root / "backend").is_dir():
            return str(candidate)
    return ""


class InteractVLMPreferences(bpy.types.AddonPreferences):
    bl_idname = ADDON_ID

    backend_python: StringProperty(
        name="Backend Python",
        subtype="FILE_PATH",
        default=managed_python(),
        description="Python of the backend environment; empty: the managed environment made by Set Up Backend "
        "(developers: …/.venv/bin/python of `python build.py setup`). INTERACTVLM_BACKEND_PYTHON overrides it",
    )
    backend_root: StringProperty(
        name="Backend Folder", subtype="DIR_PATH", default="",
        description="Developer override: a project folder that contains backend/ (empty: the backend bundled "
                    "with the extension)")
    setup_python: StringProperty(
        name="Set-up Python", subtype="FILE_PATH", default="",
        description="Python 3.11 to build the managed environment from (empty: Blender's own when it is 3.11)")
    wheel_dir: StringProperty(
        name="Wheel Folder", subtype="DIR_PATH", default="",
        description="Install from this folder of wheels instead of the internet (made by "
                    "`python build.py wheelhouse DIR`); for studios without online access")
    torch_build: EnumProperty(name="Torch Build", items=TORCH_BUILDS, default="cpu",
                              description="Which torch build Set Up Backend installs (the pinned version)")
    device: EnumProperty(name="Device", items=DEVICES, default="auto",
                         description="Where the backend runs the localizer")
    checkpoint_dir: StringProperty(
        name="InteractVLM Checkpoint Folder",
        subtype="DIR_PATH",
        default="",
        description="Folder with the official InteractVLM weights (licence-gated; the 'interactvlm' localizer)",
    )
    smplx_dir: StringProperty(
        name="SMPL-X Model Folder", subtype="DIR_PATH", default="",
        description="Folder with SMPLX_NEUTRAL.npz (licence-gated; only for the SMPL-X body source)")

    def draw(self, context: bpy.types.Context) -> None:
        from . import setup_panel

        layout = self.layout
        if url := docs_url():
            layout.operator("wm.url_open", text="Documentation", icon="HELP").url = url
        setup_panel.draw_checklist(layout, Effective(self), ENV_OVERRIDES)
        for name in ("backend_python", "backend_root", "device", "checkpoint_dir", "smplx_dir"):
            row = layout.row()
            row.prop(self, name)
            if os.environ.get(ENV_OVERRIDES.get(name, "")):
                row.label(text=f"overridden by {ENV_OVERRIDES[name]}", icon="INFO")
        box = layout.box()
        box.label(text="Managed Environment Set-up", icon="PACKAGE")
        for name in ("torch_build", "wheel_dir", "setup_python"):
            box.prop(self, name)


_FALLBACK = SimpleNamespace(backend_python=managed_python(), backend_root="", device="auto", checkpoint_dir="",
                            smplx_dir="", setup_python="", wheel_dir="", torch_build="cpu")


class Effective:
    """The preferences as the add-on uses them: an INTERACTVLM_* variable overrides its preference, an
    empty Backend Python / Backend folder mean the managed environment and the bundled backend.
    Writes go to the preferences themselves."""

    def __init__(self, prefs: Any) -> None:
        object.__setattr__(self, "_prefs", prefs)

    def __getattr__(self, name: str) -> Any:
        override = os.environ.get(ENV_OVERRIDES.get(name, ""), "")
        if override:
            return override
        value = getattr(self._prefs, name, "")
        if value or name not in ("backend_python", "backend_root"):
            return value
        if name == "backend_python":
            made = managed.status()
            return made.python if made.present else ""
        found = managed.bundle()  # the installed extension's own copy; "" in a source tree (found from the Python)
        return str(found.root) if found is not None and found.root.name == "bundled" else ""

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(self._prefs, name, value)


def get_prefs(context: bpy.types.Context | None = None) -> Any:
    """The add-on's preferences (or the in-memory fallback when not enabled through Blender), read
    through Effective (environment variables, managed environment)."""
    context = context or bpy.context
    addon = context.preferences.addons.get(ADDON_ID)
    if addon is not None and addon.preferences is not None:
        return Effective(addon.preferences)
    return Effective(_FALLBACK)


def checkpoint_path(prefs: Any) -> str:
    """The InteractVLM checkpoint folder of the preferences as an absolute path ("" when unset)."""
    checkpoint = bpy.path.abspath(prefs.checkpoint_dir) if prefs.checkpoint_dir else ""
    return str(Path(checkpoint).resolve()) if checkpoint else ""


CLASSES = (InteractVLMPreferences,)
