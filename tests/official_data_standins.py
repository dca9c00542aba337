"""Writes a stand-in for the official InteractVLM data folder in the real names, shapes and dtypes.

No licensed data: the "SMPL-H" is the open Anny body clustered down to at most 6,890 vertices (padded with unused
vertices to exactly 6,890), centred at its pelvis as SMPL-H is. Written as the official files are:
- hcontact_vitruvian/body_render_norm_<view>.png: RGB 1024 x 1024, normals as colours on white, our renderer at the
  official 4MV-Z_Vitru cameras (looking at the origin);
- <map folder>/pixel_to_vertex_map_1024.npz (hcontact_vitruvian and hcontact_vitruvian_mv2), bary_coords_map_1024.npz: one (1024,1024,3) array per view name,
  int64 vertex ids with -1 on the background, float32 weights with -1 on the background (as PyTorch3D gives);
- smpl_to_smplx.pkl: a joblib pickle (joblib's own stream layout: a NumpyArrayWrapper then the raw bytes,
  zlib-compressed as joblib.dump(..., compress=3) writes it) of {'matrix': (10475, 6890) float32}, each SMPL-X
  vertex (the synthetic SMPL-X of tests/smplx_synthetic) as weights of its 3 nearest stand-in vertices.
"""
from __future__ import annotations

import io
import pickle
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from backend.bodies.parts import PART_ID
from backend.localizers.interactvlm.official_data import (BARY_COORDS, MAP_FOLDERS, MATRIX_FILE, PIXEL_TO_VERTEX,
                                                           RENDER_FOLDER, SMPLH_VERTICES, VIEW_NAMES)


@dataclass
class StandIn:
    folder: Path
    vertices: np.ndarray  # (6890,3) the stand-in SMPL-H in our canonical frame, pelvis at the origin
    faces: np.ndarray
    parts: np.ndarray  # (6890,) part ids (padding vertices: -1)
    matrix: np.ndarray  # (10475, 6890) float32
    smplx_keep: np.ndarray  # Anny vertex of each synthetic SMPL-X vertex


def clustered_body(anny_body) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Anny clustered on a grid to <= 6,890 used vertices, padded to 6,890: (vertices, faces, parts)."""
    source = anny_body.canonical_vertices.astype(np.float64)
    low, high = 0.005, 0.05
    for _ in range(30):  # bisect the cell size for the largest count <= 6890
        cell = (low + high) / 2
        _, labels = np.unique(np.floor(source / cell).astype(np.int64), axis=0, return_inverse=True)
        count = labels.max() + 1
        low, high = (cell, high) if count > SMPLH_VERTICES else (low, cell)
    cell = high
    _, labels = np.unique(np.floor(source / cell).astype(np.int64), axis=0, return_inverse=True)
    labels = labels.reshape(-1)
    count = labels.max() + 1
    vertices = np.zeros((SMPLH_VERTICES, 3))
    np.add.at(vertices, labels, source)
    vertices[:count] /= np.bincount(labels, minlength=count)[:, None]
    vertices[count:] = vertices[0]
    votes = np.zeros((count, int(anny_body.parts.max()) + 1), np.int64)
    np.add.at(votes, (labels, anny_body.parts), 1)
    parts = np.full(SMPLH_VERTICES, -1, np.int64)
    parts[:count] = votes.argmax(1)
    faces = labels[anny_body.faces]
    faces = faces[(faces[:, 0] != faces[:, 1]) & (faces[:, 1] != faces[:, 2]) & (faces[:, 0] != faces[:, 2])]
    faces = np.unique(faces, axis=0)
    pelvis = vertices[:count][parts[:count] == PART_ID["pelvis"]].mean(0)
    vertices = vertices - pelvis
    return vertices.astype(np.float32), faces.astype(np.int32), parts


class _JoblibWrapper:
    """Pickled under joblib's class name; the raw array bytes are written after it, as joblib does."""


_JoblibWrapper.__module__ = "joblib.numpy_pickle"
_JoblibWrapper.__qualname__ = _JoblibWrapper.__name__ = "NumpyArrayWrapper"


class _JoblibPickler(pickle._Pickler):
    def __init__(self, stream):
        super().__init__(stream, protocol=4)
        self.stream = stream

    def save(self, obj, save_persistent_id=True):
        if isinstance(obj, np.ndarray) and not obj.dtype.hasobject:
            wrapper = _JoblibWrapper()
            wrapper.__dict__.update(subclass=np.ndarray, shape=obj.shape, order="C", dtype=obj.dtype,
                                    allow_mmap=False, numpy_array_alignment_bytes=16)
            super().save(wrapper)
            self.framer.commit_frame(force=True)
            position = self.stream.tell() + 1
            padding = 16 - position % 16
            self.stream.write(bytes([padding]) + b"\xff" * padding)
            self.stream.write(np.ascontiguousarray(obj).tobytes())
            return
        super().save(obj, save_persistent_id)


def write_joblib(path: Path, value: dict, compress: bool = True) -> None:
    """A joblib-format pickle of `value` (joblib is not a dependency of the project)."""
    import sys
    import types

    # pickle checks the class is importable under its name: register joblib's names for the dump only
    added = [name for name in ("joblib", "joblib.numpy_pickle") if name not in sys.modules]
    for name in added:
        sys.modules[name] = types.ModuleType(name)
    sys.modules["joblib.numpy_pickle"].NumpyArrayWrapper = _JoblibWrapper
    try:
        buffer = io.BytesIO()
        _JoblibPickler(buffer).dump(value)
    finally:
        for name in added:
            sys.modules.pop(name, None)
    data = buffer.getvalue()
    path.write_bytes(zlib.compress(data, 3) if compress else data)


def smplx_matrix(vertices: np.ndarray, used: int, smplx_canonical: np.ndarray) -> np.ndarray:
    """(10475, 6890) float32: each SMPL-X vertex as inverse-distance weights of its 3 nearest used stand-in
    vertices (rows sum to 1, as the official matrix's barycentric rows do)."""
    from scipy.spatial import cKDTree

    distance, index = cKDTree(vertices[:used]).query(smplx_canonical, k=3)
    weight = 1.0 / np.maximum(distance, 1e-6)
    weight /= weight.sum(1, keepdims=True)
    matrix = np.zeros((len(smplx_canonical), SMPLH_VERTICES), np.float32)
    np.add.at(matrix, (np.repeat(np.arange(len(smplx_canonical)), 3), index.reshape(-1)), weight.reshape(-1))
    return matrix


def write_data_folder(folder: Path, anny_body, view_type: str = "4MV-Z_Vitru", size: int = 1024) -> StandIn:
    from PIL import Image

    from backend.localizers.interactvlm.official_views import normal_colour_views, official_cameras
    from backend.render import render
    from tests.smplx_synthetic import synthetic_smplx_arrays

    vertices, faces, parts = clustered_body(anny_body)
    views = render(vertices, faces, official_cameras(np.zeros((1, 3)), view_type, size))
    images = normal_colour_views(views)
    covered = views.tri_ids >= 0
    ids = np.where(covered[..., None], faces[np.maximum(views.tri_ids, 0)], -1).astype(np.int64)
    bary = np.where(covered[..., None], views.bary, -1.0).astype(np.float32)
    (folder / RENDER_FOLDER).mkdir(parents=True, exist_ok=True)
    for i, view in enumerate(VIEW_NAMES):
        Image.fromarray(images[i]).save(folder / RENDER_FOLDER / f"body_render_norm_{view}.png")
    first = folder / MAP_FOLDERS[view_type]
    first.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(first / PIXEL_TO_VERTEX, **{v: ids[i] for i, v in enumerate(VIEW_NAMES)})
    np.savez_compressed(first / BARY_COORDS, **{v: bary[i] for i, v in enumerate(VIEW_NAMES)})
    for other in sorted(set(MAP_FOLDERS.values()) - {first.name}):  # the mv2 rig has the same cameras
        (folder / other).mkdir(exist_ok=True)
        for name in (PIXEL_TO_VERTEX, BARY_COORDS):
            (folder / other / name).write_bytes((first / name).read_bytes())
    _, keep = synthetic_smplx_arrays(anny_body)
    pelvis = anny_body.canonical_vertices[anny_body.parts == PART_ID["pelvis"]].mean(0)
    matrix = smplx_matrix(vertices, int((parts >= 0).sum()), anny_body.canonical_vertices[keep] - pelvis)
    write_joblib(folder / MATRIX_FILE, {"matrix": matrix})
    return StandIn(folder, vertices, faces, parts, matrix, keep)
