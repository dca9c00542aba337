"""InteractVLM Contact: estimate body/object contact from a reference photo (Blender 4.2+ extension).

The add-on runs bpy + numpy only; the model runs in a separate backend process (`python -m backend
serve`, see backend/PROTOCOL.md) started on first use and stopped at unregister or exit. What each
module holds: README.md, "Layout". bpy is imported inside register()/unregister() only, so the
bpy-free modules (protocol, client, runner, naming, heat_map, ownership) import without Blender
(tests/).
"""
from __future__ import annotations

import atexit

from . import client, runner

_registered: list[type] = []


def _modules() -> tuple:
    # In registration order: ops_scene's sub-panel needs the main panel registered first.
    from . import (ops_batch, ops_check, ops_environment, ops_estimate, ops_job, ops_results, ops_scene, ops_threshold,
                   panel, prefs, props)

    return (prefs, props, ops_job, ops_estimate, ops_batch, ops_threshold, ops_check, ops_environment, ops_results,
            panel, ops_scene)


def _on_load_pre(*_args) -> None:
    # A running job belongs to the file being closed: stop it, its result has nowhere to go.
    runner.discard_active()


def _on_save_pre(*_args) -> None:
    # Mask images are generated data: pack them so the .blend keeps them.
    from . import results

    results.pack_mask_images()


def _shutdown() -> None:
    runner.discard_active()
    client.stop_worker()


def register() -> None:
    import bpy
    from bpy.app.handlers import persistent

    from . import ops_results, panel, props

    if _registered:  # registering twice without unregister would duplicate handlers
        return
    for module in _modules():
        for cls in getattr(module, "CLASSES", ()):
            bpy.utils.register_class(cls)
            _registered.append(cls)
    props.register_properties()
    panel.register_previews()
    ops_results.register_menus()
    # persistent() marks the functions themselves (handlers survive loading a file), so the same
    # objects can be removed again at unregister.
    bpy.app.handlers.load_pre.append(persistent(_on_load_pre))
    bpy.app.handlers.save_pre.append(persistent(_on_save_pre))
    atexit.register(_shutdown)


def unregister() -> None:
    import bpy

    from . import ops_results, panel, props

    _shutdown()
    atexit.unregister(_shutdown)
    for handlers, handler in ((bpy.app.handlers.load_pre, _on_load_pre), (bpy.app.handlers.save_pre, _on_save_pre)):
        if handler in handlers:
            handlers.remove(handler)
    if _registered:
        ops_results.unregister_menus()
    panel.unregister_previews()
    props.unregister_properties()
    for cls in reversed(_registered):
        bpy.utils.unregister_class(cls)
    _registered.clear()
