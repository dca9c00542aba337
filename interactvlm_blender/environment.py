"""The backend's managed environment: a Python 3.11 virtual environment with the bundled pins.

Never imports bpy (nor anything of the add-on): `build.py` loads this file by path for `wheelhouse` and
its pip options, and the tests drive SetupJob without Blender. The add-on's operator
(`ops_environment.py`) runs a SetupJob on the job runner and draws `status()` in the preferences.

Layout of the folder it manages (the extension's user folder, `bpy.utils.extension_path_user`):

    <root>/environment.json      the environment in use; written last and atomically (the swap)
    <root>/envs/<name>/          virtual environments; only the one environment.json names is ever used,
                                 a set-up builds a new one beside it and removes the old one after the swap
    <root>/logs/setup-*.log      pip's output of each set-up (the panel opens the latest)

So a cancelled or failed set-up removes its own half-made folder and leaves environment.json (and the
environment in use, if any) untouched; even a set-up killed with Blender never becomes "in use".
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = [
    # the bundled backend and its pins
    "Bundle", "find_bundle", "REQUIRED_PYTHON",
    # the environment on disk
    "EnvironmentStatus", "status", "venv_python", "remove_environment", "POINTER",
    # making one
    "SetupJob", "SetupError", "find_python", "pip_index_args", "TORCH_BUILDS", "REQUIRED_FREE_BYTES",
    "RUNNING", "DONE", "FAILED", "CANCELLED",
]

REQUIRED_PYTHON = (3, 11)  # the pinned wheels (torch, mediapipe, embreex) are cp311; Blender 4.2-5.0 ship 3.11
# Measured on Linux with the CPU torch wheel: the managed environment takes 2.0 GB; pip needs room for the
# wheels it unpacks on top, so 2.5 GB free is the floor.
REQUIRED_FREE_BYTES = 2_500_000_000
POINTER = "environment.json"
RUNNING, DONE, FAILED, CANCELLED = "running", "done", "failed", "cancelled"
# torch builds the add-on offers; the version is always requirements.txt's pin. The index serves that
# version's build for the platform: download.pytorch.org for CPU (Linux/Windows: PyPI's Linux wheel is the
# CUDA one) and for CUDA on Windows; PyPI's own Linux wheel is the CUDA build. macOS has one build (PyPI).
TORCH_BUILDS = {
    "cpu": ("CPU", "Runs everywhere; about 0.2 GB", {"linux": "https://download.pytorch.org/whl/cpu",
                                                     "win32": "https://download.pytorch.org/whl/cpu"}),
    "cuda": ("CUDA", "NVIDIA GPUs (Linux, Windows); about 3 GB more", {"win32": "https://download.pytorch.org/whl/cu128"}),
    "index": ("Package index", "Whatever build the configured package index serves (a studio mirror)", {}),
}
# pip prints one "Collecting" (index) or "Processing" (wheel folder) line per distribution it resolves:
# 67 for requirements.txt (measured); the progress bar of the longest step follows that count.
EXPECTED_DISTRIBUTIONS = 67
# (stage, share of the bar it ends at)
STAGES = (("python", 0.08), ("packages", 0.85), ("mediapipe", 0.9), ("backend", 0.95), ("verify", 1.0))
VERIFY = ("import json, sys, platform, torch, numpy, mediapipe, backend; print(json.dumps({'python': "
          "platform.python_version(), 'torch': torch.__version__, 'backend': backend.__version__, "
          "'backend_file': backend.__file__, 'prefix': sys.prefix, 'cuda': torch.cuda.is_available()}))")


class SetupError(RuntimeError):
    """Set-up cannot start or went wrong; str() says what and what to do. Nothing was changed."""


# -- the bundled backend -----------------------------------------------------------------------------
@dataclass(frozen=True)
class Bundle:
    """A folder holding `backend/`, `pyproject.toml` and the pinned requirement files: `bundled/` inside
    the installed extension, or the project folder when the add-on runs from a source tree."""

    root: Path

    @property
    def requirements(self) -> Path:
        return self.root / "requirements.txt"

    @property
    def nodeps(self) -> Path:
        return self.root / "requirements-nodeps.txt"

    def files(self) -> list[Path]:
        return [self.requirements, self.nodeps, self.root / "pyproject.toml"]

    def digest(self) -> str:
        """sha256 of the pins and the package metadata: an environment stamped otherwise is stale."""
        sha = hashlib.sha256()
        for path in self.files():
            sha.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
        return sha.hexdigest()

    def pin(self, name: str) -> str:
        """The pinned version of one requirement ("" when not pinned)."""
        for path in (self.requirements, self.nodeps):
            for line in path.read_text().splitlines():
                match = re.match(rf"\s*{re.escape(name)}\s*==\s*([^\s;#]+)", line, re.IGNORECASE)
                if match:
                    return match.group(1)
        return ""


def find_bundle(addon_dir: Path | str) -> Bundle | None:
    """The backend bundled with the add-on at addon_dir: <addon>/bundled, else the source tree above it."""
    addon_dir = Path(addon_dir)
    for root in (addon_dir / "bundled", addon_dir.parent):
        if (root / "backend" / "__main__.py").is_file() and (root / "requirements.txt").is_file() \
                and (root / "requirements-nodeps.txt").is_file() and (root / "pyproject.toml").is_file():
            return Bundle(root.resolve())
    return None


# -- the environment on disk -------------------------------------------------------------------------
def venv_python(env_dir: Path | str, os_name: str = os.name) -> Path:
    """A virtual environment's interpreter: Scripts\\python.exe on Windows, bin/python elsewhere."""
    env_dir = Path(env_dir)
    return env_dir / "Scripts" / "python.exe" if os_name == "nt" else env_dir / "bin" / "python"


@dataclass
class EnvironmentStatus:
    """What the set-up checklist shows; read from environment.json, no process started."""

    present: bool = False
    python: str = ""          # the environment's interpreter
    python_version: str = ""
    torch: str = ""           # e.g. "2.13.0+cpu"
    torch_build: str = ""
    cuda: bool = False
    stale: bool = False       # made from other pins than the bundled ones: Repair
    problem: str = ""         # why it cannot be used ("" when present and usable)
    path: str = ""
    log: str = ""             # the latest set-up log


def _read_pointer(root: Path) -> dict[str, Any] | None:
    try:
        data = json.loads((root / POINTER).read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def latest_log(root: Path | str) -> str:
    logs = sorted((Path(root) / "logs").glob("setup-*.log"))
    return str(logs[-1]) if logs else ""


def status(root: Path | str, bundle: Bundle | None) -> EnvironmentStatus:
    """The managed environment under root, checked against the bundled pins."""
    root = Path(root)
    info = EnvironmentStatus(log=latest_log(root))
    pointer = _read_pointer(root)
    if pointer is None:
        info.problem = "no managed environment yet: press Set Up Backend"
        return info
    env_dir = root / "envs" / str(pointer.get("name", ""))
    python = venv_python(env_dir)
    info.path, info.python = str(env_dir), str(python)
    info.python_version, info.torch = str(pointer.get("python", "")), str(pointer.get("torch", ""))
    info.torch_build, info.cuda = str(pointer.get("torch_build", "")), bool(pointer.get("cuda"))
    if not python.is_file():
        info.problem = f"the managed environment {env_dir} is missing its Python: press Repair"
        return info
    info.present = True
    info.stale = bundle is not None and pointer.get("requirements_sha256") != bundle.digest()
    if info.stale:
        info.problem = "made for other pinned requirements (the extension was updated): press Repair"
    return info


def remove_environment(root: Path | str) -> None:
    """Forget the environment in use (pointer first), then remove every environment folder."""
    root = Path(root)
    (root / POINTER).unlink(missing_ok=True)
    shutil.rmtree(root / "envs", ignore_errors=True)


# -- making one --------------------------------------------------------------------------------------
def python_version(python: str) -> tuple[int, int] | None:
    """(major, minor) of an interpreter, None when it is not one that runs."""
    if Path(python).resolve() == Path(sys.executable).resolve():
        return sys.version_info[:2]
    try:
        out = subprocess.run([python, "-c", "import sys; print(*sys.version_info[:2])"], capture_output=True,
                             text=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return None
    parts = out.stdout.split()
    return (int(parts[0]), int(parts[1])) if out.returncode == 0 and len(parts) == 2 else None


def find_python(chosen: str = "") -> str:
    """A Python 3.11 to build the environment from: the one the user chose, else Blender's own
    (sys.executable, 3.11 in Blender 4.2-5.0), else python3.11 on PATH. SetupError names what was tried."""
    wanted = ".".join(map(str, REQUIRED_PYTHON))
    own = sys.executable
    if sys.prefix != sys.base_prefix:  # Blender's Python inside a venv (the bpy module): build from the base
        own = getattr(sys, "_base_executable", own)
    candidates = [chosen] if chosen else [own, shutil.which(f"python{wanted}") or ""]
    tried = []
    for candidate in filter(None, candidates):
        if Path(candidate).is_dir():
            tried.append(f"{candidate} (a folder, not a Python executable)")
            continue
        version = python_version(candidate)
        if version == REQUIRED_PYTHON:
            return candidate
        tried.append(f"{candidate} ({'Python %d.%d' % version if version else 'not a Python that runs'})")
    raise SetupError(f"no Python {wanted} to build the backend environment from (tried: {'; '.join(tried)}); "
                     f"install Python {wanted} and choose its executable in Preferences > InteractVLM > "
                     "Set-up Python")


def pip_index_args(wheel_dir: str = "", torch_build: str = "", platform: str = sys.platform) -> list[str]:
    """Where pip looks: only the wheel folder when one is given, else the package index (plus the
    torch index of the chosen build on platforms where the package index has another build)."""
    if wheel_dir:
        return ["--no-index", "--find-links", str(wheel_dir)]
    if torch_build and torch_build not in TORCH_BUILDS:
        raise SetupError(f"unknown torch build {torch_build!r}; choose one of {', '.join(TORCH_BUILDS)}")
    index = TORCH_BUILDS[torch_build][2].get(platform, "") if torch_build else ""
    return ["--extra-index-url", index] if index else []


def pip_commands(python: Path | str, bundle: Bundle, source: Path, *, wheel_dir: str = "",
                 torch_build: str = "", editable: bool = False,
                 requirements: Path | None = None) -> list[tuple[str, list[str]]]:
    """(stage, argv) of the pip steps: the pins, mediapipe without its unused deps, the backend itself
    (built from `source`, a copy of the bundle, without build isolation: setuptools is in every 3.11 venv)."""
    # --no-compile: pip byte-compiles every file it installs (torch and transformers ship thousands); Python
    # compiles what the backend really imports on first use instead.
    pip = [str(python), "-m", "pip", "install", "--disable-pip-version-check", "--progress-bar", "off", "--no-compile"]
    where = pip_index_args(wheel_dir, torch_build)
    package = ["-e", str(source)] if editable else [str(source)]
    return [("packages", [*pip, *where, "-r", str(requirements or bundle.requirements)]),
            ("mediapipe", [*pip, *where, "--no-deps", "-r", str(bundle.nodeps)]),
            ("backend", [*pip, "--no-deps", "--no-build-isolation", *package])]


def clean_env() -> dict[str, str]:
    """The environment for the set-up's processes: the add-on's own PYTHONPATH/PYTHONHOME never leak in, and
    they may write bytecode (PYTHONDONTWRITEBYTECODE, common in containers, dropped), so the verify step caches
    what the backend imports and a later backend start does not compile torch again (~12 s each)."""
    dropped = ("PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP", "PYTHONDONTWRITEBYTECODE")
    env = {k: v for k, v in os.environ.items() if k not in dropped}
    env["PYTHONNOUSERSITE"] = "1"
    return env


@dataclass(eq=False)
class SetupJob:
    """Builds a managed environment step by step: tick() advances without blocking, cancel() kills pip.

    state: running | done | failed | cancelled; stage, fraction (0..1) and message for the progress bar.
    Raises SetupError from the constructor (before anything is created) when it cannot work: no bundle,
    no Python 3.11, online access off without a wheel folder, a missing wheel folder, too little disk.
    """

    root: Path
    bundle: Bundle | None
    base_python: str = ""        # "" -> find_python()
    torch_build: str = "cpu"
    wheel_dir: str = ""
    online: bool = True
    required_free_bytes: int = REQUIRED_FREE_BYTES
    what: str = "set-up"
    state: str = RUNNING
    stage: str = "python"
    fraction: float = 0.0
    message: str = ""
    result: dict[str, Any] = field(default_factory=dict)
    env_dir: Path = field(init=False)
    log_path: Path = field(init=False)

    def __post_init__(self) -> None:
        self.root = Path(self.root)
        if self.bundle is None:
            raise SetupError("the backend code is not bundled with this add-on (no bundled/ folder); reinstall "
                             "the extension zip made by `python build.py extension`")
        if self.wheel_dir and not Path(self.wheel_dir).is_dir():
            raise SetupError(f"the wheel folder {self.wheel_dir!r} does not exist: choose the folder written by "
                             "`python build.py wheelhouse DIR`, or clear it to install from the internet")
        if not self.wheel_dir and not self.online:
            raise SetupError("online access is off, so the backend's packages cannot be downloaded: allow it in "
                             "Preferences > System > Network > Allow Online Access, or set Preferences > InteractVLM "
                             "> Wheel folder to a folder of wheels (`python build.py wheelhouse DIR` on a machine "
                             "with internet) and press Set Up Backend again")
        self.base_python = find_python(self.base_python)
        self.root.mkdir(parents=True, exist_ok=True)
        free = shutil.disk_usage(self.root).free
        if free < self.required_free_bytes:
            raise SetupError(
                f"the backend environment needs about {self.required_free_bytes / 1e9:.1f} GB free in "
                f"{self.root}, only {free / 1e9:.1f} GB are: free some space and press Set Up Backend again"
            )
        stamp = time.strftime("%Y%m%d-%H%M%S")
        (self.root / "envs").mkdir(exist_ok=True)
        (self.root / "logs").mkdir(exist_ok=True)
        self.env_dir = Path(tempfile.mkdtemp(prefix=f"env-{stamp}-", dir=self.root / "envs"))
        self.log_path = self.root / "logs" / f"setup-{stamp}-{self.env_dir.name[-8:]}.log"
        self._log = open(self.log_path, "ab")
        self._source = Path(tempfile.mkdtemp(prefix="src-", dir=self.env_dir))
        self._digest = self.bundle.digest()
        self._steps: list[tuple[str, list[str]]] = [("python", [self.base_python, "-m", "venv", str(self.env_dir)])]
        self._steps += pip_commands(venv_python(self.env_dir), self.bundle, self._source / "bundle",
                                    wheel_dir=self.wheel_dir, torch_build=self.torch_build)
        self._steps.append(("verify", [str(venv_python(self.env_dir)), "-I", "-c", VERIFY]))
        self._process: subprocess.Popen | None = None
        self._log_offset = 0
        self._collected = 0
        self._verified = ""
        self.message = f"making a Python {'.'.join(map(str, REQUIRED_PYTHON))} environment"
        self._write_log(f"set-up of {self.env_dir} from {self.bundle.root}; torch build {self.torch_build}; "
                        f"wheel folder {self.wheel_dir or '(none: package index)'}\n")

    @property
    def finished(self) -> bool:
        return self.state != RUNNING

    @property
    def python(self) -> Path:
        return venv_python(self.env_dir)

    # -- driving ---------------------------------------------------------------------------------------
    def tick(self) -> None:
        """Advance: start the next step when the last one ended; never blocks."""
        if self.finished:
            return
        if self._process is None:
            self._start_next()
            return
        self._follow_log()
        code = self._process.poll()
        if code is None:
            return
        stage, _ = self._steps.pop(0)
        if stage == "verify" and self._process.stdout is not None:  # its stdout is one JSON line
            self._verified = self._process.stdout.read().decode("utf-8", "replace").strip()
            self._process.stdout.close()
        self._process = None
        self._follow_log()
        if code != 0:
            self._fail(f"the {stage} step failed (exit status {code}): {self._log_tail()}")
            return
        if stage == "verify":
            self._swap_in()
            return
        self._start_next()

    def cancel(self) -> None:
        """Kill the running step and remove the half-made environment; the one in use stays."""
        if self.finished:
            return
        self._kill()
        self._discard()
        self.state, self.message = CANCELLED, "set-up cancelled; nothing was changed"
        self._close_log("cancelled")

    # -- steps -----------------------------------------------------------------------------------------
    def _start_next(self) -> None:
        stage, argv = self._steps[0]
        self.stage = stage
        if stage == "backend":  # pip builds a local project in place: build from a copy, never in the extension
            shutil.copytree(self.bundle.root, self._source / "bundle",
                            ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info", "build", ".venv"))
        self.message = {"python": self.message, "packages": "installing the pinned packages (pip)",
                        "mediapipe": "installing mediapipe", "backend": "installing the backend",
                        "verify": "checking the environment"}[stage]
        self._write_log(f"\n$ {' '.join(argv)}\n")
        capture = subprocess.PIPE if stage == "verify" else self._log
        try:
            self._process = subprocess.Popen(argv, stdout=capture, stderr=self._log, stdin=subprocess.DEVNULL,
                                             env=clean_env(), cwd=self.root)
        except OSError as error:
            self._fail(f"cannot run {argv[0]!r}: {error}")

    def _swap_in(self) -> None:
        assert self.state == RUNNING
        try:
            self.result = json.loads(self._verified.splitlines()[-1])
        except (IndexError, ValueError):
            self._fail(f"the new environment did not answer its check: {self._verified[-300:]!r}")
            return
        shutil.rmtree(self._source, ignore_errors=True)
        pointer = {"name": self.env_dir.name, "requirements_sha256": self._digest, "torch_build": self.torch_build,
                   "wheel_dir": self.wheel_dir, "created": time.strftime("%Y-%m-%d %H:%M:%S"), **self.result}
        previous = _read_pointer(self.root)
        tmp = self.root / (POINTER + ".tmp")
        tmp.write_text(json.dumps(pointer, indent=1) + "\n")
        os.replace(tmp, self.root / POINTER)  # the swap: atomic on every platform
        for old in (self.root / "envs").iterdir():
            if old.name != self.env_dir.name:
                shutil.rmtree(old, ignore_errors=True)
        replaced = f" (replaced {previous.get('name')})" if previous else ""
        self.state, self.stage, self.fraction = DONE, "done", 1.0
        self.message = (f"backend environment ready: Python {self.result.get('python')}, torch "
                        f"{self.result.get('torch')}{replaced}")
        self._close_log("done")

    def _fail(self, why: str) -> None:
        self._kill()
        self._discard()
        self.state = FAILED
        self.message = f"{why}; nothing was changed (full log: {self.log_path})"
        self._close_log("failed")

    def _discard(self) -> None:
        shutil.rmtree(self.env_dir, ignore_errors=True)

    def _kill(self) -> None:
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(5)

    # -- the log and progress --------------------------------------------------------------------------
    def _follow_log(self) -> None:
        """Progress from the new lines of pip's log."""
        try:
            with open(self.log_path, "rb") as handle:
                handle.seek(self._log_offset)
                chunk = handle.read()
        except OSError:
            return
        self._log_offset += len(chunk)
        self._collected += chunk.count(b"Collecting ") + chunk.count(b"Processing ")
        start = dict(STAGES)
        names = [name for name, _ in STAGES]
        index = names.index(self.stage)
        low = start[names[index - 1]] if index else 0.0
        high = start[self.stage]
        share = min(0.95, self._collected / EXPECTED_DISTRIBUTIONS) if self.stage == "packages" else 0.5
        if b"Installing collected packages" in chunk and self.stage == "packages":
            self.message = "unpacking the packages (pip)"
        self.fraction = max(self.fraction, low + (high - low) * share)

    def _write_log(self, text: str) -> None:
        self._log.write(text.encode())
        self._log.flush()

    def _log_tail(self, chars: int = 600) -> str:
        try:
            text = self.log_path.read_text(errors="replace").strip()
        except OSError:
            return "(no log)"
        return text[-chars:]

    def _close_log(self, outcome: str) -> None:
        if not self._log.closed:
            self._write_log(f"\nset-up {outcome}: {self.message}\n")
            self._log.close()
