"""`python -m backend estimate` as a user runs it: real subprocess, real files, the tests-only localizer."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ARGS = ["--localizer", "testing-lowest", "--device", "cpu", "--resolution", "128"]


def run_cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "backend", "estimate", *args], env=env, cwd=env["PYTHONPATH"],
                          capture_output=True, text=True, timeout=300)


def test_batch_writes_each_image_and_skips_a_bad_one(backend_env, photo, tmp_path, anny_body):
    folder = tmp_path / "photos"
    folder.mkdir()
    shutil.copy(photo, folder / "a.png")
    from PIL import Image

    Image.open(photo).convert("RGB").save(folder / "b.jpg")
    (folder / "c.png").write_bytes(b"not a png at all")
    (folder / "notes.txt").write_text("ignored: not an image suffix")
    out = tmp_path / "out"
    done = run_cli(backend_env, "--images", str(folder), *ARGS, "--out", str(out))
    assert done.returncode == 1, done.stderr  # 1: some images failed, the others were written
    assert sorted(p.name for p in out.iterdir()) == ["a.json", "a.npz", "b.json", "b.npz"]
    for stem in ("a", "b"):
        summary = json.loads((out / f"{stem}.json").read_text())
        assert summary["image"].endswith(("a.png", "b.jpg"))
        assert summary["localizer_report"]["loads"] == 1  # one model load for the whole batch
        with np.load(out / f"{stem}.npz") as data:
            assert data["scores"].shape == (anny_body.n_vertices,)
            assert summary["contact_vertices"] == int((data["scores"] >= 0.5).sum()) > 0
    assert "c.png  FAILED (bad_image)" in done.stdout
    assert "2 written" in done.stdout and "1 failed" in done.stdout
    assert "skipped c.png" in done.stderr


@pytest.mark.parametrize("args, expected", [
    (["--image", "{tmp}/missing.png"], "missing.png does not exist"),
    (["--image", "{photo}", "--task", "semantic_contact"], "needs --label"),
    (["--image", "{photo}", "--task", "object_contact"], "needs --object"),
    (["--image", "{photo}", "--body", "{tmp}/nobody.obj"], "nobody.obj"),
])
def test_bad_arguments_fail_with_one_line(backend_env, photo, tmp_path, args, expected):
    args = [a.format(tmp=tmp_path, photo=photo) for a in args]
    done = run_cli(backend_env, *args, *ARGS, "--out", str(tmp_path / "out"))
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("estimate: error:") and expected in lines[0], done.stderr
    assert not (tmp_path / "out").exists()


def test_out_naming_a_file_and_an_unused_object_are_explained(backend_env, photo, tmp_path, ellipsoid):
    (tmp_path / "taken.txt").write_text("the user's file")
    done = run_cli(backend_env, "--image", str(photo), *ARGS, "--out", str(tmp_path / "taken.txt"))
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
    assert done.stderr.strip().splitlines()[-1].startswith("estimate: error: File exists")
    assert (tmp_path / "taken.txt").read_text() == "the user's file"
    np.savez(tmp_path / "prop.npz", vertices=ellipsoid[0], faces=ellipsoid[1])
    done = run_cli(backend_env, "--image", str(photo), "--object", str(tmp_path / "prop.npz"), *ARGS,
                   "--out", str(tmp_path / "out"))
    assert done.returncode == 0 and "--object is only read by --task object_contact" in done.stderr


def test_a_body_in_centimetres_or_y_up_gets_a_warning(backend_env, photo, tmp_path, anny_body):
    from backend.mesh_checks import body_frame_warnings

    assert body_frame_warnings(anny_body.vertices) == []
    assert "metres" in body_frame_warnings(anny_body.vertices * 100)[0]
    y_up = anny_body.vertices[:, [0, 2, 1]] * [1, -1, 1]
    assert any("Y-up" in w for w in body_frame_warnings(y_up))
    np.savez(tmp_path / "cm.npz", vertices=anny_body.vertices * 100, faces=anny_body.faces[:-1])
    done = run_cli(backend_env, "--image", str(photo), "--body", str(tmp_path / "cm.npz"), *ARGS,
                   "--out", str(tmp_path / "out"))
    assert done.returncode == 0 and "warning: the body is 1" in done.stdout, done.stdout
    assert json.loads((tmp_path / "out" / f"{photo.stem}.json").read_text())["warnings"]


def test_unknown_localizer_is_named(backend_env, photo, tmp_path):
    done = run_cli(backend_env, "--image", str(photo), "--localizer", "nope", "--out", str(tmp_path / "out"))
    assert done.returncode == 2 and "'nope'" in done.stderr and "testing-lowest" in done.stderr


def test_mesh_files_for_body_and_object(backend_env, photo, tmp_path, ellipsoid):
    import trimesh

    vertices, faces = ellipsoid
    trimesh.Trimesh(vertices, faces, process=False).export(tmp_path / "body.obj")
    trimesh.creation.box(extents=(0.5, 0.5, 0.4)).subdivide().subdivide().export(tmp_path / "chair.obj")
    out = tmp_path / "out"
    done = run_cli(backend_env, "--image", str(photo), "--body", str(tmp_path / "body.obj"), *ARGS, "--out", str(out))
    assert done.returncode == 0, done.stderr
    summary = json.loads((out / "photo.json").read_text())
    assert summary["surface"] == "body" and summary["n_vertices"] == len(vertices)
    done = run_cli(backend_env, "--image", str(photo), "--task", "object_contact", "--object",
                   str(tmp_path / "chair.obj"), *ARGS, "--out", str(out / "object"))
    assert done.returncode == 0, done.stderr
    summary = json.loads((out / "object" / "photo.json").read_text())
    assert summary["surface"] == "object" and summary["contact_vertices"] > 0 and summary["parts_in_contact"] == []


def test_help_names_the_accepted_formats(backend_env):
    from backend.images import IMAGE_SUFFIXES

    done = run_cli(backend_env, "--help")
    assert done.returncode == 0 and "WebP" in done.stdout and "TIFF" in done.stdout and "--verbose" in done.stdout
    assert all(suffix in done.stdout for suffix in IMAGE_SUFFIXES)


def test_out_folder_that_cannot_be_written_is_refused_before_the_work(backend_env, photo, tmp_path):
    if not Path("/proc/self").is_dir():
        pytest.skip("needs /proc: a folder no one may write, even root")
    done = run_cli(backend_env, "--image", str(photo), *ARGS, "--out", "/proc/self/ivlm_out")
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
    lines = done.stderr.strip().splitlines()
    assert lines[-1].startswith("estimate: error: output folder /proc/self/ivlm_out cannot be written")
    assert "loading localizer" not in done.stderr  # refused before any work


def test_native_noise_on_fd_2_is_dropped_and_the_rest_passes(backend_env):
    code = ("import os, sys\n"
            "from backend.native_noise import install\n"
            "noise = install()\n"
            "os.write(2, b'W0000 00:00:1796120258.418014   28183 inference_feedback_manager.cc:114] Feedback\\n')\n"
            "os.write(2, b'INFO: Created TensorFlow Lite XNNPACK delegate for CPU.\\n')\n"
            "os.write(2, b'E0000 00:00:1796120258.418014   28183 real.cc:1] a real native error\\n')\n"
            "print('a python message', file=sys.stderr)\n"
            "noise.close()\n")
    done = subprocess.run([sys.executable, "-c", code], env=backend_env, cwd=backend_env["PYTHONPATH"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "a real native error" in done.stderr and "a python message" in done.stderr
    assert "Feedback" not in done.stderr and "TensorFlow Lite" not in done.stderr
