"""How long the add-on holds Blender's main thread while an estimate runs (target: every step < 100 ms).

Usage: python bench/blender_main_thread.py [--subdivisions 6] [--resolution 1024] [--repeats 3]
Real headless Blender (the bpy module) with the add-on registered, against the real backend worker,
on an ellipsoid body (ico sphere; subdivisions 6: 10,242 vertices, SMPL-X size) at --resolution
px views. The modal operator's work is timed piece by piece, as its timer calls it: the start
(checks, mesh arrays, request files, submit), every poll tick (runner.Run.step plus the progress
shown in the panel and status bar, ops_job.show_progress), and every result-writing step.
Baseline measured in the same run: the same job run blocking (runner.run, what a script call does),
which holds the main thread for the whole job. Uses the tests-only localizer
(tests/testing_localizers.py, contact = the lowest surface points): the main thread's share does
not depend on the localizer. The last line is
`RESULT longest_step_ms=... start_ms=... poll_max_ms=... write_max_ms=... blocking_s=... vertices=...`.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
TARGET_S = 0.1


def make_photo(folder: Path) -> Path:
    import numpy as np
    from PIL import Image

    path = folder / "photo.png"
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (96, 64, 3), dtype=np.uint8)).save(path)
    return path


def timed_run(bpy, params) -> dict[str, list[float]]:
    """One estimate, stepped as the modal operator's timer would: seconds per piece of main-thread work."""
    from interactvlm_blender import estimate, ops_job, runner

    start = time.perf_counter()
    current = runner.start(lambda: estimate.start_job(bpy.context, params), estimate.apply_steps)
    times = {"start": [time.perf_counter() - start], "poll": [], "write": []}
    while True:
        begin = time.perf_counter()
        ended = current.step()
        if not ended:
            ops_job.show_progress(bpy.context, current.job)
            ops_job.redraw(bpy.context)
        elapsed = time.perf_counter() - begin
        times["write" if current.applied else "poll"].append(elapsed)
        if ended:
            break
        time.sleep(0.01)
    ops_job.show_progress(bpy.context, None)
    if current.job.state != runner.DONE or current.error:
        raise SystemExit(f"the job failed: {current.job.message or current.error}")
    return times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--subdivisions", type=int, default=6, help="ico sphere subdivisions of the body")
    parser.add_argument("--resolution", type=int, default=1024, help="render size of each view")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    os.environ["INTERACTVLM_EXTRA_LOCALIZERS"] = "tests.testing_localizers"  # inherited by the worker
    import bpy

    import interactvlm_blender
    from interactvlm_blender import estimate, prefs, runner

    interactvlm_blender.register()
    prefs.get_prefs().backend_python = str(ROOT / ".venv" / "bin" / "python")
    try:
        for obj in list(bpy.data.objects):
            bpy.data.objects.remove(obj)
        bpy.ops.mesh.primitive_ico_sphere_add(subdivisions=args.subdivisions, radius=1.0, location=(0, 0, 0.85))
        body = bpy.context.active_object
        body.name, body.scale = "Body", (0.25, 0.15, 0.85)
        vertices = len(body.data.vertices)
        with tempfile.TemporaryDirectory() as folder:
            params = estimate.EstimateParams(image_path=str(make_photo(Path(folder))), body="Body",
                                             localizer="testing-lowest", resolution=args.resolution)
            timed_run(bpy, params)  # warm-up: starts the worker, loads the localizer
            blocking, runs = [], []
            for _ in range(args.repeats):
                begin = time.perf_counter()
                done = runner.run(lambda: estimate.start_job(bpy.context, params), estimate.apply_steps)
                blocking.append(time.perf_counter() - begin)
                assert done.job.state == runner.DONE and not done.error, done.job.message or done.error
                runs.append(timed_run(bpy, params))
    finally:
        interactvlm_blender.unregister()

    def worst(kind: str) -> float:
        return max(max(run[kind]) for run in runs)

    polls = [t for run in runs for t in run["poll"]]
    writes = [t for run in runs for t in run["write"]]
    print(f"body: ico sphere, {vertices:,} vertices; views {args.resolution} px; {args.repeats} runs after a warm-up")
    print("| main-thread work | count per run | median ms | max ms |")
    print("|---|---|---|---|")
    print(f"| blocking run (baseline: runner.run, a script call) | 1 | {statistics.median(blocking) * 1000:.0f} | "
          f"{max(blocking) * 1000:.0f} |")
    print(f"| modal: start (checks, mesh arrays, request files, submit) | 1 | "
          f"{statistics.median(r['start'][0] for r in runs) * 1000:.1f} | {worst('start') * 1000:.1f} |")
    print(f"| modal: poll tick (step + progress shown) | {len(polls) // len(runs)} | "
          f"{statistics.median(polls) * 1000:.2f} | {worst('poll') * 1000:.2f} |")
    print(f"| modal: result-writing step (mesh data, then one mask image each) | {len(writes) // len(runs)} | "
          f"{statistics.median(writes) * 1000:.1f} | {worst('write') * 1000:.1f} |")
    longest = max(worst("start"), worst("poll"), worst("write"))
    print(f"longest modal step {longest * 1000:.1f} ms (target < {TARGET_S * 1000:.0f} ms): "
          f"{'met' if longest < TARGET_S else 'NOT met'}")
    print(f"RESULT longest_step_ms={longest * 1000:.1f} start_ms={worst('start') * 1000:.1f} "
          f"poll_max_ms={worst('poll') * 1000:.2f} write_max_ms={worst('write') * 1000:.1f} "
          f"blocking_s={statistics.median(blocking):.3f} vertices={vertices}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
