"""`python -m backend estimate --localizer default` on a committed photo: real subprocess and files."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def test_estimate_cli_with_the_default_localizer(tmp_path):
    out = tmp_path / "out"
    done = subprocess.run([sys.executable, "-m", "backend", "estimate",
                           "--image", str(ROOT / "tests/data/anny_stand.jpg"),
                           "--localizer", "default", "--device", "cpu", "--resolution", "160", "--out", str(out)],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "Feedback manager" not in done.stdout and "INFO:" not in done.stdout  # library logs stay off stdout
    summary = json.loads((out / "anny_stand.json").read_text())
    report = summary["localizer_report"]
    assert summary["localizer"] == "default" and report["pose_class"] == "standing"
    assert {"left_sole", "right_sole"} <= set(summary["parts_in_contact"][:4])
    assert not {"buttocks", "back", "head"} & set(summary["parts_in_contact"])
    # One definition: the summary names the parts the localizer named (not the foot its sole rim spills onto).
    assert summary["parts_in_contact"] == report["parts_in_contact"]
    with np.load(out / "anny_stand.npz") as data:
        assert summary["contact_vertices"] == int((data["scores"] >= 0.5).sum()) > 0


def test_estimate_cli_reports_no_person(tmp_path):
    done = subprocess.run([sys.executable, "-m", "backend", "estimate", "--image", str(ROOT / "tests/data/coffee.jpg"),
                           "--localizer", "default", "--device", "cpu", "--resolution", "96", "--out", str(tmp_path)],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode != 0
    assert "no_person" in done.stdout + done.stderr
    assert "hint: " in done.stdout and "photo" in done.stdout.split("hint: ", 1)[1]  # what to do, not only what
    # MediaPipe's native start-up chatter (absl W0000 lines, TF-Lite INFO) is dropped without --verbose.
    for noise in ("W0000", "INFO: Created TensorFlow Lite", "absl::InitializeLog"):
        assert noise not in done.stderr, done.stderr


def test_estimate_cli_object_contact_marks_the_top_of_a_box(tmp_path):
    import trimesh

    box = trimesh.creation.box(extents=(0.4, 0.4, 0.45)).subdivide().subdivide()
    vertices = (np.asarray(box.vertices) + (0.0, 0.0, 0.225)).astype(np.float32)
    np.savez(tmp_path / "box.npz", vertices=vertices, faces=np.asarray(box.faces, dtype=np.int32))
    out = tmp_path / "out"
    done = subprocess.run([sys.executable, "-m", "backend", "estimate",
                           "--image", str(ROOT / "tests/data/anny_sit.jpg"),
                           "--localizer", "default", "--task", "object_contact", "--object", str(tmp_path / "box.npz"),
                           "--device", "cpu", "--resolution", "128", "--out", str(out)],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert json.loads((out / "anny_sit.json").read_text())["localizer_report"]["pose_class"] == "sitting"
    with np.load(out / "anny_sit.npz") as data:
        touched = data["scores"] >= 0.5
    assert touched.any() and np.all(vertices[touched, 2] > 0.44)  # the seat: the top face only
