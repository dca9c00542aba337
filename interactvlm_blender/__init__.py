"""InteractVLM Contact: estimate body/object contact from a reference photo (Blender 4.2+ extension).

The add-on runs bpy + numpy only; the model runs in a separate backend process (`python -m backend
serve`, see backend/PROTOCOL.md) started on first use and stopped at unregister or exit.
Modules: prefs (preferences), props (scene settings, job status), client (the worker), mesh_io
(mesh arrays), job (one estimate), results (writing onto meshes), ops_* (operators), panel (UI),
api (scripting helpers); scene_jobs and ops_scene do scene contact and placement the same way
(backend_job and modal_ui hold what both kinds of job share).
"""
from __future__ import annotations

import atexit

import bpy
from bpy.app.handlers import persistent

from . import client, ops_check, ops_estimate, ops_scene, ops_threshold, panel, prefs, props

# In registration order: ops_scene's sub-panel needs the main panel registered first.
_MODULES = (prefs, props, ops_estimate, ops_threshold, ops_check, panel, ops_scene)
_registered: list[type] = []


def _discard_jobs() -> None:
    ops_estimate.discard_active()
    ops_scene.discard_active()


@persistent
def _on_load_pre(*_args) -> None:
    # A running job belongs to the file being closed: stop it, its result has nowhere to go.
    _discard_jobs()


@persistent
def _on_save_pre(*_args) -> None:
    # Mask images are generated data: pack them so the .blend keeps them.
    from . import results

    results.pack_mask_images()


def _shutdown() -> None:
    _discard_jobs()
    client.stop_worker()


def register() -> None:
    if _registered:  # registering twice without unregister would duplicate handlers
        return
    for module in _MODULES:
        for cls in getattr(module, "CLASSES", ()):
            bpy.utils.register_class(cls)
            _registered.append(cls)
    props.register_properties()
    panel.register_previews()
    bpy.app.handlers.load_pre.append(_on_load_pre)
    bpy.app.handlers.save_pre.append(_on_save_pre)
    atexit.register(_shutdown)


def unregister() -> None:
    _shutdown()
    atexit.unregister(_shutdown)
    for handlers, handler in ((bpy.app.handlers.load_pre, _on_load_pre), (bpy.app.handlers.save_pre, _on_save_pre)):
        if handler in handlers:
            handlers.remove(handler)
    panel.unregister_previews()
    props.unregister_properties()
    for cls in reversed(_registered):
        bpy.utils.unregister_class(cls)
    _registered.clear()
