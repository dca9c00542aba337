"""Warm per-item time of an estimate in Blender vs the same job on the warm server (issue 19).

Usage: python bench/blender_item.py [--resolution 1024] [--subdivisions 6] [--repeats 5] [--localizer NAME]
Real headless Blender (the bpy module) with the add-on registered, against the real backend worker,
on an ellipsoid body (ico sphere; subdivisions 6: 10,242 vertices, SMPL-X size). After one warm-up:
- blender item: api.estimate_contact (the script call: checks, mesh arrays, request files, the
  worker's job, reading the result, writing attributes, group and heat map, and the four view-mask
  images), median of --repeats; and the batch item (masks=False, what api.estimate_batch does);
- server item (the baseline, same run): the same request (the same body npz and photo) sent to the
  same warm worker directly (BackendJob.submit + wait: the protocol and the job, nothing in Blender);
- the Blender-side split of one item: start (mesh read + npz write + submit), result read,
  write_result (attributes, group, heat map, record), mask images.
Uses the embedded default localizer; while it is absent, the tests-only localizer stands in and the
table says so. Last line: `RESULT blender_item_s=<f> server_item_s=<f>` (blender = the batch item).
"""
from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from timing import median_seconds  # noqa: E402  (bench/ is the script's folder)
TARGET_RATIO = 1.25


def modal_item(bpy, params, budget: float | None) -> None:
    """The UI operator's path: the run stepped once per ops_job.TIMER_S tick; budget 0.0 = one step
    per tick (before), None = ops_job.TICK_BUDGET_S (now)."""
    from interactvlm_blender import estimate, ops_job, runner

    current = runner.start(lambda: estimate.start_job(bpy.context, params), estimate.apply_steps)
    while not current.step_for(ops_job.TICK_BUDGET_S if budget is None else budget):
        time.sleep(ops_job.TIMER_S)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--resolution", type=int, default=1024)
    parser.add_argument("--subdivisions", type=int, default=6)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--localizer", default="", help="e.g. testing-lowest: a near-free model, so the "
                        "Blender-side share stands out (default: the embedded default localizer)")
    args = parser.parse_args()

    from backend.localizers.registry import DEFAULT_LOCALIZER, unavailable_reason

    localizer, label = DEFAULT_LOCALIZER, "default (embedded)"
    if args.localizer:
        localizer, label = args.localizer, args.localizer
    elif unavailable_reason(DEFAULT_LOCALIZER) is not None:
        localizer, label = "testing-lowest", "testing-lowest (TESTS-ONLY FALLBACK: default localizer absent)"
    os.environ["INTERACTVLM_EXTRA_LOCALIZERS"] = "tests.testing_localizers"  # inherited by the worker
    import bpy

    import interactvlm_blender
    from interactvlm_blender import api, client, estimate, prefs, protocol, results, runner

    interactvlm_blender.register()
    user_prefs = prefs.get_prefs()
    user_prefs.backend_python = str(ROOT / ".venv" / "bin" / "python")
    user_prefs.device = "cpu"
    tmp = Path(tempfile.mkdtemp(prefix="ivlm-bench-item-"))
    try:
        for obj in list(bpy.data.objects):
            bpy.data.objects.remove(obj)
        bpy.ops.mesh.primitive_ico_sphere_add(subdivisions=args.subdivisions, radius=1.0, location=(0, 0, 0.85))
        body = bpy.context.active_object
        body.name, body.scale = "Body", (0.25, 0.15, 0.85)
        n_vertices = len(body.data.vertices)
        photo = ROOT / "tests" / "data" / "anny_sit.jpg"
        job_args = dict(image=str(photo), body="Body", localizer=localizer, resolution=args.resolution)

        kept: dict[str, Path] = {}

        def keep_files(job):  # the request's body npz and the result npz, for the server run and the split
            shutil.copy(job.job_dir / "body.npz", tmp / "body.npz")
            shutil.copy(job.result_path, tmp / "result.npz")
            kept["body"], kept["result"] = tmp / "body.npz", tmp / "result.npz"
            yield from estimate.apply_steps(job)

        params = estimate.EstimateParams(image_path=str(photo), body="Body", localizer=localizer,
                                         resolution=args.resolution)
        runner.run(lambda: estimate.start_job(bpy.context, params), keep_files)  # warm-up (loads the localizer)

        worker = client.get_worker(user_prefs)
        fields = protocol.estimate_request(image=str(photo.resolve()), out_dir=tmp / "out", task="human_contact",
                                           label="", body_npz=kept["body"], smplx_dir=None, gender="neutral",
                                           object_npz=None, localizer=localizer, device="cpu",
                                           resolution=args.resolution, checkpoint_dir=None)

        def server_item() -> None:
            state = runner.wait(runner.BackendJob.submit(worker, "estimate", fields))
            if state != runner.DONE:
                raise SystemExit(f"the server job ended {state}")

        # Interleaved per repeat, the order rotated each time: the shared machine's load drifts.
        jobs = {"server": server_item, "batch": lambda: api.estimate_contact(**job_args, masks=False),
                "full": lambda: api.estimate_contact(**job_args), "modal_before": lambda: modal_item(bpy, params, 0.0),
                "modal_now": lambda: modal_item(bpy, params, None)}
        timed: dict[str, list[float]] = {name: [] for name in jobs}
        for repeat in range(args.repeats):
            names = list(jobs)[repeat % len(jobs):] + list(jobs)[:repeat % len(jobs)]
            for name in names:
                timed[name].append(median_seconds(jobs[name], 1))
        server, blender_batch, blender_full = (statistics.median(timed[k]) for k in ("server", "batch", "full"))
        modal = {0.0: statistics.median(timed["modal_before"]), None: statistics.median(timed["modal_now"])}

        # The Blender-side split of one item (medians).
        from interactvlm_blender import mesh_io, naming

        depsgraph = bpy.context.evaluated_depsgraph_get()
        read_mesh = median_seconds(lambda: mesh_io.read_mesh(body, depsgraph, "WORLD", with_groups=True,
                                                          skip_groups=results.our_names(body, "group")),
                                args.repeats)
        arrays = mesh_io.read_mesh(body, depsgraph, "WORLD", with_groups=True)
        write_npz = median_seconds(lambda: mesh_io.write_request_mesh(tmp / "w.npz", arrays), args.repeats)
        read_all = median_seconds(lambda: protocol.read_result("estimate", kept["result"]), args.repeats)
        read_scores = median_seconds(lambda: protocol.read_result("estimate", kept["result"], ("scores",)),
                                     args.repeats)
        result = protocol.read_result("estimate", kept["result"])
        names = naming.estimate_names("")
        write = median_seconds(lambda: results.write_result(body, "", names, result["scores"], result["scores"], 0.5,
                                                         {"task": "human_contact", "label": "", "threshold": 0.5}),
                            args.repeats)
        masks = median_seconds(lambda: [results.write_mask_image(body, "", m, str(v))
                                     for m, v in zip(result["masks"], result["view_names"])], args.repeats)
    finally:
        api.stop_backend()
        interactvlm_blender.unregister()
        shutil.rmtree(tmp, ignore_errors=True)

    ratio = blender_batch / server
    print(f"Warm estimate per item, {args.resolution} px views, {n_vertices}-vertex body "
          f"(subdivisions {args.subdivisions}), localizer {label}, device cpu, median of {args.repeats}.")
    print("Machine shared with other helpers' jobs: absolute numbers vary run to run; the ratio is same-run.")
    print(f"{'what':<58}{'seconds':>10}")
    for name, value in [
        ("server item (same request, worker directly) [baseline]", server),
        ("blender item, batch (api.estimate_contact masks=False)", blender_batch),
        ("blender item, with the 4 mask images (masks=True)", blender_full),
        ("modal operator path, one step per 0.1 s tick (before)", modal[0.0]),
        ("modal operator path, steps within a 30 ms tick budget", modal[None]),
        ("  split: read mesh + groups (mesh_io.read_mesh)", read_mesh),
        ("  split: write request mesh npz", write_npz),
        ("  split: read result npz, all arrays (before)", read_all),
        ("  split: read result npz, scores only (batch)", read_scores),
        ("  split: write_result (attributes, group, heat map)", write),
        ("  split: 4 mask images", masks),
    ]:
        print(f"{name:<58}{value:>10.3f}")
    print(f"blender/server = {ratio:.2f} (target <= {TARGET_RATIO})")
    print(f"RESULT blender_item_s={blender_batch:.4f} server_item_s={server:.4f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
