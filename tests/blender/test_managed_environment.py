"""The extension from its zip alone, as an artist gets it: Blender's installer in an isolated user
configuration, Set Up Backend from a wheel folder made by `build.py wheelhouse` with online access
off, then Estimate with the default localizer through that managed environment; and the environment
used outside Blender (its Python and the `interactvlm-backend` command, from a folder outside the
repository).

The environment is built once per test run (the module fixture: about 1 min for the wheel folder and
3 min for pip on 2 loaded cores, measured) and shared by every test here. Blender runs in a
subprocess so BLENDER_USER_* are set before bpy starts; PYTHONPATH and INTERACTVLM_EXTRA_LOCALIZERS
are cleared, so nothing of this repository is importable there except through the zip.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
PHOTO = ROOT / "examples" / "sit_on_box.png"
EXAMPLE = ROOT / "examples" / "sit_on_box.npz"
MODULE = "bl_ext.user_default.interactvlm"

SCRIPT = r"""
import dataclasses, json, subprocess, sys, time
from pathlib import Path
import bpy
import numpy as np

zip_path, wheels, body_npz, photo, scratch = sys.argv[1:6]
module = "bl_ext.user_default.interactvlm"
out = {}
installed = bpy.ops.extensions.package_install_files(filepath=zip_path, repo="user_default", enable_on_install=True)
assert installed == {"FINISHED"}
names = ("runner", "environment", "ops_environment", "prefs", "managed")
mods = {name: sys.modules[f"{module}.{name}"] for name in names}
prefs = bpy.context.preferences.addons[module].preferences
prefs.torch_build = "index"  # the configured package index's torch (no download.pytorch.org here)
root = mods["managed"].environment_root()
out["root"], out["bundle"], out["online"] = str(root), str(mods["managed"].bundle().root), bpy.app.online_access

def listing():
    return sorted(p.name for p in root.iterdir()) if root.exists() else []

def envs():
    return sorted(p.name for p in (root / "envs").iterdir()) if (root / "envs").exists() else []

# 1. online access off (the bpy module's default) and no wheel folder: a clear refusal, nothing made
try:  # from a script, an operator that reports an error raises it
    out["offline"] = sorted(bpy.ops.interactvlm.setup_backend())
except RuntimeError as error:
    out["offline"] = str(error)
out["offline_listing"] = listing()

# 2. a set-up cancelled through the job runner while pip runs: nothing half-made is used
prefs.wheel_dir = wheels
run = mods["runner"].start(lambda: mods["ops_environment"].make_setup_job(bpy.context))
deadline = time.monotonic() + 120
while run.job.stage in ("queued", "python") and time.monotonic() < deadline:
    run.step()
    time.sleep(0.05)
out["cancel_stage"] = run.job.stage
out["cancel_requested"] = mods["runner"].cancel_active()
while not run.step():
    time.sleep(0.05)
out["cancelled_state"], out["cancelled_message"] = run.job.state, run.job.message
out["after_cancel"] = {"listing": listing(), "envs": envs(), "slot_free": mods["runner"].active_job() is None,
                       "status": dataclasses.asdict(mods["managed"].status())}

# 3. the real set-up, blocking as from a script, online access still off: the wheel folder alone
started = time.monotonic()
out["setup"] = sorted(bpy.ops.interactvlm.setup_backend())
out["setup_s"] = round(time.monotonic() - started, 1)
status = mods["managed"].status()
out["status"] = dataclasses.asdict(status)
out["envs"] = envs()
out["effective_python"] = mods["prefs"].get_prefs().backend_python
out["pyvenv"] = (Path(status.path) / "pyvenv.cfg").read_text()
# find_spec locates torch without compiling it; the probe itself may not write bytecode
probe = subprocess.run([status.python, "-c", "import sys, json, os, importlib.util as u; print(json.dumps([sys.path, "
                        "os.path.exists(u.cache_from_source(u.find_spec('torch').origin))]))"], cwd=scratch,
                       capture_output=True, text=True, env={**mods["environment"].clean_env(),
                                                            "PYTHONDONTWRITEBYTECODE": "1"})
out["sys_path"], out["torch_bytecode"] = json.loads(probe.stdout)

# 4. Check backend, then Estimate with the default localizer on the bundled photo
out["check"] = sorted(bpy.ops.interactvlm.check_backend())
out["hello"] = dict(mods["managed"].LAST_HELLO)
data = np.load(body_npz)
mesh = bpy.data.meshes.new("Body")
mesh.from_pydata(data["vertices"].tolist(), [], data["faces"].tolist())
body = bpy.data.objects.new("Body", mesh)
bpy.context.scene.collection.objects.link(body)
started = time.monotonic()
out["estimate"] = sorted(bpy.ops.interactvlm.estimate_contact(image=photo, body="Body", localizer="default"))
out["estimate_s"] = round(time.monotonic() - started, 1)
out["groups"] = [g.name for g in body.vertex_groups]
scores = np.zeros(len(mesh.vertices), np.float32)
mesh.attributes["ivlm_contact"].data.foreach_get("value", scores)
out["contact"] = np.flatnonzero(scores >= 0.5).tolist()
print("RESULT " + json.dumps(out))
"""


def _isolated_env(tmp: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "INTERACTVLM_EXTRA_LOCALIZERS")}
    env["PYTHONDONTWRITEBYTECODE"] = "1"  # as in containers: the set-up must still leave torch's bytecode
    for name in ("CONFIG", "SCRIPTS", "EXTENSIONS"):
        env[f"BLENDER_USER_{name}"] = str(tmp / f"user_{name.lower()}")
    return env


@pytest.fixture(scope="module")
def managed(tmp_path_factory, anny_body):
    """Zip built, wheel folder written, extension installed and its environment set up (once)."""
    tmp = tmp_path_factory.mktemp("managed")
    built = subprocess.run(
        [sys.executable, str(ROOT / "build.py"), "extension"], cwd=ROOT, capture_output=True, text=True
    )
    assert built.returncode == 0, built.stderr
    wheels = tmp / "wheels"
    made = subprocess.run([sys.executable, str(ROOT / "build.py"), "wheelhouse", str(wheels), "--torch", "index"],
                          cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert made.returncode == 0, made.stdout[-2000:] + made.stderr[-2000:]
    example = np.load(EXAMPLE)
    body_npz = tmp / "body.npz"
    np.savez(body_npz, vertices=example["body_vertices"], faces=anny_body.faces)  # the photographed pose
    scratch = tmp / "scratch"
    scratch.mkdir()
    run = subprocess.run([sys.executable, "-c", SCRIPT, str(ROOT / "dist" / "interactvlm-0.1.0.zip"), str(wheels),
                          str(body_npz), str(PHOTO), str(scratch)], env=_isolated_env(tmp), cwd=scratch,
                         capture_output=True, text=True, timeout=900)
    lines = [line for line in run.stdout.splitlines() if line.startswith("RESULT ")]
    assert run.returncode == 0 and lines, run.stdout[-4000:] + run.stderr[-4000:]
    out = json.loads(lines[-1][len("RESULT "):])
    out["log"], out["tmp"], out["scratch"] = run.stdout + run.stderr, tmp, scratch
    out["ext_dir"] = tmp / "user_extensions" / "user_default" / "interactvlm"
    return out


def test_offline_without_a_wheel_folder_is_refused_and_nothing_is_made(managed):
    assert managed["online"] is False  # the bpy module starts with online access off
    refusal = managed["offline"]
    assert "online access is off" in refusal and "Allow Online Access" in refusal and "Wheel folder" in refusal
    assert "build.py wheelhouse" in refusal
    assert managed["offline_listing"] == []  # nothing made (not even the user folder's envs/ or logs/)


def test_a_cancelled_set_up_leaves_nothing_half_made_in_use(managed):
    assert managed["cancel_stage"] == "packages" and managed["cancel_requested"]  # cancelled while pip ran
    assert managed["cancelled_state"] == "cancelled" and "nothing was changed" in managed["cancelled_message"]
    after = managed["after_cancel"]
    assert after["envs"] == [] and "environment.json" not in after["listing"] and after["slot_free"]
    assert not after["status"]["present"]
    assert sorted(after["listing"]) == ["envs", "logs"]  # the log of the cancelled set-up is kept


def test_set_up_from_a_wheel_folder_makes_the_managed_environment_in_the_extensions_folder(managed):
    root, ext_dir = Path(managed["root"]), managed["ext_dir"]
    assert managed["setup"] == ["FINISHED"], managed["log"][-3000:]
    status = managed["status"]
    assert status["present"] and not status["stale"] and status["python_version"].startswith("3.11")
    assert status["torch"].startswith("2.13.0") and len(managed["envs"]) == 1
    assert root == managed["tmp"] / "user_extensions" / ".user" / "user_default" / "interactvlm"
    assert Path(status["python"]).is_relative_to(root) and managed["effective_python"] == status["python"]
    assert Path(managed["bundle"]) == ext_dir / "bundled"
    assert str(root) in managed["pyvenv"] and str(ROOT) not in managed["pyvenv"]
    site = [p for p in managed["sys_path"] if "site-packages" in p]
    assert site and all(Path(p).is_relative_to(root) for p in site)
    assert not any(p.startswith(str(ROOT)) for p in managed["sys_path"])
    assert managed["torch_bytecode"]  # the verify step cached it: a backend start does not compile torch again
    print(f"set-up from the wheel folder: {managed['setup_s']} s")


def test_estimate_runs_the_default_localizer_through_the_managed_environment(managed):
    hello = managed["hello"]
    assert managed["check"] == ["FINISHED"]
    assert Path(hello["executable"]).is_relative_to(Path(managed["root"]))
    assert Path(hello["backend_path"]) == managed["ext_dir"] / "bundled" / "backend"  # the zip's copy
    assert {row["name"]: row["available"] for row in hello["localizers"]}["default"]
    assert managed["estimate"] == ["FINISHED"], managed["log"][-3000:]
    assert managed["groups"] == ["Contact"]
    truth = np.flatnonzero(np.load(EXAMPLE)["body_contact"])
    predicted = np.asarray(managed["contact"])
    tp = np.intersect1d(predicted, truth).size
    f1 = 2 * tp / (predicted.size + truth.size)
    assert f1 > 0.3, f1  # the demo's scene and photo: body F1 about 0.54
    print(f"estimate through the managed environment: {managed['estimate_s']} s, F1 {f1:.2f}")


def _python(managed) -> Path:
    return Path(managed["status"]["python"])


def _outside_env() -> dict[str, str]:
    """This process's environment without what points into the repository (build.py test sets PYTHONPATH)."""
    return {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "INTERACTVLM_EXTRA_LOCALIZERS")}


def _run_outside(managed, argv: list[str], out: Path) -> subprocess.CompletedProcess:
    return subprocess.run([*argv, "estimate", "--image", str(PHOTO), "--body", "anny", "--out", str(out)],
                          cwd=managed["scratch"], env=_outside_env(), capture_output=True, text=True, timeout=600)


@pytest.mark.parametrize("how", ["python -m backend", "interactvlm-backend"])
def test_estimate_outside_blender_and_the_repository_with_the_lean_environment(managed, how):
    python = _python(managed)
    argv = (
        [str(python), "-m", "backend"] if how == "python -m backend" else [str(python.parent / "interactvlm-backend")]
    )
    out = managed["scratch"] / how.replace(" ", "_")
    done = _run_outside(managed, argv, out)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    summary = json.loads((out / "sit_on_box.json").read_text())
    assert summary["contact_vertices"] > 0
    where = subprocess.run([str(python), "-c", "import backend; print(backend.__file__)"], cwd=managed["scratch"],
                           env=_outside_env(), capture_output=True, text=True)
    assert Path(where.stdout.strip()).is_relative_to(Path(managed["root"]))  # its own copy, not the repository's


def test_the_managed_environment_is_lean(managed):
    python = str(_python(managed))
    for name in ("pytest", "bpy", "jax", "jaxlib", "ray"):
        probe = subprocess.run([python, "-c", f"import {name}"], cwd=managed["scratch"], env=_outside_env(),
                               capture_output=True, text=True)
        assert probe.returncode != 0 and "No module named" in probe.stderr, name
