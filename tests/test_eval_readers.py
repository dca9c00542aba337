"""DAMON npz and PIAD point-file readers, on small files written here in the real layouts."""
from __future__ import annotations

import numpy as np
import pytest

from backend.eval.damon import objectwise_mask, read_damon
from backend.eval.piad import AFFORDANCES, affordance_of_image, read_point_file


def write_damon(path, objectwise: bool = True):
    labels = np.zeros((2, 6890), np.float32)
    labels[0, [10, 20]] = 1
    labels_x = np.zeros((2, 10475), np.float32)
    labels_x[1, 5] = 1
    arrays = {"imgname": np.array(["datasets/HOT/images/a.jpg", "datasets/HOT/images/b.jpg"]),
              "contact_label": labels, "contact_label_smplx": labels_x, "cam_k": np.zeros((2, 3, 3))}
    if objectwise:
        obj = np.empty(2, dtype=object)
        obj[0] = {"chair": [10], "supporting": [20]}
        obj[1] = {"cup": np.array([3, 4])}
        arrays["contact_label_objectwise"] = obj
    np.savez(path, **arrays)


def test_damon_labels_without_pickles(tmp_path):
    path = tmp_path / "damon_test.npz"
    write_damon(path)
    data = read_damon(path)
    assert len(data) == 2 and data.topologies() == ["smpl", "smplx"]
    assert data.labels["smpl"].shape == (2, 6890) and data.labels["smpl"][0].sum() == 2
    assert np.flatnonzero(data.labels["smplx"][1]).tolist() == [5]
    assert data.objectwise == {}
    with pytest.raises(ValueError, match="pickled"):
        read_damon(path, objectwise=True)


def test_damon_objectwise_when_trusted(tmp_path):
    path = tmp_path / "damon_test.npz"
    write_damon(path)
    data = read_damon(path, allow_pickle=True, objectwise=True)
    first = data.objectwise["smpl"][0]
    assert sorted(first) == ["chair", "supporting"]
    mask = objectwise_mask(first, "chair", 6890)
    assert mask.sum() == 1 and mask[10] == 1
    with pytest.raises(ValueError, match="not annotated"):
        objectwise_mask(first, "bicycle", 6890)


def test_damon_image_resolution(tmp_path):
    path = tmp_path / "damon_test.npz"
    write_damon(path, objectwise=False)
    data = read_damon(path)
    with pytest.raises(FileNotFoundError, match="--images"):
        data.image_path(0)
    (tmp_path / "images").mkdir()
    (tmp_path / "images" / "a.jpg").write_bytes(b"x")
    assert data.image_path(0) == tmp_path / "images" / "a.jpg"


def test_damon_bad_files(tmp_path):
    with pytest.raises(FileNotFoundError):
        read_damon(tmp_path / "missing.npz")
    np.savez(tmp_path / "no_names.npz", contact_label=np.zeros((1, 6890)))
    with pytest.raises(ValueError, match="imgname"):
        read_damon(tmp_path / "no_names.npz")
    np.savez(tmp_path / "short.npz", imgname=np.array(["a.jpg"]), contact_label=np.zeros((1, 100)))
    with pytest.raises(ValueError, match=r"expected \(1, 6890\)"):
        read_damon(tmp_path / "short.npz")
    np.savez(tmp_path / "no_labels.npz", imgname=np.array(["a.jpg"]))
    with pytest.raises(ValueError, match="neither"):
        read_damon(tmp_path / "no_labels.npz")
    (tmp_path / "junk.npz").write_text("not a zip")
    with pytest.raises(ValueError, match="readable"):
        read_damon(tmp_path / "junk.npz")


def test_piad_point_file(tmp_path):
    rng = np.random.default_rng(0)
    points = rng.normal(size=(2048, 3)).astype(np.float32)
    aff = np.zeros((2048, 17), np.float32)
    aff[:100, AFFORDANCES.index("sit")] = rng.uniform(0.1, 1.0, 100)
    lines = [f"61bc4930 Chair {' '.join(map(str, p))} {' '.join(map(str, a))} " for p, a in zip(points, aff)]
    path = tmp_path / "Point_Test_Chair_1.txt"
    path.write_text("\n".join(lines) + "\n")
    data = read_point_file(path)
    assert data.object_class == "Chair" and data.shape_id == "61bc4930"
    assert data.points.shape == (2048, 3) and data.affordances.shape == (2048, 17)
    np.testing.assert_allclose(data.points, points, rtol=1e-6)
    np.testing.assert_allclose(data.label("sit"), aff[:, 5], rtol=1e-6)
    with pytest.raises(ValueError, match="unknown affordance"):
        data.label("fly")


def test_piad_bad_files_and_image_names(tmp_path):
    path = tmp_path / "bad.txt"
    path.write_text("id Chair 0 0 0 1\n")
    with pytest.raises(ValueError, match="expected 22"):
        read_point_file(path)
    path.write_text("")
    with pytest.raises(ValueError, match="empty"):
        read_point_file(path)
    assert affordance_of_image("Seen/Img/Test/Chair/sit/Img_Test_Chair_sit_1.jpg") == "sit"
    with pytest.raises(ValueError, match="affordance"):
        affordance_of_image("photo.jpg")
