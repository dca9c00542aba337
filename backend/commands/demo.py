"""`python -m backend demo --out DIR`: the main job on the embedded default (Anny body).

Renders the default body from the canonical 4-view rig and writes, into DIR: one shaded PNG per
view, a part-coloured contact sheet, and `body.npz` (vertices, faces, parts, per-vertex
visibility), so a newcomer sees the Render and Lift stages work end to end.
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from backend.commands import check_resolution
from backend.protocol import DEFAULT_RESOLUTION


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", type=Path, default=Path("demo_out"), help="output folder (default demo_out/)")
    parser.add_argument("--resolution", type=int, default=DEFAULT_RESOLUTION,
                        help=f"render size in pixels (default {DEFAULT_RESOLUTION})")


def part_colours(n_parts: int) -> np.ndarray:
    """A fixed, well-spread palette (golden-ratio hues) so neighbouring parts differ."""
    import colorsys

    return np.array([colorsys.hsv_to_rgb((i * 0.618034) % 1.0, 0.65, 1.0) for i in range(n_parts)]) * 255


def run(args: argparse.Namespace) -> int:
    from PIL import Image

    from backend.bodies import load_body
    from backend.bodies.parts import PARTS
    from backend.cameras import body_rig
    from backend.lift import lift
    from backend.render import render

    check_resolution(args.resolution)
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    body = load_body({"source": "anny"})
    views = render(body.canonical_vertices, body.faces, body_rig(body.canonical_vertices, args.resolution))
    _, seen = lift(views, np.zeros(views.tri_ids.shape, np.float32))
    palette = part_colours(len(PARTS))
    face_parts = body.parts[body.faces[:, 0]]
    sheet = []
    for i, camera in enumerate(views.cameras):
        Image.fromarray(views.shaded[i]).save(out / f"view_{camera.name}.png")
        tri = views.tri_ids[i]
        coloured = np.full(tri.shape + (3,), 255, np.uint8)
        fg = tri >= 0
        coloured[fg] = (palette[face_parts[tri[fg]]] * (views.shaded[i][fg, None] / 255.0)).astype(np.uint8)
        sheet.append(coloured)
    Image.fromarray(np.concatenate(sheet, axis=1)).save(out / "parts_sheet.png")
    np.savez_compressed(out / "body.npz", vertices=body.vertices, faces=body.faces, parts=body.parts, seen=seen,
                        part_names=np.array(PARTS))
    print(f"demo: Anny body {body.n_vertices} vertices, 4 views at {args.resolution}²; "
          f"{(seen > 0).mean():.1%} of vertices seen; {time.perf_counter() - start:.1f} s")
    print(f"demo: wrote {out}/view_*.png, parts_sheet.png, body.npz")
    return 0
