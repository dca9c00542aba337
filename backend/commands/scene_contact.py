"""`python -m backend scene-contact`: exact body/object contact from the meshes as they stand (no image).

Writes DIR/scene_contact.npz (body_score, body_distance, body_penetrating, body_depth and the same
for object_*, indexed by each mesh's own vertex order) and DIR/scene_contact.json (summary).
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from backend.commands import CommandError
from backend.jobs import JOBS
from backend.meshes import read_mesh_file
from backend.protocol import DEFAULT_CONTACT_DISTANCE
from backend.scene_runners import scene_contact_arrays


def read_world_mesh(path: str | Path, what: str) -> tuple[np.ndarray, np.ndarray]:
    """World-space (vertices float64 (N,3), faces (F,3)) of any mesh file, vertex order kept; the
    scene functions check them."""
    arrays = read_mesh_file(path, f"{what} mesh")
    return np.asarray(arrays["vertices"], dtype=np.float64), np.asarray(arrays["faces"])


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--body", required=True, help="body mesh in world space (.obj .ply .glb ...)")
    parser.add_argument("--object", required=True, help="object mesh in the same world space")
    parser.add_argument("--contact-distance", "--threshold", dest="contact_distance", type=float,
                        default=DEFAULT_CONTACT_DISTANCE,
                        help=f"contact distance in scene units (default {DEFAULT_CONTACT_DISTANCE:g} = 2 cm in metres; "
                             "--threshold is its old name)")
    parser.add_argument("--out", required=True, help="output folder (created if missing)")


def run(args: argparse.Namespace) -> int:
    from backend.scene_contact import scene_contact  # scipy: only for this command, not at every start-up

    try:
        body_v, body_f = read_world_mesh(args.body, "body")
        obj_v, obj_f = read_world_mesh(args.object, "object")
        result = scene_contact(body_v, body_f, obj_v, obj_f, args.contact_distance)
    except (ValueError, FileNotFoundError) as error:
        raise CommandError(str(error)) from None
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    np.savez(out / JOBS["scene_contact"].result_name, **scene_contact_arrays(result))
    summary = result.summary()
    summary.update({"body_file": str(args.body), "object_file": str(args.object)})
    (out / "scene_contact.json").write_text(json.dumps(summary, indent=2))
    body, obj = summary["body"], summary["object"]
    print(f"{summary['message']}; body contact vertices {body['contact_vertices']} "
          f"(penetrating {body['penetrating_vertices']}), object contact vertices {obj['contact_vertices']} "
          f"(penetrating {obj['penetrating_vertices']}), max penetration depth "
          f"{max(body['max_penetration_depth'], obj['max_penetration_depth']):.4g}; wrote {out}")
    return 0
