"""Body sources: Anny (embedded default), SMPL-X (user's model folder), any humanoid mesh.

NOTE TO THE TEAM (lead, 14:45): Anny, SMPL-X, mesh bodies, part rules and geodesics are implemented
and tested (tests/test_bodies.py, tests/smplx_synthetic.py). Extend them; do not rewrite them.

`load_body(spec)` takes the protocol's body field (see backend/PROTOCOL.md) and returns a Body.
"""
from __future__ import annotations

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


def load_mesh_npz(path: str | Path) -> dict[str, np.ndarray]:
    """A mesh written by the add-on (protocol mesh npz), read without pickles."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"mesh file {path} does not exist")
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {k: np.asarray(data[k]) for k in MESH_KEYS if k in data.files}
    except (OSError, ValueError) as error:
        raise ValueError(f"{path} is not a readable numeric npz mesh ({error})") from error
    missing = [k for k in ("vertices", "faces") if k not in arrays]
    if missing:
        raise ValueError(f"mesh npz {path} lacks {', '.join(missing)}; it needs vertices (N,3) and faces (F,3)")
    return arrays


def load_mesh_file(path: str | Path) -> dict[str, np.ndarray]:
    """vertices/faces of an .obj/.ply/.glb/.stl/.off file (triangulated), or of a mesh .npz."""
    import trimesh

    path = Path(path)
    if path.suffix.lower() == ".npz":
        return load_mesh_npz(path)
    if not path.is_file():
        raise FileNotFoundError(f"mesh file {path} does not exist")
    try:
        loaded = trimesh.load(path, force="mesh", process=False)
    except Exception as error:  # trimesh raises many types for bad files
        raise ValueError(f"{path} could not be read as a mesh ({error})") from error
    if not isinstance(loaded, trimesh.Trimesh) or len(loaded.faces) == 0:
        raise ValueError(f"{path} contains no triangles")
    return {"vertices": np.asarray(loaded.vertices, dtype=np.float32), "faces": np.asarray(loaded.faces, dtype=np.int32)}


__all__ = ["Body", "SOURCES", "load_body", "load_mesh_npz", "load_mesh_file"]
