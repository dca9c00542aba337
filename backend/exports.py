"""Per-vertex contact out of the project's result npz, in formats other tools read.

- PLY (binary little-endian) with vertex scalar properties `scores` (float32), `seen` (int32) and
  `contact` (uint8, scores >= threshold) next to x, y, z: MeshLab, CloudCompare, Houdini and trimesh read
  them as per-vertex attributes. Written here (not by trimesh) so the property names and types are ours.
- DAMON-style npz (DECO's layout, read by backend/eval/damon.py and scored by `python -m backend
  evaluate --dataset damon:FILE`): `imgname` (N,) photo paths and `contact_label_smplx` (N, 10475) or
  `contact_label` (N, 6890) 0/1 per vertex in the body's own vertex order; `contact_score` (N, V) float32
  keeps the scores. Other vertex counts get `contact` / `contact_score` only (DAMON has no such topology).
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from backend.protocol import CONTACT_THRESHOLD

DAMON_KEYS = {10475: "contact_label_smplx", 6890: "contact_label"}  # as backend.eval.damon.LABEL_KEYS


def write_ply(path: str | Path, vertices: np.ndarray, faces: np.ndarray, scores: np.ndarray, seen: np.ndarray,
              threshold: float = CONTACT_THRESHOLD) -> Path:
    """Write a binary PLY of the mesh with per-vertex scores (N,) float32, seen (N,) int32, contact (N,) uint8."""
    vertices, faces = np.asarray(vertices), np.asarray(faces)
    scores, seen = np.asarray(scores, np.float32).ravel(), np.asarray(seen).ravel()
    n = len(vertices)
    if vertices.shape != (n, 3) or faces.ndim != 2 or faces.shape[1] != 3:
        raise ValueError(f"PLY export needs vertices (N,3) and faces (F,3), got {vertices.shape} and {faces.shape}")
    if scores.shape != (n,) or seen.shape != (n,):
        raise ValueError(f"the result has {scores.shape[0]} scores but the mesh has {n} vertices; export the "
                         "result onto the mesh it was estimated for")
    vertex = np.empty(n, dtype=[("x", "<f4"), ("y", "<f4"), ("z", "<f4"), ("scores", "<f4"), ("seen", "<i4"),
                                ("contact", "u1")])
    vertex["x"], vertex["y"], vertex["z"] = vertices[:, 0], vertices[:, 1], vertices[:, 2]
    vertex["scores"], vertex["seen"], vertex["contact"] = scores, seen, scores >= threshold
    face = np.empty(len(faces), dtype=[("n", "u1"), ("v", "<i4", (3,))])
    face["n"], face["v"] = 3, faces
    header = ("ply\nformat binary_little_endian 1.0\ncomment InteractVLM contact; contact = scores >= "
              f"{threshold:g}\nelement vertex {n}\nproperty float x\nproperty float y\nproperty float z\n"
              "property float scores\nproperty int seen\nproperty uchar contact\n"
              f"element face {len(faces)}\nproperty list uchar int vertex_indices\nend_header\n")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "wb") as stream:
        stream.write(header.encode("ascii"))
        stream.write(vertex.tobytes())
        stream.write(face.tobytes())
    tmp.replace(path)
    return path


def read_result(path: str | Path) -> dict[str, np.ndarray]:
    """scores and seen (and parts when present) of a result npz, read without pickles."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"result {path} does not exist; pass a result .npz from estimate or batch")
    try:
        with np.load(path, allow_pickle=False) as data:
            if "scores" not in data.files:
                raise ValueError(f"{path} has no 'scores' array: it is not an estimate result")
            return {k: np.asarray(data[k]) for k in ("scores", "seen", "parts") if k in data.files}
    except (OSError, ValueError) as error:
        if "scores" in str(error):
            raise
        raise ValueError(f"{path} is not a readable result npz ({error})") from error


def summary_of(result_npz: str | Path) -> dict:
    """The summary JSON written next to a result (<stem>.json), or {} when there is none."""
    path = Path(result_npz).with_suffix(".json")
    try:
        return json.loads(path.read_text()) if path.is_file() else {}
    except (OSError, json.JSONDecodeError):
        return {}


def damon_arrays(imgnames: list[str], scores: list[np.ndarray], threshold: float = CONTACT_THRESHOLD
                 ) -> dict[str, np.ndarray]:
    """The DAMON-style arrays of N results on one body (same vertex count, the body's vertex order)."""
    if not scores:
        raise ValueError("no results to export")
    counts = sorted({len(s) for s in scores})
    if len(counts) > 1:
        raise ValueError(f"the results are on bodies with different vertex counts ({', '.join(map(str, counts))}); "
                         "a DAMON file holds one topology: export each body's results separately")
    stacked = np.stack([np.asarray(s, np.float32) for s in scores])
    labels = (stacked >= threshold).astype(np.uint8)
    arrays = {"imgname": np.array(imgnames, dtype=str), "contact_score": stacked, "contact": labels}
    key = DAMON_KEYS.get(counts[0])
    if key:
        arrays[key] = labels
    return arrays


def write_damon(path: str | Path, imgnames: list[str], scores: list[np.ndarray],
                threshold: float = CONTACT_THRESHOLD) -> Path:
    """Write the DAMON-style npz (see the module docstring); returns its path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp.npz")
    np.savez(tmp, **damon_arrays(imgnames, scores, threshold))
    tmp.replace(path)
    return path
