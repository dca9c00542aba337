#!/usr/bin/env python3
"""Project tasks, standard library only.

    python build.py setup       create/refresh .venv/ from requirements.txt (idempotent)
    python build.py demo        run the main job on the embedded default, outputs in demo_out/
    python build.py test        set up if needed, then run the test suite
    python build.py extension   build the installable Blender extension zip into dist/
"""
from __future__ import annotations

import argparse
import contextlib
import fcntl
import hashlib
import os
import subprocess
import sys
import tomllib
import venv
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
REQUIREMENTS = ROOT / "requirements.txt"
STAMP = VENV / ".requirements.sha256"
REQUIRED_PYTHON = (3, 11)


def fail(message: str) -> None:
    print(f"build.py: {message}", file=sys.stderr)
    raise SystemExit(1)


def venv_python() -> Path:
    return VENV / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def requirements_digest() -> str:
    return hashlib.sha256(REQUIREMENTS.read_bytes()).hexdigest()


@contextlib.contextmanager
def setup_lock():
    """Serialise concurrent set-ups (two test runs started at once must not run pip together)."""
    VENV.parent.mkdir(exist_ok=True)
    with open(ROOT / ".venv.lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield


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
    print("setup: installing pinned requirements (first run takes about a minute)", flush=True)
    command = [str(python), "-m", "pip", "install", "--disable-pip-version-check", "-q", "-r", str(REQUIREMENTS)]
    if subprocess.run(command, cwd=ROOT).returncode != 0:
        fail("installing requirements.txt failed (see pip's output above); nothing else was changed.")
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


def extension() -> Path:
    """Zip the manifest and the add-on package the way Blender's extension installer expects."""
    manifest = ROOT / "blender_manifest.toml"
    meta = tomllib.loads(manifest.read_text())
    out = ROOT / "dist" / f"{meta['id']}-{meta['version']}.zip"
    out.parent.mkdir(exist_ok=True)
    package = ROOT / "interactvlm_blender"
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.write(manifest, "blender_manifest.toml")
        for path in sorted(package.rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc":
                # The manifest sits next to the package's __init__.py inside the zip.
                archive.write(path, path.relative_to(package).as_posix())
    print(f"extension: wrote {out.relative_to(ROOT)}")
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=["setup", "demo", "test", "extension"])
    args, extra = parser.parse_known_args()
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
