"""Body sources: Anny (embedded default), SMPL-X (user's model folder), any humanoid mesh.

`load_body(spec)` takes the protocol's body field (see backend/PROTOCOL.md) and returns a Body.
Mesh files are read by backend.meshes.
"""
from __future__ import annotations

from typing import Any

from backend.bodies.base import Body
from backend.protocol import BODY_SOURCES


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
        from backend.meshes import read_mesh_npz

        if "npz" in spec:
            spec = {**read_mesh_npz(spec["npz"], "body mesh"), **{k: v for k, v in spec.items() if k != "npz"}}
        if "vertices" not in spec or "faces" not in spec:
            raise ValueError("body source 'mesh' needs vertices and faces (or an npz path)")
        return mesh_body(spec["vertices"], spec["faces"], spec.get("canonical_vertices"),
                         spec.get("vertex_group_names"), spec.get("vertex_group_index"))
    raise ValueError(f"unknown body source {source!r}; use one of {', '.join(BODY_SOURCES)}")


__all__ = ["Body", "load_body"]
