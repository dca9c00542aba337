"""`python -m backend scene-contact` and `python -m backend place` as real subprocesses on real files."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import trimesh
from test_placement import displace, scene

ROOT = Path(__file__).resolve().parents[1]


def cli(*args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.run([sys.executable, "-m", "backend", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=180)


def test_scene_contact_cli_writes_npz_and_summary(tmp_path):
    ball = trimesh.creation.uv_sphere(radius=0.1, count=[32, 32])
    ball.apply_translation([0, 0, 0.1 - 0.005])  # sunk 5 mm into the box
    box = trimesh.creation.box(extents=[0.6, 0.6, 0.2])
    box.apply_translation([0, 0, -0.1])
    ball.export(tmp_path / "body.obj")
    box.export(tmp_path / "prop.glb")
    out = tmp_path / "out"
    proc = cli("scene-contact", "--body", str(tmp_path / "body.obj"), "--object", str(tmp_path / "prop.glb"),
               "--out", str(out))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    summary = json.loads((out / "scene_contact.json").read_text())
    data = np.load(out / "scene_contact.npz")
    assert data["body_score"].shape == (len(ball.vertices),) and data["object_score"].shape == (len(box.vertices),)
    assert summary["in_contact"] and summary["penetration"]
    assert abs(summary["body"]["max_penetration_depth"] - 0.005) < 1e-6
    assert summary["body"]["penetrating_vertices"] == int(data["body_penetrating"].sum()) > 0
    assert "meshes touch" in proc.stdout


def test_place_cli_moves_object_back(tmp_path):
    bv, bf, ov, of, bidx, oidx = scene()
    moved = displace(ov, [5, -8, 12], [0.04, -0.03, 0.05], ov[oidx].mean(0))
    trimesh.Trimesh(bv, bf, process=False).export(tmp_path / "body.ply")
    trimesh.Trimesh(moved, of, process=False).export(tmp_path / "prop.obj")
    np.save(tmp_path / "body_idx.npy", bidx)
    (tmp_path / "obj_idx.txt").write_text("\n".join(map(str, oidx)))
    out = tmp_path / "out"
    proc = cli("place", "--body", str(tmp_path / "body.ply"), "--object", str(tmp_path / "prop.obj"),
               "--body-contact", str(tmp_path / "body_idx.npy"), "--object-contact", str(tmp_path / "obj_idx.txt"),
               "--out", str(out))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    report = json.loads((out / "placement.json").read_text())
    transform = np.array(report["transform"])
    assert transform.shape == (4, 4) and report["moved"] == "object"
    placed = trimesh.load(out / "prop_placed.obj", force="mesh", process=False, maintain_order=True)
    assert np.abs(np.asarray(placed.vertices) - ov).max() < 1e-3
    assert report["residual_mean"] < 1e-3


def test_cli_errors_are_clear(tmp_path):
    bv, bf, ov, of, bidx, oidx = scene()
    trimesh.Trimesh(bv, bf, process=False).export(tmp_path / "body.ply")
    trimesh.Trimesh(ov, of, process=False).export(tmp_path / "prop.ply")
    np.save(tmp_path / "bad.npy", np.array([0, 1, 10**6]))
    np.save(tmp_path / "empty.npy", np.array([], dtype=np.int64))
    np.save(tmp_path / "ok.npy", oidx)
    base = ["place", "--body", str(tmp_path / "body.ply"), "--object", str(tmp_path / "prop.ply"),
            "--out", str(tmp_path / "o")]
    proc = cli(*base, "--body-contact", str(tmp_path / "bad.npy"), "--object-contact", str(tmp_path / "ok.npy"))
    assert proc.returncode == 2 and "body contact indices must lie in [0, 6560]" in proc.stderr
    proc = cli(*base, "--body-contact", str(tmp_path / "ok.npy"), "--object-contact", str(tmp_path / "empty.npy"))
    assert proc.returncode == 2 and "object contact is empty" in proc.stderr
    proc = cli(*base, "--body-contact", str(tmp_path / "nope.npy"), "--object-contact", str(tmp_path / "ok.npy"))
    assert proc.returncode == 2 and "body contact file not found" in proc.stderr
    (tmp_path / "broken.obj").write_text("this is not a mesh\n")
    proc = cli("scene-contact", "--body", str(tmp_path / "broken.obj"), "--object", str(tmp_path / "prop.ply"),
               "--out", str(tmp_path / "o"))
    assert proc.returncode == 2 and "body mesh" in proc.stderr and "error:" in proc.stderr
    proc = cli("scene-contact", "--body", str(tmp_path / "missing.obj"), "--object", str(tmp_path / "prop.ply"),
               "--out", str(tmp_path / "o"))
    assert proc.returncode == 2 and "body mesh file not found" in proc.stderr


def test_npz_meshes_and_moving_the_body(tmp_path):
    bv, bf, ov, of, bidx, oidx = scene()
    moved = displace(ov, [-6, 4, 10], [0.03, 0.02, 0.04], ov[oidx].mean(0))
    np.savez(tmp_path / "body.npz", vertices=bv.astype(np.float32), faces=bf.astype(np.int32))
    np.savez(tmp_path / "prop.npz", vertices=moved.astype(np.float32), faces=of.astype(np.int32))
    weights = np.zeros(len(bv), np.float32)
    weights[bidx] = 1.0
    np.save(tmp_path / "body_w.npy", weights)  # per-vertex weights, as the add-on stores them
    np.save(tmp_path / "obj_idx.npy", oidx)
    out = tmp_path / "out"
    proc = cli("place", "--body", str(tmp_path / "body.npz"), "--object", str(tmp_path / "prop.npz"),
               "--body-contact", str(tmp_path / "body_w.npy"), "--object-contact", str(tmp_path / "obj_idx.npy"),
               "--move", "body", "--out", str(out))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    report = json.loads((out / "placement.json").read_text())
    assert report["moved"] == "body"
    with np.load(out / "body_placed.npz") as data:
        placed_body = data["vertices"]
    assert np.abs(placed_body[bidx] - moved[oidx]).max() < 1e-3
    proc = cli("scene-contact", "--body", str(out / "body_placed.npz"), "--object", str(tmp_path / "prop.npz"),
               "--threshold", "0.005", "--out", str(out / "contact"))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    with np.load(out / "contact" / "scene_contact.npz") as data:
        assert (data["body_score"][bidx] > 0).all()  # the placed body patch touches the prop's underside
    # The results chain without conversion: body weights from an estimate-style npz (`scores`), the
    # object's from the scene-contact result (`object_score`).
    np.savez(tmp_path / "estimate_result.npz", scores=weights)
    proc = cli("place", "--body", str(tmp_path / "body.npz"), "--object", str(tmp_path / "prop.npz"),
               "--body-contact", str(tmp_path / "estimate_result.npz"),
               "--object-contact", str(out / "contact" / "scene_contact.npz"), "--out", str(out / "chained"))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    np.savez(tmp_path / "other.npz", something=weights)
    proc = cli("place", "--body", str(tmp_path / "body.npz"), "--object", str(tmp_path / "prop.npz"),
               "--body-contact", str(tmp_path / "other.npz"), "--object-contact", str(tmp_path / "obj_idx.npy"),
               "--out", str(out / "bad"))
    assert proc.returncode == 2 and "none of scores, body_score, contact" in proc.stderr
    np.savez(tmp_path / "bad.npz", verts=bv)
    proc = cli("scene-contact", "--body", str(tmp_path / "bad.npz"), "--object", str(tmp_path / "prop.npz"),
               "--out", str(out / "x"))
    assert proc.returncode == 2 and "needs 'vertices' and 'faces'" in proc.stderr
