"""The managed environment's set-up job (interactvlm_blender/environment.py, no bpy): what it refuses
before creating anything, and that a failed or cancelled set-up leaves nothing half-made in use. The
full set-up (pip from a wheel folder, then a real estimate) is tests/blender/test_managed_environment.py."""
from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "interactvlm_blender"))
import environment  # noqa: E402  (bpy-free; loaded as build.py loads it)


@pytest.fixture()
def bundle() -> environment.Bundle:
    found = environment.find_bundle(ROOT / "interactvlm_blender")  # the source tree's copy
    assert found is not None and found.root == ROOT
    return found


def _drive(job: environment.SetupJob, until=lambda job: job.finished, timeout_s: float = 120.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not until(job):
        assert time.monotonic() < deadline, (job.stage, job.message)
        job.tick()
        time.sleep(0.05)


def test_offline_without_a_wheel_folder_is_refused_before_anything_is_made(tmp_path, bundle):
    root = tmp_path / "user"
    with pytest.raises(environment.SetupError, match="Allow Online Access.*Wheel folder"):
        environment.SetupJob(root, bundle, online=False)
    assert not root.exists()


def test_missing_wheel_folder_too_little_disk_and_no_bundle_are_refused(tmp_path, bundle):
    root = tmp_path / "user"
    with pytest.raises(environment.SetupError, match="wheel folder .* does not exist"):
        environment.SetupJob(root, bundle, wheel_dir=str(tmp_path / "nowhere"))
    with pytest.raises(environment.SetupError, match="needs about 1000000000.0 GB free"):
        environment.SetupJob(root, bundle, required_free_bytes=10**18)
    assert not (root / "envs").exists() and not (root / environment.POINTER).exists()
    with pytest.raises(environment.SetupError, match="not bundled"):
        environment.SetupJob(root, None)


def test_a_folder_or_a_program_that_is_not_python_is_named(tmp_path):
    with pytest.raises(environment.SetupError, match="a folder, not a Python executable"):
        environment.find_python(str(tmp_path))
    with pytest.raises(environment.SetupError, match="not a Python that runs"):
        environment.find_python("/bin/false")
    assert environment.find_python(sys.executable) == sys.executable  # this suite runs on 3.11


def test_pip_options_follow_the_wheel_folder_and_the_torch_build():
    assert environment.pip_index_args("/wheels", "cuda") == ["--no-index", "--find-links", "/wheels"]
    assert environment.pip_index_args("", "cpu", "linux") == ["--extra-index-url", "https://download.pytorch.org/whl/cpu"]
    assert environment.pip_index_args("", "cuda", "linux") == []  # PyPI's Linux wheel is the CUDA build
    assert environment.pip_index_args("", "index", "win32") == []
    with pytest.raises(environment.SetupError, match="unknown torch build"):
        environment.pip_index_args("", "rocm")


def test_a_failed_set_up_removes_its_environment_and_keeps_the_one_in_use(tmp_path, bundle):
    root = tmp_path / "user"
    (root / "envs" / "env-in-use" / "bin").mkdir(parents=True)
    pointer = {"name": "env-in-use", "requirements_sha256": bundle.digest(), "python": "3.11.7", "torch": "2.13.0"}
    (root / environment.POINTER).write_text(json.dumps(pointer))
    empty_wheels = tmp_path / "wheels"
    empty_wheels.mkdir()  # pip --no-index finds nothing there: the packages step fails
    job = environment.SetupJob(root, bundle, wheel_dir=str(empty_wheels))
    _drive(job)
    assert job.state == environment.FAILED and "packages step failed" in job.message
    assert str(job.log_path) in job.message and "No matching distribution" in job.log_path.read_text()
    assert not job.env_dir.exists()
    assert json.loads((root / environment.POINTER).read_text()) == pointer
    assert sorted(p.name for p in (root / "envs").iterdir()) == ["env-in-use"]


def test_a_cancelled_set_up_kills_its_step_and_removes_its_environment(tmp_path, bundle):
    root = tmp_path / "user"
    job = environment.SetupJob(root, bundle, wheel_dir=str(tmp_path))
    _drive(job, until=lambda job: job._process is not None)  # the venv step is running
    process = job._process
    job.cancel()
    assert job.state == environment.CANCELLED and process.poll() is not None
    assert not job.env_dir.exists() and not (root / environment.POINTER).exists()
    assert environment.status(root, bundle).problem.startswith("no managed environment")


def test_status_reports_a_stale_environment(tmp_path, bundle):
    root = tmp_path / "user"
    python = environment.venv_python(root / "envs" / "env-a")
    python.parent.mkdir(parents=True)
    python.write_text("")
    (root / environment.POINTER).write_text(json.dumps({"name": "env-a", "requirements_sha256": "old",
                                                        "python": "3.11.7", "torch": "2.13.0+cpu"}))
    info = environment.status(root, bundle)
    assert info.present and info.stale and "Repair" in info.problem and info.torch == "2.13.0+cpu"
    environment.remove_environment(root)
    assert not environment.status(root, bundle).present and not (root / "envs").exists()
