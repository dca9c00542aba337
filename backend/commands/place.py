"""`python -m backend place`: move the object (or the body) so its contact region meets the other's.

Writes DIR/placement.json (4x4 world-space transform of the moved mesh, scale, residuals,
penetration) and the moved mesh as DIR/<name>_placed.<ext>.
"""
from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

import numpy as np

from backend.commands.scene_contact import load_mesh
from backend.protocol import MOVES


def load_contact(path: str | Path, what: str) -> np.ndarray:
    """Vertex indices (integers) or per-vertex weights (floats) from .npy or .txt (whitespace/comma
    separated), or the per-vertex scores of an estimate / scene-contact result (.npz)."""
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"{what} contact file not found: {path}")
    if path.suffix.lower() == ".npy":
        try:
            values = np.load(path, allow_pickle=False)
        except Exception as error:
            raise ValueError(f"{what} contact file {path} is not a readable .npy array: {error}") from error
        return np.ravel(values)
    if path.suffix.lower() == ".npz":  # the result of `estimate` or `scene-contact`, used as it is
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
    if path.suffix.lower() != ".txt":
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


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--body", required=True, help="body mesh in world space (.obj .ply .glb ...)")
    parser.add_argument("--object", required=True, help="object mesh in the same world space")
    parser.add_argument("--body-contact", required=True, help="body contact: vertex indices or per-vertex weights (.npy/.txt), "
                        "or an estimate / scene-contact result (.npz)")
    parser.add_argument("--object-contact", required=True, help="object contact: vertex indices or per-vertex weights (.npy/.txt), "
                        "or an estimate / scene-contact result (.npz)")
    parser.add_argument("--scale", action="store_true", help="also solve for a uniform scale")
    parser.add_argument("--move", choices=MOVES, default="object", help="which mesh moves (default object)")
    parser.add_argument("--out", required=True, help="output folder (created if missing)")


def run(args: argparse.Namespace) -> int:
    from backend.placement import apply, place  # scipy: only for this command, not at every start-up

    try:
        body_v, body_f = load_mesh(args.body, "body")
        obj_v, obj_f = load_mesh(args.object, "object")
        body_c = load_contact(args.body_contact, "body")
        obj_c = load_contact(args.object_contact, "object")
        result = place(body_v, body_f, obj_v, obj_f, body_c, obj_c, scale=args.scale, move=args.move)
    except ValueError as error:
        print(f"error: {error}", flush=True)
        return 2
    import trimesh

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    source = Path(args.object if args.move == "object" else args.body)
    vertices, faces = (obj_v, obj_f) if args.move == "object" else (body_v, body_f)
    suffix = source.suffix.lower() if source.suffix.lower() in (".obj", ".ply", ".stl", ".glb", ".off", ".npz") else ".ply"
    moved_path = out / f"{source.stem}_placed{suffix}"
    if suffix == ".npz":
        np.savez(moved_path, vertices=apply(result.transform, vertices).astype(np.float32), faces=faces)
    else:
        trimesh.Trimesh(apply(result.transform, vertices), faces, process=False).export(moved_path)
    summary = result.summary()
    summary.update({"moved_mesh": str(moved_path), "body_file": str(args.body), "object_file": str(args.object)})
    (out / "placement.json").write_text(json.dumps(summary, indent=2))
    print(f"moved the {args.move}: rotation {summary['rotation_deg']:.2f} deg, translation "
          f"{np.round(result.transform[:3, 3], 4).tolist()}, scale {result.scale:.4f}; contact residual mean "
          f"{result.residual_mean:.4g} max {result.residual_max:.4g}; {result.penetrating_vertices} object vertices "
          f"inside the body (max depth {result.max_penetration_depth:.4g}); wrote {out}")
    return 0
