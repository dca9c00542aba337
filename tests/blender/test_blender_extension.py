"""The packaged extension: `build.py extension` -> Blender's validator -> installed and enabled by
Blender's own extension installer (in a throwaway user folder), run, disabled, and no worker left
behind at exit. Runs in a subprocess so BLENDER_USER_RESOURCES is set before bpy starts."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
VALIDATOR = "lib/python3.11/site-packages/bpy/*/scripts/addons_core/bl_pkg/cli/blender_ext.py"  # Blender's own

SCRIPT = r"""
import json, sys
import bpy
zip_path, python, photo = sys.argv[1:4]
out = {}
installed = bpy.ops.extensions.package_install_files(filepath=zip_path, repo="user_default", enable_on_install=True)
assert installed == {"FINISHED"}
module = "bl_ext.user_default.interactvlm"
addon = bpy.context.preferences.addons[module]
out["default_python"] = addon.preferences.backend_python  # outside the project tree: not set
addon.preferences.backend_python = python
client = sys.modules[module + ".client"]
assert bpy.ops.interactvlm.check_backend() == {"FINISHED"}
out["report"] = bpy.context.window_manager.interactvlm_status.backend_report
out["pid1"] = client.current_worker().pid
bpy.ops.mesh.primitive_uv_sphere_add(segments=16, ring_count=8)
bpy.context.active_object.name = "Body"
out["estimate"] = sorted(bpy.ops.interactvlm.estimate_contact(image=photo, body="Body", localizer="testing-lowest",
                                                              resolution=64))
out["groups"] = [g.name for g in bpy.data.objects["Body"].vertex_groups]
bpy.ops.preferences.addon_disable(module=module)
out["disabled_has_op"] = hasattr(bpy.types, "INTERACTVLM_OT_estimate_contact")
out["scene_prop_after_disable"] = hasattr(bpy.types.Scene, "interactvlm")
bpy.ops.preferences.addon_enable(module=module)
bpy.context.preferences.addons[module].preferences.backend_python = python
assert bpy.ops.interactvlm.check_backend() == {"FINISHED"}
out["pid2"] = sys.modules[module + ".client"].current_worker().pid
print("RESULT " + json.dumps(out))
# exit without disabling: atexit must stop the worker
"""


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    status = Path(f"/proc/{pid}/stat")
    return not (status.exists() and status.read_text().split()[2] == "Z")


def test_extension_zip_validates_installs_and_cleans_up(tmp_path, photo):
    python = ROOT / ".venv" / "bin" / "python"
    built = subprocess.run(
        [sys.executable, str(ROOT / "build.py"), "extension"], cwd=ROOT, capture_output=True, text=True
    )
    assert built.returncode == 0, built.stderr
    zip_path = ROOT / "dist" / "interactvlm-0.1.0.zip"
    (validator,) = (ROOT / ".venv").glob(VALIDATOR)
    checked = subprocess.run([str(python), str(validator), "validate", str(zip_path)], capture_output=True, text=True)
    assert checked.returncode == 0 and "Success" in checked.stdout, checked.stdout + checked.stderr

    env = dict(os.environ, BLENDER_USER_RESOURCES=str(tmp_path / "blender_user"),
               INTERACTVLM_EXTRA_LOCALIZERS="tests.testing_localizers", PYTHONPATH=str(ROOT))
    run = subprocess.run([str(python), "-c", SCRIPT, str(zip_path), str(python), str(photo)], env=env,
                         cwd=tmp_path, capture_output=True, text=True, timeout=120)
    lines = [line for line in run.stdout.splitlines() if line.startswith("RESULT ")]
    assert run.returncode == 0 and lines, run.stdout[-3000:] + run.stderr[-3000:]
    out = json.loads(lines[-1][len("RESULT "):])
    assert out["default_python"] == ""
    assert "protocol 1" in out["report"] and "testing-lowest: ready" in out["report"]
    assert out["estimate"] == ["FINISHED"] and out["groups"] == ["Contact"]
    assert not out["disabled_has_op"] and not out["scene_prop_after_disable"]
    assert not alive(out["pid1"])  # stopped when the add-on was disabled
    deadline = time.monotonic() + 5
    while alive(out["pid2"]) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not alive(out["pid2"])  # stopped by atexit when Blender's Python exited
