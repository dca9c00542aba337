"""Body sources: Anny (embedded default), SMPL-X (user's model folder), any humanoid mesh.

NOTE TO THE TEAM (lead, 14:45): Anny, SMPL-X, mesh bodies, part rules and geodesics are implemented
and tested (tests/test_bodies.py, tests/smplx_synthetic.py). Extend them; do not rewrite them.

`load_body(spec)` takes the protocol's body field (see backend/PROTOCOL.md) and returns a Body.
"""
from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from backend.bodies.base import Body

SOURCES = ("anny", "smplx", "mesh")


def load_body(spec: dict[str, Any]) -> Body:
    source = spec.get("source")
    if source == "anny":
        from backend.bodies.anny_body import load_anny

        return load_anny()
    if source == "smplx":
        from backend.bodies.smplx_body import load_smplx

        if not spec.get("model_dir"):
            raise ValueError("body source 'smplx' needs model_dir: the folder that contains SMPLX_NEUTRAL.npz")
        return load_smplx(spec["model_dir"], spec.get("gender", "neutral"))
    if source == "mesh":
        from backend.bodies.mesh_body import mesh_body

        if "npz" in spec:
            spec = {**load_mesh_npz(spec["npz"]), **{k: v for k, v in spec.items() if k != "npz"}}
        if "vertices" not in spec or "faces" not in spec:
            raise ValueError("body source 'mesh' needs vertices and faces (or an npz path)")
        return mesh_body(spec["vertices"], spec["faces"], spec.get("canonical_vertices"),
                         spec.get("vertex_group_names"), spec.get("vertex_group_index"))
    raise ValueError(f"unknown body source {source!r}; use one of {', '.join(SOURCES)}")


MESH_KEYS = ("vertices", "faces", "canonical_vertices", "vertex_group_names", "vertex_group_index")


MESH_SUFFIXES = (".obj", ".ply", ".stl", ".glb", ".gltf", ".off", ".npz")


def load_mesh_npz(path: str | Path) -> dict[str, np.ndarray]:
    """A mesh written by the add-on (protocol mesh npz), read without pickles."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"mesh file not found: {path}")
    from backend.npz_limits import NpzError, check_mesh_npz

    try:
        check_mesh_npz(path, "mesh npz")  # before inflating: a zip at all, sizes in proportion
    except NpzError as error:
        raise NpzError(f"{path} is not a readable numeric npz mesh ({error}); write it with numpy.savez") from error
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {k: np.asarray(data[k]) for k in MESH_KEYS if k in data.files}
            files = sorted(data.files)
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as error:  # truncated or not an npz at all
        raise ValueError(f"{path} is not a readable numeric npz mesh ({error}); write it with numpy.savez") from error
    if "vertices" not in arrays or "faces" not in arrays:
        raise ValueError(f"mesh npz {path} has arrays {files}, needs 'vertices' and 'faces' ((N,3) and (F,3))")
    return arrays


def load_mesh_file(path: str | Path) -> dict[str, np.ndarray]:
    """vertices (float64) / faces of an .obj/.ply/.stl/.glb/.gltf/.off file (triangulated; glTF scenes
    flattened with their node transforms), or of a mesh .npz. The file's vertex order is kept, so
    per-vertex results line up with the user's file (OBJ needs maintain_order: UV seams would
    otherwise split and reorder vertices)."""
    import trimesh  # heavy: only for file-based meshes

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"mesh file not found: {path}")
    suffix = path.suffix.lower()
    if suffix not in MESH_SUFFIXES:
        raise ValueError(f"mesh {path}: unsupported format {path.suffix!r}; use one of {', '.join(MESH_SUFFIXES)}")
    if suffix == ".npz":
        return load_mesh_npz(path)
    try:
        loaded = trimesh.load(path, force="mesh", process=False, **({"maintain_order": True} if suffix == ".obj" else {}))
    except Exception as error:  # trimesh raises many types for bad files
        raise ValueError(f"mesh {path} could not be read ({error})") from error
    if not isinstance(loaded, trimesh.Trimesh) or len(loaded.faces) == 0:
        raise ValueError(f"mesh {path} contains no triangles (a point cloud or an empty scene?)")
    return {"vertices": np.asarray(loaded.vertices, dtype=np.float64), "faces": np.asarray(loaded.faces, dtype=np.int32)}


__all__ = ["Body", "SOURCES", "load_body", "load_mesh_npz", "load_mesh_file"]
