"""`python -m backend place`: move the object (or the body) so its contact region meets the other's.

Writes DIR/placement.json (4x4 world-space transform of the moved mesh, scale, residuals,
penetration) and the moved mesh as DIR/<name>_placed.<ext>.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from backend.commands import CommandError
from backend.commands.scene_contact import read_world_mesh
from backend.meshes import read_contact_file
from backend.protocol import MOVES

# Formats the moved mesh is written in when its input had one of them (else .ply).
MOVED_SUFFIXES = (".obj", ".ply", ".stl", ".glb", ".off", ".npz")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--body", required=True, help="body mesh in world space (.obj .ply .glb ...)")
    parser.add_argument("--object", required=True, help="object mesh in the same world space")
    parser.add_argument("--body-contact", required=True,
                        help="body contact: vertex indices or per-vertex weights (.npy/.txt), "
                        "or an estimate / scene-contact result (.npz)")
    parser.add_argument("--object-contact", required=True,
                        help="object contact: vertex indices or per-vertex weights (.npy/.txt), "
                        "or an estimate / scene-contact result (.npz)")
    parser.add_argument("--scale", action="store_true", help="also solve for a uniform scale")
    parser.add_argument("--move", choices=MOVES, default="object", help="which mesh moves (default object)")
    parser.add_argument("--out", required=True, help="output folder (created if missing)")


def run(args: argparse.Namespace) -> int:
    from backend.placement import apply, place  # scipy: only for this command, not at every start-up

    try:
        body_v, body_f = read_world_mesh(args.body, "body")
        obj_v, obj_f = read_world_mesh(args.object, "object")
        body_c = read_contact_file(args.body_contact, "body")
        obj_c = read_contact_file(args.object_contact, "object")
        result = place(body_v, body_f, obj_v, obj_f, body_c, obj_c, scale=args.scale, move=args.move)
    except (ValueError, FileNotFoundError) as error:
        raise CommandError(str(error)) from None
    import trimesh

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    source = Path(args.object if args.move == "object" else args.body)
    vertices, faces = (obj_v, obj_f) if args.move == "object" else (body_v, body_f)
    suffix = source.suffix.lower() if source.suffix.lower() in MOVED_SUFFIXES else ".ply"
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
