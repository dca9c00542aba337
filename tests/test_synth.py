"""Synthetic closed-loop generator: real Blender render in a subprocess, ground truth by proximity."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from backend.bodies.parts import PART_ID
from backend.eval.synth.generate import make_sample

ROOT = Path(__file__).resolve().parents[1]


def parts_in_contact(body, contact: np.ndarray) -> dict[str, int]:
    from backend.bodies.parts import PARTS

    counts = np.bincount(body.parts[contact], minlength=len(PARTS))
    return {PARTS[i]: int(c) for i, c in enumerate(counts) if c}


@pytest.fixture(scope="module")
def synth_set(tmp_path_factory):
    out = tmp_path_factory.mktemp("synth")
    result = subprocess.run([sys.executable, "-m", "backend", "synth", "--n", "2", "--out", str(out), "--size", "96",
                             "--samples", "4", "--seed", "3"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    return out


def test_layout(synth_set, anny_body):
    with np.load(synth_set / "synth.npz") as data:
        assert data["imgname"].tolist() == ["images/00000.png", "images/00001.png"]
        assert data["contact_label_anny"].shape == (2, anny_body.n_vertices)
        assert data["scenario"].tolist() == ["sit", "hold"]
        assert data["object_label"].tolist() == ["chair", "handle"]
        assert int(data["seed"]) == 3
        # object-only contact is a subset of all contact
        assert np.all(data["contact_label_anny_object"] <= data["contact_label_anny"])
    for name in ("00000", "00001"):
        image = Image.open(synth_set / "images" / f"{name}.png")
        assert image.size == (96, 96) and image.mode == "RGB"
        assert np.asarray(image).std() > 5  # a rendered scene, not a blank frame
        with np.load(synth_set / "scenes" / f"{name}.npz") as scene:
            assert scene["body_vertices"].shape == (anny_body.n_vertices, 3)
            assert scene["object_faces"].shape[1] == 3
            assert scene["object_contact"].shape == (len(scene["object_vertices"]),)
            assert scene["object_contact"].any()
    meta = json.loads((synth_set / "meta.json").read_text())
    assert meta["n"] == 2 and meta["engine"] == "cycles" and meta["threshold_m"] == 0.02


def test_labels_match_a_fresh_sample_with_the_same_seed(synth_set, anny_body):
    with np.load(synth_set / "synth.npz") as data:
        stored = data["contact_label_anny"]
    for index in (0, 1):
        sample = make_sample(index, 3, anny_body)
        np.testing.assert_array_equal(sample.contact.astype(np.uint8), stored[index])
    other = make_sample(0, 4, anny_body)
    assert not np.array_equal(other.body_vertices, make_sample(0, 3, anny_body).body_vertices)


@pytest.mark.parametrize("index, scenario, parts", [
    (0, "sit", {"buttocks"}), (1, "hold", {"right_palm", "right_fingers"}), (3, "lean", {"buttocks"}),
    (4, "carry", {"right_fingers"}),
])
def test_ground_truth_on_the_intended_parts(anny_body, index, scenario, parts):
    sample = make_sample(index, 0, anny_body)
    assert sample.scenario == scenario
    touching = parts_in_contact(anny_body, sample.contact_object)
    assert parts <= set(touching), touching
    # the prop's contact is where it should be: e.g. a handle never touches the feet
    forbidden = {"left_sole", "right_sole"} | ({"head"} if scenario != "lean" else set())  # heads may rest on walls
    assert not forbidden & set(touching), touching
    assert sample.object_contact.any()
    # the soles stand on the ground in every scenario
    soles = np.isin(anny_body.parts, [PART_ID["left_sole"], PART_ID["right_sole"]])
    assert sample.contact[soles].mean() > 0.5


def test_standing_touches_only_the_ground(anny_body):
    sample = make_sample(2, 0, anny_body)
    assert sample.scenario == "stand" and sample.prop is None and not sample.contact_object.any()
    assert set(parts_in_contact(anny_body, sample.contact)) <= {"left_sole", "right_sole", "left_foot", "right_foot"}


def test_bad_arguments_are_explained(tmp_path):
    result = subprocess.run([sys.executable, "-m", "backend", "synth", "--n", "0", "--out", str(tmp_path)],
                            cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 2 and "--n must be at least 1" in result.stderr
