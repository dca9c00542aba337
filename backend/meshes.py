"""The one reader of mesh files: the protocol's mesh npz, the usual 3D formats, and contact arrays.

Every npz is read without pickles. A mesh keeps its file's vertex order, so per-vertex results line
up with the user's file. Errors name the mesh's role (`what`, e.g. "body mesh") and the file:
FileNotFoundError for a missing file, MeshError (a ValueError carrying the protocol code
`bad_mesh` and a hint) for anything unreadable or malformed.
"""
from __future__ import annotations

import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from backend.mesh_checks import check_mesh

# The arrays of the protocol's mesh npz (backend/PROTOCOL.md); others in the file are ignored.
MESH_ARRAYS = ("vertices", "faces", "canonical_vertices", "vertex_group_names", "vertex_group_index", "contact")
MESH_SUFFIXES = (".obj", ".ply", ".stl", ".glb", ".gltf", ".off", ".npz")
NPZ_HINT = "write it with numpy.savez: vertices (N,3) float32 and faces (F,3) int32 (no object arrays)"


class MeshError(ValueError):
    """A mesh file that exists but cannot be used; `code`/`hint` make it a protocol error as it is."""

    code = "bad_mesh"

    def __init__(self, message: str, hint: str = NPZ_HINT) -> None:
        super().__init__(message)
        self.hint = hint


@dataclass(frozen=True)
class Mesh:
    """A checked mesh: vertices (N,3) float32, faces (F,3) int32, and the file's other protocol
    arrays (canonical_vertices, vertex_group_names, vertex_group_index, contact) when present."""

    vertices: np.ndarray
    faces: np.ndarray
    arrays: dict[str, np.ndarray] = field(default_factory=dict)


def _existing(path: str | Path, what: str) -> Path:
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{what} file not found: {path}")
    return path


def read_mesh_npz(path: str | Path, what: str = "mesh") -> dict[str, np.ndarray]:
    """The protocol arrays (MESH_ARRAYS) of a mesh npz; it must hold at least vertices and faces."""
    from backend.npz_limits import NpzError, check_mesh_npz

    path = _existing(path, what)
    try:
        check_mesh_npz(path, f"{what} npz")  # before inflating: a zip at all, member sizes in proportion
    except NpzError as error:
        raise MeshError(f"{what} {path} is not a readable numeric npz mesh ({error})") from error
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {k: np.asarray(data[k]) for k in MESH_ARRAYS if k in data.files}
            files = sorted(data.files)
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as error:  # truncated, pickled or not an npz
        raise MeshError(f"{what} {path} is not a readable numeric npz mesh ({error})") from error
    if "vertices" not in arrays or "faces" not in arrays:
        raise MeshError(f"{what} npz {path} has arrays {files}, needs 'vertices' and 'faces' ((N,3) and (F,3))")
    return arrays


def read_mesh_file(path: str | Path, what: str = "mesh") -> dict[str, np.ndarray]:
    """vertices (float64) / faces of an .obj/.ply/.stl/.glb/.gltf/.off file (triangulated; glTF scenes
    flattened with their node transforms), or the arrays of a mesh .npz (read_mesh_npz). OBJ needs
    maintain_order: UV seams would otherwise split and reorder its vertices."""
    path = _existing(path, what)
    suffix = path.suffix.lower()
    if suffix not in MESH_SUFFIXES:
        raise MeshError(f"{what} {path}: unsupported format {path.suffix!r}; use one of {', '.join(MESH_SUFFIXES)}",
                        "export the mesh as .obj, .ply or .glb")
    if suffix == ".npz":
        return read_mesh_npz(path, what)
    import trimesh  # heavy: only for file-based meshes

    try:
        keep_order = {"maintain_order": True} if suffix == ".obj" else {}
        loaded = trimesh.load(path, force="mesh", process=False, **keep_order)
    except Exception as error:  # trimesh raises many types for bad files
        raise MeshError(f"{what} {path} could not be read ({error})", "check that the file opens in Blender") from error
    if not isinstance(loaded, trimesh.Trimesh) or len(loaded.faces) == 0:
        raise MeshError(f"{what} {path} contains no triangles (a point cloud or an empty scene?)",
                        "export a mesh with faces")
    return {"vertices": np.asarray(loaded.vertices, dtype=np.float64),
            "faces": np.asarray(loaded.faces, dtype=np.int32)}


def read_mesh(path: str | Path, what: str = "mesh", any_format: bool = False) -> Mesh:
    """A checked Mesh from the protocol's mesh npz (any_format: also .obj/.ply/.glb/...)."""
    arrays = read_mesh_file(path, what) if any_format else read_mesh_npz(path, what)
    try:
        vertices, faces = check_mesh(arrays["vertices"], arrays["faces"], what)
    except ValueError as error:
        raise MeshError(str(error), "send a triangulated mesh with finite vertices") from error
    return Mesh(vertices, faces, {k: v for k, v in arrays.items() if k not in ("vertices", "faces")})


def read_contact_file(path: str | Path, what: str) -> np.ndarray:
    """Vertex indices (integers) or per-vertex weights (floats) from .npy or .txt (whitespace/comma
    separated), or the per-vertex scores of an estimate / scene-contact result or a mesh npz (.npz).
    Errors are ValueErrors that name `what` ("body contact file ...")."""
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"{what} contact file not found: {path}")
    suffix = path.suffix.lower()
    if suffix == ".npy":
        try:
            values = np.load(path, allow_pickle=False)
        except Exception as error:
            raise ValueError(f"{what} contact file {path} is not a readable .npy array: {error}") from error
        return np.ravel(values)
    if suffix == ".npz":  # the result of `estimate` or `scene-contact`, used as it is
        keys = ("scores", f"{what}_score", "contact")
        try:
            with np.load(path, allow_pickle=False) as data:
                key = next((k for k in keys if k in data.files), None)
                if key is None:
                    raise ValueError(f"has arrays {sorted(data.files)}, none of {', '.join(keys)}")
                return np.ravel(data[key]).astype(np.float64)
        except Exception as error:
            raise ValueError(f"{what} contact file {path}: {error} (use an estimate or scene-contact "
                             "result, or .npy/.txt)") from error
    if suffix != ".txt":
        raise ValueError(f"{what} contact file {path}: use .npy, .txt (vertex indices or one weight per vertex) "
                         "or the .npz result of estimate / scene-contact")
    tokens = [t for t in re.split(r"[\s,;]+", path.read_text()) if t]
    try:
        return np.array([int(t) for t in tokens], dtype=np.int64)
    except ValueError:
        pass
    try:
        return np.array([float(t) for t in tokens], dtype=np.float64)
    except ValueError as error:
        raise ValueError(f"{what} contact file {path} must hold numbers only: {error}") from error
