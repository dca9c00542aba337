"""`python -m backend scene-contact`: exact body/object contact from the meshes as they stand (no image).

Writes DIR/scene_contact.npz (body_score, body_distance, body_penetrating, body_depth and the same
for object_*, indexed by each mesh's own vertex order) and DIR/scene_contact.json (summary).
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from backend.protocol import DEFAULT_SCENE_THRESHOLD
from backend.scene_jobs import SCENE_CONTACT_RESULT, scene_contact_arrays

MESH_SUFFIXES = (".obj", ".ply", ".stl", ".glb", ".gltf", ".off", ".npz")


def load_mesh(path: str | Path, what: str) -> tuple[np.ndarray, np.ndarray]:
    """World-space (vertices float64 (N,3), faces int32 (F,3)) of a mesh file, vertex order kept.

    Multi-mesh files (glTF scenes) are flattened with their node transforms applied. An .npz holds
    arrays `vertices` (N,3) and `faces` (F,3) (what the Blender add-on writes, no text round trip).
    """
    import trimesh  # heavy import, only for the CLI

    path = Path(path)
    if not path.is_file():
        raise ValueError(f"{what} mesh file not found: {path}")
    if path.suffix.lower() not in MESH_SUFFIXES:
        raise ValueError(f"{what} mesh {path}: unsupported format {path.suffix!r}; use one of {', '.join(MESH_SUFFIXES)}")
    if path.suffix.lower() == ".npz":
        try:
            with np.load(path, allow_pickle=False) as data:
                if "vertices" not in data or "faces" not in data:
                    raise ValueError(f"has arrays {sorted(data.files)}, needs 'vertices' and 'faces'")
                return np.asarray(data["vertices"], dtype=np.float64), np.asarray(data["faces"])
        except ValueError as error:
            raise ValueError(f"{what} mesh {path}: {error}") from error
        except Exception as error:
            raise ValueError(f"{what} mesh {path} is not a readable .npz: {error}") from error
    try:
        kwargs = {"maintain_order": True} if path.suffix.lower() == ".obj" else {}
        mesh = trimesh.load(path, force="mesh", process=False, **kwargs)
    except Exception as error:  # trimesh raises many types for broken files
        raise ValueError(f"{what} mesh {path} could not be read: {error}") from error
    if not isinstance(mesh, trimesh.Trimesh) or len(mesh.faces) == 0:
        raise ValueError(f"{what} mesh {path} has no triangles (a point cloud or an empty scene?)")
    return np.asarray(mesh.vertices, dtype=np.float64), np.asarray(mesh.faces, dtype=np.int32)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--body", required=True, help="body mesh in world space (.obj .ply .glb ...)")
    parser.add_argument("--object", required=True, help="object mesh in the same world space")
    parser.add_argument("--threshold", type=float, default=DEFAULT_SCENE_THRESHOLD,
                        help="contact distance in scene units (default 0.02 = 2 cm in metres)")
    parser.add_argument("--out", required=True, help="output folder (created if missing)")


def run(args: argparse.Namespace) -> int:
    from backend.scene_contact import scene_contact  # scipy: only for this command, not at every start-up

    try:
        body_v, body_f = load_mesh(args.body, "body")
        obj_v, obj_f = load_mesh(args.object, "object")
        result = scene_contact(body_v, body_f, obj_v, obj_f, args.threshold)
    except ValueError as error:
        print(f"error: {error}", flush=True)
        return 2
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    np.savez(out / SCENE_CONTACT_RESULT, **scene_contact_arrays(result))
    summary = result.summary()
    summary.update({"body_file": str(args.body), "object_file": str(args.object)})
    (out / "scene_contact.json").write_text(json.dumps(summary, indent=2))
    body, obj = summary["body"], summary["object"]
    print(f"{summary['message']}; body contact vertices {body['contact_vertices']} "
          f"(penetrating {body['penetrating_vertices']}), object contact vertices {obj['contact_vertices']} "
          f"(penetrating {obj['penetrating_vertices']}), max penetration depth "
          f"{max(body['max_penetration_depth'], obj['max_penetration_depth']):.4g}; wrote {out}")
    return 0
