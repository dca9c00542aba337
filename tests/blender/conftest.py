"""Real headless Blender (the bpy module) with the add-on registered, against a real backend worker.

The worker is the add-on's own subprocess (`python -m backend serve` in .venv) with the tests-only
localizer registered through INTERACTVLM_EXTRA_LOCALIZERS (inherited from this process's environment).
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(Path(__file__).resolve().parent))
from blender_helpers import LOCALIZER, RESOLUTION, add_body, clear_scene  # noqa: E402


@pytest.fixture(scope="session")
def bpy_module():
    # The add-on's worker inherits this process's environment; restored after the session.
    previous = os.environ.get("INTERACTVLM_EXTRA_LOCALIZERS")
    os.environ["INTERACTVLM_EXTRA_LOCALIZERS"] = "tests.testing_localizers"
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    import bpy

    yield bpy
    if previous is None:
        os.environ.pop("INTERACTVLM_EXTRA_LOCALIZERS", None)
    else:
        os.environ["INTERACTVLM_EXTRA_LOCALIZERS"] = previous


@pytest.fixture(scope="session")
def addon(bpy_module):
    import interactvlm_blender
    from interactvlm_blender import client, prefs

    interactvlm_blender.register()
    prefs.get_prefs().backend_python = str(ROOT / ".venv" / "bin" / "python")
    yield interactvlm_blender
    interactvlm_blender.unregister()
    assert client.current_worker() is None


@pytest.fixture()
def bpy(addon, bpy_module):
    """A clean scene per test (objects, meshes, images removed), add-on registered."""
    scene = bpy_module.context.scene
    scene.interactvlm.show_heat_map = False  # the user's shading back (a test's estimate showed the heat map)
    clear_scene(bpy_module)
    scene.interactvlm.localizer = LOCALIZER
    scene.interactvlm.resolution = RESOLUTION
    scene.interactvlm.threshold = 0.5
    yield bpy_module
    from interactvlm_blender import runner

    runner.discard_active()
    clear_scene(bpy_module)


@pytest.fixture(scope="session")
def fitted_blend(addon, bpy_module, tmp_path_factory):
    """A .blend with the add-on's test body ("Body") holding one default-localizer estimate of a
    standing person, whose fitted body the estimate kept; (path, the result's arrays). Run once per
    session (~7 s); tests open the file, so they also see what survives save and reopen."""
    from test_blender_addon import run_job

    bpy = bpy_module
    clear_scene(bpy)
    add_body(bpy)
    folder = tmp_path_factory.mktemp("fitted_blend")
    _report, arrays, _steps = run_job(bpy, ROOT / "tests" / "data" / "anny_stand.jpg", folder, localizer="default",
                                      masks=True)
    path = folder / "fitted.blend"
    bpy.ops.wm.save_as_mainfile(filepath=str(path), copy=True)
    clear_scene(bpy)
    return path, arrays
