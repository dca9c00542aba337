"""Packaging: the extension zip's contents, one version everywhere, the split requirement files, and
build.py's portable parts (the lock without fcntl, venv paths on Windows)."""
from __future__ import annotations

import importlib.util
import subprocess
import sys
import threading
import time
import tomllib
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _load_build(monkeypatch=None, block_fcntl: bool = False):
    """build.py as a fresh module; with block_fcntl, as on Windows (importing fcntl fails)."""
    if block_fcntl:
        monkeypatch.setitem(sys.modules, "fcntl", None)  # `import fcntl` raises ImportError, as on Windows
    spec = importlib.util.spec_from_file_location("build_under_test", ROOT / "build.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _repo_files(folder: str) -> set[str]:
    return {path.relative_to(ROOT).as_posix() for path in (ROOT / folder).rglob("*")
            if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc"}


def _requirement_names(path: Path) -> set[str]:
    names = set()
    for line in path.read_text().splitlines():
        line = line.split("#")[0].strip()
        if line and not line.startswith("-"):
            names.add(line.split("==")[0].strip().lower())
    return names


def test_extension_zip_holds_the_addon_and_the_backend_and_nothing_else():
    built = subprocess.run([sys.executable, str(ROOT / "build.py"), "extension"], cwd=ROOT, capture_output=True,
                           text=True)
    assert built.returncode == 0, built.stderr
    assert " MB)" in built.stdout  # prints its size
    with zipfile.ZipFile(ROOT / "dist" / "interactvlm-0.1.0.zip") as archive:
        names = set(archive.namelist())
        bundled_requirements = archive.read("bundled/requirements.txt")
    addon = {name.removeprefix("interactvlm_blender/") for name in _repo_files("interactvlm_blender")}
    backend = {f"bundled/{name}" for name in _repo_files("backend")}
    expected = {"blender_manifest.toml", *addon, *backend, "bundled/pyproject.toml", "bundled/requirements.txt",
                "bundled/requirements-nodeps.txt"}
    assert names == expected, (sorted(names - expected), sorted(expected - names))
    assert "bundled/backend/__main__.py" in names and "environment.py" in names
    assert not any(part in name for name in names for part in ("tests/", "bench/", ".venv", "__pycache__", ".pyc"))
    assert bundled_requirements == (ROOT / "requirements.txt").read_bytes()


def test_one_version_in_manifest_pyproject_and_backend():
    manifest = tomllib.loads((ROOT / "blender_manifest.toml").read_text())
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    import backend

    assert manifest["version"] == project["version"] == backend.__version__
    assert project["name"] == "interactvlm-backend"
    assert project["scripts"]["interactvlm-backend"] == "backend.__main__:main"
    assert "network" in manifest["permissions"] and manifest["website"] and manifest["copyright"]


def test_runtime_requirements_leave_out_what_only_development_uses():
    runtime = _requirement_names(ROOT / "requirements.txt") | _requirement_names(ROOT / "requirements-nodeps.txt")
    dev = _requirement_names(ROOT / "requirements-dev.txt")
    assert {"torch", "mediapipe", "numpy", "anny"} <= runtime
    assert not runtime & {"bpy", "pytest", "ray", "jax", "jaxlib"}
    assert {"bpy", "pytest"} <= dev and not dev & runtime  # dev adds, never re-pins
    assert "-r requirements.txt" in (ROOT / "requirements-dev.txt").read_text()
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert project["tool"]["setuptools"]["dynamic"]["dependencies"]["file"] == ["requirements.txt",
                                                                               "requirements-nodeps.txt"]
    assert list(project["project"]["optional-dependencies"]) == ["ray"]


def test_build_py_imports_and_locks_without_fcntl(monkeypatch, tmp_path):
    build = _load_build(monkeypatch, block_fcntl=True)
    lock = tmp_path / "setup.lock"
    order: list[str] = []
    holding = threading.Event()

    def first():
        with build.setup_lock(lock):
            order.append("first in")
            holding.set()
            time.sleep(0.5)
            order.append("first out")

    def second():
        holding.wait(5)
        with build.setup_lock(lock):
            order.append("second in")

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert order == ["first in", "first out", "second in"]
    assert not (tmp_path / "setup.lock.excl").exists()  # released
    assert not lock.exists()  # the fcntl lock file is never made on that path


def test_build_py_lock_names_a_lock_left_behind(monkeypatch, tmp_path, capsys):
    build = _load_build(monkeypatch, block_fcntl=True)
    left = tmp_path / "setup.lock.excl"
    left.write_text("12345")  # a set-up killed while holding it
    with pytest.raises(SystemExit):
        with build.exclusive_file_lock(left, wait_s=0.3, interval_s=0.05):
            pass
    assert str(left) in capsys.readouterr().err and left.exists()


def test_venv_python_paths_on_windows_and_posix():
    from interactvlm_blender import environment

    assert environment.venv_python(Path("env"), "nt") == Path("env") / "Scripts" / "python.exe"
    assert environment.venv_python(Path("env"), "posix") == Path("env") / "bin" / "python"
    from interactvlm_blender.client import guess_root

    assert guess_root(str(ROOT / ".venv" / "Scripts" / "python.exe")) == str(ROOT)
    assert guess_root(str(ROOT / ".venv" / "bin" / "python")) == str(ROOT)
