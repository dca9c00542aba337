"""`python -m backend check-checkpoint DIR` as a real subprocess."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.interactvlm_tiny import write_tiny_checkpoint

ROOT = Path(__file__).resolve().parents[1]


def _run(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "backend", "check-checkpoint", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)


def test_check_checkpoint_reports_a_good_folder(tmp_path):
    folder = write_tiny_checkpoint(tmp_path / "tiny")
    done = _run(str(folder), "--load", "--device", "cpu")
    assert done.returncode == 0, done.stderr
    for text in ("pytorch_model-00001-of-00002.bin", "Llama, 2 layers", "camera conditioning: vi_v1",
                 "vision tower (CLIP):", "tokenizer: tokenizer.model", "OK: every weight matched", "loaded on cpu"):
        assert text in done.stdout, text
    data = json.loads(_run(str(folder), "--json").stdout)
    assert data["ok"] and data["missing"] == [] and data["unexpected"] == []


def test_check_checkpoint_reports_problems(tmp_path):
    folder = write_tiny_checkpoint(tmp_path / "tiny")
    (folder / "tokenizer.model").unlink()
    done = _run(str(folder))
    assert done.returncode == 1 and "tokenizer: NOT FOUND" in done.stdout and "NOT USABLE" in done.stdout
    done = _run(str(tmp_path / "absent"))
    assert done.returncode == 2 and "does not exist" in done.stderr
    done = _run(str(tmp_path / "absent"), "--json")
    assert done.returncode == 2 and json.loads(done.stdout)["ok"] is False
