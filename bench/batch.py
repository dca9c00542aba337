"""Batch throughput: the same 24-item list serial (one warm local worker) vs Ray local with 2 actors.

Usage: python bench/batch.py [--resolution 1024] [--localizer default] [--workers 2]
Items: 8 photos of tests/data (the 7 Anny renders and the astronaut) x 3 tasks (human contact, semantic
contact with `chair`, with `bag`), Anny body, the embedded default localizer. Serial = the local
executor in this process, run twice: with torch's default threads (all cores, what `batch` does by
default) and with 1 thread; RESULT takes the faster of the two. Ray = a local Ray instance with
--workers actors of 1 CPU / 1 torch thread each. Throughput is counted from warm workers (localizer
loaded) to the last record; start-up (Ray instance + actors loading the localizer) is its own row.
identical = 1 when every item has the same contact set (scores >= 0.5) in both runs.
The table splits the per-item cost into the pipeline's stages (mean seconds per item in each run).
Last line: RESULT serial_items_per_min=<f> ray_items_per_min=<f> identical=<0|1>
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

PHOTOS = ("anny_sit.jpg", "anny_sit2.jpg", "anny_hold.jpg", "anny_stand.jpg", "anny_carry.jpg", "anny_grip.jpg",
          "anny_lie.jpg", "astronaut.jpg")
TASKS = (("human_contact", None), ("semantic_contact", "chair"), ("semantic_contact", "bag"))
STAGES = ("meshes", "load", "render", "localize", "lift", "write", "outputs")


def items(resolution: int):
    from backend.batch.items import Item

    return [Item(id=f"{Path(photo).stem}.{label or 'contact'}", image=str(ROOT / "tests" / "data" / photo),
                 task=task, label=label, resolution=resolution) for photo in PHOTOS for task, label in TASKS]


def run(executor, batch, out: Path, settings) -> tuple[float, float, list[dict]]:
    """(start-up s, warm batch s, records) of one executor."""
    from backend.batch.runner import run_batch

    start = time.perf_counter()
    executor.start()
    warm = time.perf_counter()
    outcome = run_batch(batch, out, executor, settings, index=None, show_progress=False)
    return warm - start, outcome.seconds, outcome.records


def split(records: list[dict]) -> dict[str, float]:
    ok = [r for r in records if r["status"] == "ok"]
    means = {s: float(np.mean([r["timings"].get(s, 0.0) for r in ok])) for s in STAGES}
    total = float(np.mean([r["timings"]["total"] for r in ok]))
    means["other"] = total - sum(means.values())
    means["total"] = total
    return means


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--resolution", type=int, default=1024)
    parser.add_argument("--localizer", default="default")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()

    from backend.batch.executors import LocalExecutor
    from backend.batch.ray_executor import RayExecutor
    from backend.batch.worker import BatchSettings

    batch = items(args.resolution)
    with tempfile.TemporaryDirectory(prefix="ivlm_bench_batch_") as tmp:
        serial_settings = BatchSettings(localizer=args.localizer, device="cpu")
        serial_all = run(LocalExecutor(serial_settings), batch, Path(tmp) / "serial", serial_settings)
        one_settings = BatchSettings(localizer=args.localizer, device="cpu", threads=1)
        serial_one = run(LocalExecutor(one_settings), batch, Path(tmp) / "serial1", one_settings)
        serial = min(serial_all, serial_one, key=lambda r: r[1])
        ray_settings = BatchSettings(localizer=args.localizer, device="cpu", threads=1)
        ray = run(RayExecutor(ray_settings, workers=args.workers, local_cpus=args.workers), batch,
                  Path(tmp) / "ray", ray_settings)
        failed = {r["item"]: r["error"]["code"] for r in serial[2] + ray[2] if r["status"] != "ok"}
        identical, max_diff = True, 0.0
        for item in batch:
            paths = [Path(tmp) / run_name / f"{item.id}.npz" for run_name in ("ray", "serial", "serial1")]
            if not all(p.is_file() for p in paths):
                identical = identical and not any(p.is_file() for p in paths)
                continue
            reference, *others = (np.load(p)["scores"] for p in paths)
            for other in others:
                identical = identical and bool(np.array_equal(reference >= 0.5, other >= 0.5))
                max_diff = max(max_diff, float(np.abs(reference - other).max()))
    n = len(batch)
    rates = [n / seconds * 60.0 for _, seconds, _ in (serial, ray)]
    threads = serial_all[2][0]["worker"]["torch_threads"]
    print(f"{n} items (8 photos x 3 tasks, Anny, {args.localizer} localizer, {args.resolution} px), "
          f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at the end; ray: {args.workers} actors x 1 "
          "torch thread")
    print()
    print("| run | start-up s | batch s | items/min |")
    print("|---|---|---|---|")
    runs = ((f"serial, 1 warm local worker x {threads} torch threads", serial_all),
            ("serial, 1 warm local worker x 1 torch thread", serial_one), (f"ray local, {args.workers} actors", ray))
    for name, (startup, seconds, _) in runs:
        print(f"| {name} | {startup:.1f} | {seconds:.1f} | {n / seconds * 60.0:.1f} |")
    print()
    print("per-item cost, mean s (one worker's view: ray's stages run 2 at a time)")
    print("| stage | " + " | ".join(STAGES) + " | other | total |")
    print("|---|" + "---|" * (len(STAGES) + 2))
    for name, (_, _, records) in ((f"serial x {threads}", serial_all), ("serial x 1", serial_one), ("ray", ray)):
        means = split(records)
        print(f"| {name} | " + " | ".join(f"{means[s]:.3f}" for s in (*STAGES, "other", "total")) + " |")
    print()
    print(f"ray / faster serial = {rates[1] / rates[0]:.2f}x; max |score difference| {max_diff:.2e}; "
          f"failed items: {failed or 'none'}")
    print(f"RESULT serial_items_per_min={rates[0]:.2f} ray_items_per_min={rates[1]:.2f} identical={int(identical)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
