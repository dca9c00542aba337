"""The worker client names set-up problems as set-up problems (bpy-free, real processes): a folder or
a program that is not Python as Backend Python, and a Python that lacks the backend or its packages,
which is reported with the fix (Set Up Backend / Repair), never as "run it again"."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from interactvlm_blender import client, protocol

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def bare_python(tmp_path_factory) -> str:
    """A Python 3.11 venv with nothing installed (no backend, no numpy)."""
    folder = tmp_path_factory.mktemp("bare") / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(folder)], check=True)
    return str(folder / ("Scripts/python.exe" if sys.platform == "win32" else "bin/python"))


def test_a_folder_as_backend_python_is_named(tmp_path):
    with pytest.raises(client.WorkerError, match="is a folder, not a Python executable"):
        client.WorkerSettings(python=str(tmp_path)).check()


def test_a_program_that_is_not_python_is_named():
    with pytest.raises(client.WorkerError, match="is not a Python interpreter"):
        client.WorkerSettings(python="/bin/false").check()


@pytest.mark.parametrize("root", ["", str(ROOT)], ids=["no backend", "backend without its packages"])
def test_a_python_without_the_backend_or_its_packages_is_a_setup_problem(bare_python, root, monkeypatch, tmp_path):
    monkeypatch.delenv("PYTHONPATH", raising=False)
    monkeypatch.chdir(tmp_path)  # with no Backend folder, `-m backend` must not find the repository's
    worker = client.Worker(client.WorkerSettings(python=bare_python, root=root))
    try:
        event = worker.wait(worker.submit("hello", {}), timeout_s=60)
    finally:
        worker.stop()
    assert event["event"] == "error" and event["code"] == protocol.WORKER_DIED
    assert "the backend environment is incomplete" in event["message"]
    assert ("cannot import backend" if not root else "cannot import numpy") in event["message"]
    assert event["hint"].startswith(client.SETUP_FIX) and "run it again" not in event["hint"] + event["message"]
