"""Check an npz before numpy inflates it: a zip at all, and members whose declared sizes fit the mesh they claim.

An npz is a zip of .npy files. `np.load(...)[key]` allocates what the member's .npy header declares and then
inflates the member, so a 1.2 MB file of deflated zeros costs 1.5 GB before any shape check runs; a file that
is not a zip (truncated: the zip directory is at the end; random bytes) makes numpy fall back to unpickling and
answer "Cannot load file containing pickled data". Here only the zip directory and each member's first bytes
(its .npy header: shape and dtype) are read, and nothing larger than those headers is inflated.

Limits (mesh npz of the protocol, backend/PROTOCOL.md): at most MAX_VERTICES vertices; faces at most
FACES_PER_VERTEX per vertex (a closed triangle mesh has 2, so twice that); per-vertex arrays (canonical
vertices, group index, contact) at most one row per vertex. A 10M-vertex mesh stays under about 1 GB.
"""
from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Mapping

import numpy as np

MAX_VERTICES = 10_000_000
FACES_PER_VERTEX = 4
MAX_GROUP_NAMES, MAX_NAME_BYTES = 65_536, 4_096
# npy header bytes read per member; numpy writes headers of 128 bytes (64-byte aligned, version 1.0).
_HEADER_READ = 65_536


class NpzError(ValueError):
    """The file is not an npz, is truncated, or declares arrays out of proportion (message says which)."""


def npz_headers(path: str | Path, names: tuple[str, ...] | None = None) -> dict[str, tuple[tuple[int, ...], np.dtype]]:
    """{array name: (shape, dtype)} from the .npy headers of the members (all, or `names` where present),
    without inflating their data. NpzError for a file that is not a complete zip of .npy members."""
    path = Path(path)
    try:
        with zipfile.ZipFile(path) as archive:
            members = {info.filename[:-4]: info for info in archive.infolist() if info.filename.endswith(".npy")}
            wanted = members if names is None else {n: members[n] for n in names if n in members}
            headers = {}
            for name, info in wanted.items():
                with archive.open(info) as stream:
                    headers[name] = _npy_header(stream, f"{path.name}:{name}")
    except zipfile.BadZipFile as error:
        raise NpzError(f"{path} is truncated or not an npz (a zip of .npy arrays): {error}") from error
    except (EOFError, OSError, ValueError) as error:
        if isinstance(error, NpzError):
            raise
        raise NpzError(f"{path} is damaged: {type(error).__name__}: {error}") from error
    return headers


def _npy_header(stream, where: str) -> tuple[tuple[int, ...], np.dtype]:
    fmt = np.lib.format
    try:
        version = fmt.read_magic(stream)
        read = fmt.read_array_header_1_0 if version == (1, 0) else fmt.read_array_header_2_0
        shape, _fortran, dtype = read(stream, max_header_size=_HEADER_READ)
    except (ValueError, EOFError) as error:
        raise NpzError(f"{where} is not a .npy array ({error})") from error
    return tuple(int(n) for n in shape), np.dtype(dtype)


def _elements(shape: tuple[int, ...]) -> int:
    return int(np.prod(shape, dtype=object)) if shape else 1  # object: no int64 overflow on lying headers


def check_member_sizes(path: str | Path, max_elements: Mapping[str, int], what: str) -> None:
    """NpzError unless every member named in `max_elements` declares at most that many elements (absent
    members are the reader's business). Object arrays are refused here too: they are pickles."""
    headers = npz_headers(path, tuple(max_elements))
    for name, (shape, dtype) in headers.items():
        if dtype.hasobject:
            raise NpzError(f"{what} {path}: array {name!r} holds Python objects (a pickle), not numbers; "
                           "write it with numpy.savez from numeric arrays")
        if _elements(shape) > max_elements[name]:
            raise NpzError(f"{what} {path}: array {name!r} declares shape {shape} ({_elements(shape):,} values), "
                           f"out of proportion to the mesh (at most {max_elements[name]:,}); the file is damaged or "
                           "not what it claims to be")


def check_mesh_npz(path: str | Path, what: str = "mesh") -> None:
    """Before np.load: a mesh npz (vertices, faces, canonical_vertices, vertex_group_names/index, contact)
    whose arrays are in proportion to its vertex count. Called by every reader of client mesh npz files."""
    headers = npz_headers(path, ("vertices",))
    if "vertices" not in headers:
        return  # the reader reports the missing array with the file's member list
    shape = headers["vertices"][0]
    n = shape[0] if shape else 0
    if n > MAX_VERTICES:
        raise NpzError(f"{what} {path}: vertices declares {n:,} vertices, more than the {MAX_VERTICES:,} this "
                       "backend reads; decimate the mesh first")
    per_vertex = 3 * max(n, 1)
    check_member_sizes(path, {"vertices": per_vertex, "faces": 3 * FACES_PER_VERTEX * max(n, 1) + 3,
                              "canonical_vertices": per_vertex, "vertex_group_index": max(n, 1),
                              "contact": max(n, 1), "vertex_group_names": MAX_GROUP_NAMES}, what)
    names = npz_headers(path, ("vertex_group_names",)).get("vertex_group_names")
    if names is not None and names[1].itemsize > MAX_NAME_BYTES:
        raise NpzError(f"{what} {path}: vertex_group_names declares {names[1].itemsize:,}-byte names; "
                       f"at most {MAX_NAME_BYTES:,}")
