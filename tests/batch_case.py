"""The batch list the batch tests share: mixed bodies, an object task, a bad photo and a bad mesh.

Entries (7 items from 6 lines): Anny; a mesh-file body; synthetic SMPL-X (two photos); Anny with a bad
photo; a bad body mesh; object contact on a box. All run the tests-only localizer at 64 px.
"""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np

ARGS = ["--localizer", "testing-lowest", "--device", "cpu", "--threads", "1"]
GOOD = ("a", "ellipsoid", "smplx-a", "smplx-b", "box")
FAILED = {"bad-photo": "bad_image", "bad-mesh": "bad_mesh"}
# What differs between two runs of the same item (who ran it, when, how long).
VOLATILE = ("timings", "worker", "finished_at", "attempts")


def write_case(folder: Path, photo: Path, ellipsoid, anny_body) -> Path:
    """The inputs and the list (JSON lines) in `folder`; returns the list's path."""
    import trimesh
    from PIL import Image

    from tests.smplx_synthetic import write_synthetic_smplx

    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(photo, folder / "a.png")
    Image.open(photo).convert("RGB").transpose(Image.Transpose.FLIP_LEFT_RIGHT).save(folder / "b.jpg")
    (folder / "broken.png").write_bytes(b"not a png at all")
    trimesh.Trimesh(*ellipsoid, process=False).export(folder / "ellipsoid.obj")
    (folder / "points.obj").write_text("v 0 0 0\nv 1 0 0\nv 0 1 0\n")  # no faces
    trimesh.creation.box(extents=(0.5, 0.5, 0.4)).subdivide().subdivide().export(folder / "box.obj")
    write_synthetic_smplx(folder / "smplx", anny_body)
    entries = [
        {"id": "a", "image": "a.png", "resolution": 64},
        {"id": "ellipsoid", "image": "b.jpg", "body": "ellipsoid.obj", "resolution": 64},
        {"id": "smplx-a", "image": "a.png", "body": "smplx:smplx", "resolution": 64},
        {"id": "smplx-b", "image": "b.jpg", "body": "smplx:smplx", "resolution": 64},
        {"id": "bad-photo", "image": "broken.png", "resolution": 64},
        {"id": "bad-mesh", "image": "a.png", "body": "points.obj", "resolution": 64},
        {"id": "box", "image": "a.png", "object": "box.obj", "task": "object_contact", "resolution": 64},
    ]
    path = folder / "list.jsonl"
    path.write_text("".join(json.dumps(e) + "\n" for e in entries))
    return path


def run_batch_cli(env: dict[str, str], *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "backend", "batch", *args], env=env, cwd=env["PYTHONPATH"],
                          capture_output=True, text=True, timeout=timeout)


def records(out: Path) -> dict[str, dict]:
    from backend.batch.index import latest_records

    return latest_records(out)


def stable(record: dict) -> dict:
    """A record without what legitimately differs between runs (and executors)."""
    return {k: v for k, v in record.items() if k not in VOLATILE}


def scores(out: Path, item: str) -> np.ndarray:
    with np.load(out / f"{item}.npz") as data:
        return data["scores"].astype(np.float32)
