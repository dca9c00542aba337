#!/usr/bin/env python3
"""Project tasks, standard library only.

    python build.py setup           create/refresh .venv/: runtime + dev pins, the backend (editable)
    python build.py demo            run the main job on the embedded default, outputs in demo_out/
    python build.py test            set up if needed, then run the test suite
    python build.py extension       build the installable Blender extension zip (with the backend) into dist/
    python build.py wheelhouse DIR  download the runtime wheels into DIR (for set-up without internet)

Runs on Linux, macOS and Windows (nothing POSIX-only at module level).
"""
from __future__ import annotations

import argparse
import contextlib
import hashlib
import importlib.util
import os
import subprocess
import sys
import time
import tomllib
import venv
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
REQUIREMENTS = ROOT / "requirements.txt"       # runtime pins (what the extension bundles)
NODEPS = ROOT / "requirements-nodeps.txt"      # installed with --no-deps after them
DEV_REQUIREMENTS = ROOT / "requirements-dev.txt"  # -r requirements.txt + test/demo-only packages
STAMP = VENV / ".requirements.sha256"
REQUIRED_PYTHON = (3, 11)
# Part of the stamp: a change to what set-up does after pip (the bytecode step) redoes the set-up.
SETUP_STEPS = "pip, then bytecode"
# Byte-compile the environment once. pip runs with --no-compile (the add-on's set-up shares its steps) and
# on machines with PYTHONDONTWRITEBYTECODE set (this one, many containers) Python never caches what it compiles, so
# every test process that imports torch + transformers compiled them again: 22 s -> 7.5 s per process.
BYTECODE = ("import compileall, sysconfig; "
            "compileall.compile_dir(sysconfig.get_paths()['purelib'], quiet=2, workers=0)")
LOCK_WAIT_S = 1800.0  # a first set-up takes minutes; a lock older than a wait this long is reported
# What the extension zip carries besides the add-on package: the backend and its pins, under bundled/.
BUNDLED_FILES = ("pyproject.toml", "requirements.txt", "requirements-nodeps.txt")


def fail(message: str) -> None:
    print(f"build.py: {message}", file=sys.stderr)
    raise SystemExit(1)


def venv_python() -> Path:
    return VENV / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def environment_module():
    """interactvlm_blender/environment.py loaded by path (the add-on package itself needs bpy): the one
    home of the pip steps and index options, shared by the add-on's set-up and this script."""
    spec = importlib.util.spec_from_file_location("_ivlm_environment", ROOT / "interactvlm_blender" / "environment.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module


def requirements_digest() -> str:
    sha = hashlib.sha256(SETUP_STEPS.encode() + b"\0")
    for path in (REQUIREMENTS, NODEPS, DEV_REQUIREMENTS, ROOT / "pyproject.toml"):
        sha.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return sha.hexdigest()


@contextlib.contextmanager
def setup_lock(path: Path | None = None):
    """Serialise concurrent set-ups (two test runs started at once must not run pip together):
    fcntl.flock where it exists (POSIX), else a lock file created exclusively (any OS, Windows)."""
    path = path or ROOT / ".venv.lock"
    try:
        import fcntl
    except ImportError:
        fcntl = None
    if fcntl is not None:
        with open(path, "w") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            yield
        return
    with exclusive_file_lock(path.with_name(path.name + ".excl")):
        yield


@contextlib.contextmanager
def exclusive_file_lock(path: Path, wait_s: float = LOCK_WAIT_S, interval_s: float = 0.2):
    """Hold `path`, created with O_EXCL (atomic everywhere), until the block ends; wait while another
    holder has it. A holder killed without cleaning up leaves the file: after wait_s, say which to remove."""
    deadline = time.monotonic() + wait_s
    announced = False
    while True:
        try:
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
            break
        except FileExistsError:
            if time.monotonic() > deadline:
                fail(f"another set-up has held {path} for {wait_s:.0f} s; if none is running, delete that file")
            if not announced:
                print(f"setup: waiting for another set-up to finish (lock {path.name})", flush=True)
                announced = True
            time.sleep(interval_s)
    try:
        os.write(fd, str(os.getpid()).encode())
        os.close(fd)
        yield
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)


def setup() -> Path:
    """Create .venv/ and install the pins; a no-op when requirements.txt has not changed."""
    with setup_lock():
        return _setup_locked()


def _setup_locked() -> Path:
    if sys.version_info[:2] != REQUIRED_PYTHON:
        fail(
            f"Python {REQUIRED_PYTHON[0]}.{REQUIRED_PYTHON[1]} is required (bpy==5.0.1 and the "
            f"torch wheel are built for it); this is {sys.version.split()[0]}. "
            "Run build.py with a python3.11 interpreter."
        )
    python = venv_python()
    if STAMP.exists() and python.exists() and STAMP.read_text().strip() == requirements_digest():
        return python
    if not python.exists():
        print(f"setup: creating {VENV.relative_to(ROOT)}/", flush=True)
        venv.EnvBuilder(with_pip=True, clear=True).create(VENV)
    print("setup: installing the pinned requirements and the backend (first run takes a few minutes)", flush=True)
    env_module = environment_module()
    bundle = env_module.Bundle(ROOT)
    steps = env_module.pip_commands(python, bundle, ROOT, editable=True, requirements=DEV_REQUIREMENTS)
    for stage, command in steps:
        command = [part for part in command if part not in ("--progress-bar", "off")] + ["-q"]
        if subprocess.run(command, cwd=ROOT, env=env_module.clean_env()).returncode != 0:
            fail(f"pip failed while installing {stage} (see its output above); run `python build.py setup` again "
                 "once that is fixed.")
    # Its return code is ignored: some packages ship templates that are not Python 3.11 and never run.
    print("setup: byte-compiling the environment", flush=True)
    subprocess.run([str(python), "-c", BYTECODE], cwd=ROOT, env=env_module.clean_env())
    STAMP.write_text(requirements_digest() + "\n")
    print("setup: environment ready", flush=True)
    return python


def run_in_venv(args: list[str]) -> int:
    python = setup()
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    return subprocess.run([str(python), *args], cwd=ROOT, env=env).returncode


def demo(extra: list[str]) -> int:
    """Backend step (render the default body, write body.npz), then the add-on in headless Blender
    on the bundled example photo (scripts/demo_blender.py: demo.blend + preview.png)."""
    out = str(ROOT / "demo_out")
    code = run_in_venv(["-m", "backend", "demo", "--out", out])
    if code != 0:
        return code
    return run_in_venv([str(ROOT / "scripts" / "demo_blender.py"), "--out", out, *extra])


def test(extra: list[str]) -> int:
    return run_in_venv(["-m", "pytest", "-q", "-p", "no:cacheprovider", "tests", *extra])


def _package_files(folder: Path) -> list[Path]:
    return [path for path in sorted(folder.rglob("*"))
            if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc"]


def extension() -> Path:
    """Zip the manifest, the add-on package and (under bundled/) the backend with its pinned runtime
    requirements, the way Blender's extension installer expects; nothing else of the repository."""
    manifest = ROOT / "blender_manifest.toml"
    meta = tomllib.loads(manifest.read_text())
    package_version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    if package_version != meta["version"]:
        fail(f"pyproject.toml's version {package_version} differs from blender_manifest.toml's {meta['version']}; "
             "make them equal")
    out = ROOT / "dist" / f"{meta['id']}-{meta['version']}.zip"
    out.parent.mkdir(exist_ok=True)
    package = ROOT / "interactvlm_blender"
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.write(manifest, "blender_manifest.toml")
        for path in _package_files(package):
            # The manifest sits next to the package's __init__.py inside the zip.
            archive.write(path, path.relative_to(package).as_posix())
        for name in BUNDLED_FILES:
            archive.write(ROOT / name, f"bundled/{name}")
        for path in _package_files(ROOT / "backend"):
            archive.write(path, "bundled/" + path.relative_to(ROOT).as_posix())
    print(f"extension: wrote {out.relative_to(ROOT)} ({out.stat().st_size / 1e6:.2f} MB)")
    return out


def wheelhouse(folder: str, torch_build: str) -> int:
    """Download every runtime wheel (torch of the chosen build) into folder, for Set Up Backend with
    Preferences > InteractVLM > Wheel folder on machines without internet. pip's own cache cannot
    serve as one (it is keyed by URL, not a folder of wheels)."""
    env_module = environment_module()
    target = Path(folder).resolve()
    target.mkdir(parents=True, exist_ok=True)
    where = env_module.pip_index_args("", torch_build)
    for extra, requirements in (([], REQUIREMENTS), (["--no-deps"], NODEPS)):
        command = [sys.executable, "-m", "pip", "download", "--disable-pip-version-check", "-q", "--only-binary",
                   ":all:", "--python-version", "3.11", "-d", str(target), *where, *extra, "-r", str(requirements)]
        if subprocess.run(command, cwd=ROOT).returncode != 0:
            fail(f"pip download failed for {requirements.name} (see its output above)")
    wheels = sorted(target.glob("*.whl"))
    size = sum(path.stat().st_size for path in wheels)
    print(f"wheelhouse: {len(wheels)} wheels in {target} ({size / 1e9:.2f} GB), torch build {torch_build}")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=["setup", "demo", "test", "extension", "wheelhouse"])
    args, extra = parser.parse_known_args()
    if args.command == "wheelhouse":
        options = argparse.ArgumentParser(prog="build.py wheelhouse")
        options.add_argument("folder", help="folder to write the wheels into (created if missing)")
        options.add_argument("--torch", choices=["cpu", "cuda", "index"], default="cpu",
                             help="torch build (default: cpu; index: whatever the configured package index serves)")
        chosen = options.parse_args(extra)
        return wheelhouse(chosen.folder, chosen.torch)
    if args.command == "setup":
        setup()
        return 0
    if args.command == "demo":
        return demo(extra)
    if args.command == "test":
        return test(extra)
    extension()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
