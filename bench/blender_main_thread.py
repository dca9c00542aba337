"""How long the add-on holds Blender's main thread while an estimate runs (target: every step < 100 ms).

Usage: python bench/blender_main_thread.py [--vertices 10000,1000000] [--resolution 1024] [--repeats 2]
Real headless Blender (the bpy module) with the add-on registered, against the real backend worker,
on a body-sized ellipsoid of quads (tests/blender/blender_helpers.add_ellipsoid) with 55 rig-like
vertex groups (each vertex in 2), per size in --vertices (~10k: SMPL-X size; ~1M: a sculpt-level
mesh) at --resolution px views. The modal operator's work is timed tick by tick, as its timer calls
it (runner.Run.step_for within ops_job.TICK_BUDGET_S, plus the progress shown in the panel and
status bar): the start (runner.start: checks and the first step), the ticks reading the mesh and
its groups and writing the request (preparation), the ticks waiting for the worker, and the ticks
writing the result (mesh data, then one mask image each); then Scene Contact with a ~10k-vertex
prop pressed into the body and Place by Contact from both Scene Contact groups, ticked the same way.
Baselines measured in the same run: the same work in one go, as the blocking path (`blender -b`,
scripts, api.py) does it and as the modal start did before it was split: mesh_io.read_mesh (mesh +
groups) and results.write_result (attributes, group, heat map); and the whole job run blocking
(runner.run), which holds the main thread throughout. Uses the tests-only localizer
(tests/testing_localizers.py, contact = the lowest surface points): the main thread's share does not
depend on the localizer. The last line is `RESULT longest_step_ms=... (the largest size) ...`.
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
sys.path.insert(0, str(ROOT / "tests" / "blender"))
TARGET_S = 0.1
GROUPS = 55
PHASES = ("start", "read", "poll", "write")


def make_photo(folder: Path) -> Path:
    import numpy as np
    from PIL import Image

    path = folder / "photo.png"
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (96, 64, 3), dtype=np.uint8)).save(path)
    return path


def timed_run(bpy, make_job, apply, what: str) -> dict[str, list[float]]:
    """One job, ticked as the modal operator's timer ticks it: seconds per tick, by phase."""
    from interactvlm_blender import ops_job, runner

    begin = time.perf_counter()
    current = runner.start(make_job, apply, what=what)
    times: dict[str, list[float]] = {"start": [time.perf_counter() - begin], "read": [], "poll": [], "write": []}
    while True:
        phase = "read" if getattr(current, "preparing", False) else "write" if current.writing else "poll"
        begin = time.perf_counter()
        ended = current.step_for(ops_job.TICK_BUDGET_S)
        if not ended:
            ops_job.show_progress(bpy.context, current.job)
            ops_job.redraw(bpy.context)
        elapsed = time.perf_counter() - begin
        times["write" if current.applied else phase].append(elapsed)
        if ended:
            break
        time.sleep(0.01)
    ops_job.show_progress(bpy.context, None)
    if current.job.state != runner.DONE or current.error:
        raise SystemExit(f"the job failed: {current.job.message or current.error}")
    return times


def one_go(bpy, body, result_scores) -> tuple[float, float]:
    """Seconds of the blocking path's read (mesh + groups) and write (the mesh data of a result)."""
    from interactvlm_blender import mesh_io, naming, results

    begin = time.perf_counter()
    mesh_io.read_mesh(body, bpy.context.evaluated_depsgraph_get(), "WORLD", with_groups=True,
                      skip_groups=results.our_names(body, "group"))
    read = time.perf_counter() - begin
    begin = time.perf_counter()
    results.write_result(body, "bench", naming.estimate_names("bench"), result_scores, result_scores, 0.5, {})
    return read, time.perf_counter() - begin


def measure(bpy, wanted: int, photo: Path, resolution: int, repeats: int) -> dict:
    import numpy as np
    from blender_helpers import add_ellipsoid, clear_scene

    from interactvlm_blender import estimate, runner, results

    clear_scene(bpy)
    rings = max(4, int(round((wanted - 2) ** 0.5)))
    begin = time.perf_counter()
    body = add_ellipsoid(bpy, rings, rings, groups=GROUPS)
    built = time.perf_counter() - begin
    vertices = len(body.data.vertices)
    params = estimate.EstimateParams(image_path=str(photo), body="Body", localizer="testing-lowest",
                                     resolution=resolution)
    blocking, runs, reads, writes = [], [], [], []
    start_estimate = getattr(estimate, "start_steps", estimate.start_job)  # start_job: the code before the split
    for _ in range(repeats):
        begin = time.perf_counter()
        done = runner.run(lambda: estimate.start_job(bpy.context, params), estimate.apply_steps)
        blocking.append(time.perf_counter() - begin)
        assert done.job.state == runner.DONE and not done.error, done.job.message or done.error
        scores = results.stored_scores(body)
        read, write = one_go(bpy, body, np.ascontiguousarray(scores[::-1]))
        reads.append(read)
        writes.append(write)
        runs.append(timed_run(bpy, lambda: start_estimate(bpy.context, params), estimate.apply_steps, "estimate"))
    pairs = pair_runs(bpy, repeats)
    return {"vertices": vertices, "built_s": built, "blocking": blocking, "runs": runs, "reads": reads,
            "writes": writes, "repeats": repeats, "pairs": pairs}


def pair_runs(bpy, repeats: int) -> dict[str, list[dict[str, list[float]]]]:
    """Scene contact of the body with a ~10k-vertex prop pressed into its side, then Place by Contact
    from both meshes' Scene Contact groups (a 1M-vertex group is read by the vertex loop), ticked as
    their modal operators tick them."""
    from blender_helpers import add_ellipsoid

    from interactvlm_blender import naming, placement, scene_contact

    prop = add_ellipsoid(bpy, 100, 100, name="Prop")
    prop.location = (0.45, 0.0, 0.0)  # 5 cm into the body's side
    bpy.context.view_layer.update()
    group = naming.SCENE_CONTACT_NAMES["group"]
    out: dict[str, list[dict[str, list[float]]]] = {"scene contact": [], "placement": []}
    start_contact = getattr(scene_contact, "start_steps", scene_contact.start_job)  # start_job: before the split
    start_place = getattr(placement, "start_steps", placement.start_job)
    for _ in range(repeats):
        out["scene contact"].append(timed_run(bpy, lambda: start_contact(bpy.context, "Body", "Prop", 0.02),
                                              scene_contact.apply_steps, "scene contact"))
        out["placement"].append(timed_run(bpy, lambda: start_place(bpy.context, "Body", "Prop", group, group),
                                          placement.apply_steps, "placement"))
        prop.location = (0.45, 0.0, 0.0)
        bpy.context.view_layer.update()
    return out


def report(m: dict) -> float:
    runs = m["runs"]

    def all_of(phase: str) -> list[float]:
        return [t for run in runs for t in run[phase]]

    print(f"\nbody: ellipsoid, {m['vertices']:,} vertices, {GROUPS} vertex groups (built in {m['built_s']:.1f} s); "
          f"{m['repeats']} runs")
    print("| main-thread work | ticks per run | median ms | max ms |")
    print("|---|---|---|---|")
    print(f"| baseline: whole job blocking (runner.run, a script call) | 1 | "
          f"{statistics.median(m['blocking']) * 1000:.0f} | {max(m['blocking']) * 1000:.0f} |")
    print(f"| baseline: read mesh + groups in one go (mesh_io.read_mesh) | 1 | "
          f"{statistics.median(m['reads']) * 1000:.0f} | {max(m['reads']) * 1000:.0f} |")
    print(f"| baseline: write the result's mesh data in one go (results.write_result) | 1 | "
          f"{statistics.median(m['writes']) * 1000:.0f} | {max(m['writes']) * 1000:.0f} |")
    labels = {"start": "modal: start (runner.start: checks, worker, first step)",
              "read": "modal: preparation tick (mesh, groups, request files, submit)",
              "poll": "modal: poll tick (step + progress shown)",
              "write": "modal: result-writing tick (mesh data in steps, then one mask image each)"}
    longest = 0.0
    for phase in PHASES:
        values = all_of(phase)
        if not values:
            print(f"| {labels[phase]} | 0 | - | - |")
            continue
        longest = max(longest, max(values))
        print(f"| {labels[phase]} | {len(values) / len(runs):.0f} | {statistics.median(values) * 1000:.1f} | "
              f"{max(values) * 1000:.1f} |")
    for job, job_runs in m.get("pairs", {}).items():
        for phase in PHASES:
            values = [t for run in job_runs for t in run[phase]]
            if values:
                longest = max(longest, max(values))
                print(f"| {job}: {phase} tick | {len(values) / len(job_runs):.0f} | "
                      f"{statistics.median(values) * 1000:.1f} | {max(values) * 1000:.1f} |")
    print(f"longest modal tick {longest * 1000:.1f} ms (target < {TARGET_S * 1000:.0f} ms): "
          f"{'met' if longest < TARGET_S else 'NOT met'}")
    return longest


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--vertices", default="10000,1000000", help="comma-separated body sizes (vertices)")
    parser.add_argument("--resolution", type=int, default=1024, help="render size of each view")
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    sizes = [int(float(v)) for v in args.vertices.split(",")]
    os.environ["INTERACTVLM_EXTRA_LOCALIZERS"] = "tests.testing_localizers"  # inherited by the worker
    import bpy

    import interactvlm_blender
    from blender_helpers import add_ellipsoid, clear_scene

    from interactvlm_blender import estimate, prefs, runner

    interactvlm_blender.register()
    prefs.get_prefs().backend_python = str(ROOT / ".venv" / "bin" / "python")
    measured = []
    try:
        with tempfile.TemporaryDirectory() as folder:
            photo = make_photo(Path(folder))
            clear_scene(bpy)
            add_ellipsoid(bpy, 24, 24)  # warm-up: starts the worker, loads the localizer
            runner.run(lambda: estimate.start_job(bpy.context, estimate.EstimateParams(
                image_path=str(photo), body="Body", localizer="testing-lowest", resolution=args.resolution)),
                estimate.apply_steps)
            for size in sizes:
                measured.append(measure(bpy, size, photo, args.resolution, args.repeats))
    finally:
        interactvlm_blender.unregister()
    print(f"views {args.resolution} px; load average {os.getloadavg()[0]:.1f} at the end")
    longest = [report(m) for m in measured]
    big = measured[-1]
    print(f"RESULT longest_step_ms={longest[-1] * 1000:.1f} vertices={big['vertices']} "
          f"read_one_go_ms={statistics.median(big['reads']) * 1000:.0f} "
          f"write_one_go_ms={statistics.median(big['writes']) * 1000:.0f} "
          f"blocking_s={statistics.median(big['blocking']):.3f} "
          + " ".join(f"longest_step_ms_{m['vertices']}={t * 1000:.1f}" for m, t in zip(measured[:-1], longest[:-1])))
    return 0


if __name__ == "__main__":
    sys.exit(main())
