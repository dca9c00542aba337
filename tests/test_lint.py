"""The tree passes its lint rules (ruff.toml at the repository root; ruff is pinned in requirements.txt)."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SIDES = {
    "backend": (["backend", "tests", "bench", "scripts", "build.py"], ["--extend-exclude", "tests/blender"]),
    "add-on": (["interactvlm_blender", "tests/blender"], []),
}


@pytest.mark.parametrize("side", SIDES)
def test_ruff_check_passes(side):
    paths, options = SIDES[side]
    done = subprocess.run([sys.executable, "-m", "ruff", "check", "--no-cache", "--output-format", "concise",
                           *options, *paths], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert "No module named ruff" not in done.stderr, \
        "install the pinned ruff: .venv/bin/python -m pip install -r requirements.txt"
    assert done.returncode == 0, done.stdout + done.stderr
