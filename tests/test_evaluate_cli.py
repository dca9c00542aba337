"""`python -m backend evaluate` end to end on a tiny synthetic set and a DAMON file (real SMPL-X format)."""
from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from backend.eval.metrics import score_contact

ROOT = Path(__file__).resolve().parents[1]


def backend(*args: str, timeout: int = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "backend", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=timeout)


@pytest.fixture(scope="module")
def synth_set(tmp_path_factory):
    out = tmp_path_factory.mktemp("synth_eval")
    result = backend("synth", "--n", "3", "--out", str(out), "--size", "64", "--samples", "2")
    assert result.returncode == 0, result.stdout + result.stderr
    return out


def test_evaluate_synthetic_with_a_baseline(synth_set, tmp_path, anny_body):
    out = tmp_path / "eval"
    result = backend("evaluate", "--dataset", f"synthetic:{synth_set}", "--localizer", "baseline-below-hips",
                     "--out", str(out), "--resolution", "128", "--sheets", "1")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "| **all** | 3 |" in result.stdout
    rows = list(csv.DictReader(open(out / "per_image.csv")))
    assert [r["group"] for r in rows] == ["sit", "hold", "stand"]
    summary = json.loads((out / "summary.json").read_text())
    assert summary["n"] == 3 and summary["failed"] == 0 and summary["body"] == "anny"
    # the summary is the mean of per-image metrics recomputed from the stored scores and labels
    scores = np.load(out / "scores.npz")["scores"].astype(np.float32)
    gt = np.load(synth_set / "synth.npz")["contact_label_anny"]
    again = [score_contact(scores[i], gt[i], anny_body.canonical_vertices, anny_body.faces) for i in range(3)]
    assert summary["f1"] == pytest.approx(np.mean([r.f1 for r in again]), abs=1e-6)
    assert summary["geo_fp_cm"] == pytest.approx(np.mean([r.geo_fp_cm for r in again]), abs=1e-4)
    # the prior reaches the views: shins are predicted, the head is not
    assert scores[0].max() >= 0.5 and summary["precision"] > 0
    sheet = Image.open(out / "sheets" / "sheet_00.png")
    assert sheet.size == (256 + 8 + 512 + 8 + 512, 3 * (256 + 4))  # photo, predicted front/back, GT front/back


def test_evaluate_damon_on_smplx(tmp_path, anny_body):
    from tests.smplx_synthetic import write_synthetic_smplx

    model_dir = tmp_path / "smplx"
    model_dir.mkdir()
    write_synthetic_smplx(model_dir, anny_body)
    (tmp_path / "images").mkdir()
    Image.fromarray(np.full((64, 64, 3), 120, np.uint8)).save(tmp_path / "images" / "a.png")
    labels = np.zeros((1, 10475), np.float32)
    labels[0, :50] = 1
    np.savez(tmp_path / "damon.npz", imgname=np.array(["some/where/a.png"]), contact_label_smplx=labels)
    out = tmp_path / "eval"
    result = backend("evaluate", "--dataset", f"damon:{tmp_path / 'damon.npz'}", "--localizer", "baseline-soles",
                     "--out", str(out), "--resolution", "128", "--smplx-dir", str(model_dir))
    assert result.returncode == 0, result.stdout + result.stderr
    summary = json.loads((out / "summary.json").read_text())
    assert summary["body"] == "smplx" and summary["n_vertices"] == 10475 and summary["n"] == 1


def test_evaluate_explains_bad_inputs(tmp_path):
    result = backend("evaluate", "--dataset", "coco:/x", "--out", str(tmp_path))
    assert result.returncode == 2 and "damon:PATH" in result.stderr
    np.savez(tmp_path / "smpl_only.npz", imgname=np.array(["a.png"]), contact_label=np.zeros((1, 6890)))
    result = backend("evaluate", "--dataset", f"damon:{tmp_path / 'smpl_only.npz'}", "--out", str(tmp_path))
    assert result.returncode == 2 and "SMPL" in result.stderr and "contact_label_smplx" in result.stderr
    np.savez(tmp_path / "x.npz", imgname=np.array(["a.png"]), contact_label_smplx=np.zeros((1, 10475)))
    result = backend("evaluate", "--dataset", f"damon:{tmp_path / 'x.npz'}", "--out", str(tmp_path))
    assert result.returncode == 2 and "--smplx-dir" in result.stderr
    result = backend("evaluate", "--dataset", f"synthetic:{tmp_path / 'none'}", "--out", str(tmp_path))
    assert result.returncode == 2 and "backend synth" in result.stderr
