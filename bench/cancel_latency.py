"""Time from Cancel to the job's end, cancelled in the middle of a long stage.

Usage: python bench/cancel_latency.py [--vertices 1000000] [--resolution 4096] [--repeats 3]
A body-sized ellipsoid of about --vertices vertices is sent to the stdio worker as a mesh body and
rendered at --resolution² in the 4-view rig (the longest CPU stage). Once the worker reports progress
inside the render stage, `cancel` is sent; the latency is the time from sending it to the
`cancelled` event. Baseline measured in the same run: how long that render stage takes when it is
not cancelled (what a cancel checked only between stages would wait for, at worst).
Target: latency <= 1 s. Last line: `RESULT cancel_latency_s=<median> render_stage_s=<f>`.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def ellipsoid_npz(path: Path, n_vertices: int) -> int:
    """A closed body-sized ellipsoid (UV sphere) with about n_vertices vertices; returns the count."""
    import trimesh

    side = max(8, int(np.sqrt(n_vertices / 2)))  # a UV sphere of count [s, s] has about 2 s² vertices
    sphere = trimesh.creation.uv_sphere(count=[side, side])
    vertices = sphere.vertices * np.array([0.25, 0.15, 0.85]) + np.array([0.0, 0.0, 0.85])
    np.savez(path, vertices=vertices.astype(np.float32), faces=sphere.faces.astype(np.int32))
    return int(len(vertices))


class Worker:
    def __init__(self, env: dict[str, str]) -> None:
        self.proc = subprocess.Popen([sys.executable, "-m", "backend", "serve", "--log-level", "WARNING"],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env, cwd=ROOT)

    def send(self, message: dict) -> None:
        self.proc.stdin.write((json.dumps({"v": 1, **message}) + "\n").encode())
        self.proc.stdin.flush()

    def next_event(self) -> dict:
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"the worker exited (status {self.proc.wait()})")
        return json.loads(line)

    def close(self) -> None:
        self.proc.stdin.close()
        self.proc.wait(timeout=60)


def run_once(worker: Worker, job: dict, job_id: str, cancel: bool) -> tuple[float, float]:
    """(cancel latency or nan, render stage seconds or nan) for one estimate."""
    worker.send({"id": job_id, "op": "estimate", **job})
    render_start = sent = float("nan")
    while True:
        event = worker.next_event()
        kind = event.get("event")
        if kind == "progress" and event.get("stage") == "render":
            if np.isnan(render_start):
                render_start = time.perf_counter()
            elif cancel and np.isnan(sent):  # a second render event: the stage is under way
                worker.send({"id": f"{job_id}-cancel", "op": "cancel", "target": job_id})
                sent = time.perf_counter()
        elif kind == "progress" and event.get("stage") == "localize" and not cancel:
            return float("nan"), time.perf_counter() - render_start
        elif kind == "cancelled":
            return time.perf_counter() - sent, float("nan")
        elif kind in ("result", "error"):
            if kind == "error":
                raise RuntimeError(f"{event.get('code')}: {event.get('message')}")
            if cancel:
                raise RuntimeError("the job finished before the cancel took effect")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--vertices", type=int, default=1_000_000)
    parser.add_argument("--resolution", type=int, default=4096)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    env = dict(os.environ, PYTHONPATH=str(ROOT), INTERACTVLM_EXTRA_LOCALIZERS="tests.testing_localizers")
    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        count = ellipsoid_npz(tmp_path / "body.npz", args.vertices)
        from PIL import Image

        Image.new("RGB", (64, 96), (128, 128, 128)).save(tmp_path / "photo.png")
        job = {"image": str(tmp_path / "photo.png"), "body": {"source": "mesh", "npz": str(tmp_path / "body.npz")},
               "task": "human_contact", "localizer": "testing-lowest", "device": "cpu",
               "resolution": args.resolution, "out_dir": str(tmp_path / "out")}
        worker = Worker(env)
        try:
            worker.send({"id": "hello", "op": "hello"})
            worker.next_event()
            _, stage_s = run_once(worker, job, "baseline", cancel=False)
            while worker.next_event().get("event") not in ("result", "error"):  # let the baseline job end
                pass
            latencies = [run_once(worker, job, f"cancel{i}", cancel=True)[0] for i in range(args.repeats)]
        finally:
            worker.close()
    median = statistics.median(latencies)
    print(f"mesh body of {count:,} vertices, 4 views at {args.resolution}px, tests-only localizer, CPU")
    print(f"{'measure':<56} {'seconds':>8}")
    print(f"{'baseline: the render stage, not cancelled':<56} {stage_s:>8.3f}")
    print(f"{'cancel -> cancelled, inside the render stage (median)':<56} {median:>8.3f}")
    print(f"{'  worst of ' + str(args.repeats):<56} {max(latencies):>8.3f}")
    print(f"RESULT cancel_latency_s={median:.3f} render_stage_s={stage_s:.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
