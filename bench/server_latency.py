"""Latency of the stdio server as the add-on sees it: cold start, warm request, peak memory.

Usage: python bench/server_latency.py [--resolution 1024] [--repeats 5] [--image PHOTO]
Cold start = spawn `python -m backend serve` until its `hello` event; warm request = one `estimate`
(Anny body, one photo) on a server that already answered one, from sending the line to the
`result` event. Both are medians of --repeats. Peak RSS = the worker's VmHWM (/proc/<pid>/status).
Baselines measured in the same run: spawning a bare interpreter that imports numpy (the floor of
any cold start) and the same job run in-process without the protocol (the floor of a request).
Uses the embedded default localizer; while it is absent, the tests-only localizer stands in and
the table says so. The last line is `RESULT cold_start_s=... warm_request_s=... peak_rss_mb=...`.
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

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


class Worker:
    def __init__(self, env: dict[str, str]) -> None:
        self.started = time.perf_counter()
        self.proc = subprocess.Popen([sys.executable, "-m", "backend", "serve", "--log-level", "WARNING"],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env, cwd=ROOT)
        self.count = 0

    def request(self, op: str, **fields) -> dict:
        """Send one request and read events until its terminal one; raise on `error`."""
        self.count += 1
        rid = f"b{self.count}"
        self.proc.stdin.write((json.dumps({"v": 1, "id": rid, "op": op, **fields}) + "\n").encode())
        self.proc.stdin.flush()
        while True:
            line = self.proc.stdout.readline()
            if not line:
                raise RuntimeError(f"the server exited (status {self.proc.wait()}) during {op}")
            event = json.loads(line)
            if event["event"] == "error":
                raise RuntimeError(f"{op} failed: {event['code']}: {event['message']}")
            if event["event"] in ("hello", "result", "bye", "cancelled"):
                return event

    def peak_rss_mb(self) -> float:
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0
        return float("nan")

    def close(self) -> None:
        try:
            self.request("shutdown")
        finally:
            self.proc.stdin.close()
            self.proc.wait(timeout=30)


def default_photo(folder: Path) -> Path:
    """A person-shaped photo: the Anny body's shaded front view, as RGB."""
    from PIL import Image

    from backend.bodies import load_body
    from backend.cameras import body_rig
    from backend.render import render

    body = load_body({"source": "anny"})
    views = render(body.canonical_vertices, body.faces, body_rig(body.canonical_vertices, 512)[:1])
    path = folder / "anny_front.png"
    Image.fromarray(views.shaded[0]).convert("RGB").save(path)
    return path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--resolution", type=int, default=1024)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--image", type=Path, help="photo to use (default: a render of the Anny body)")
    args = parser.parse_args()

    from backend.localizers.registry import DEFAULT_LOCALIZER, unavailable_reason

    env = dict(os.environ, PYTHONPATH=str(ROOT))
    localizer, label = DEFAULT_LOCALIZER, "default (embedded)"
    if unavailable_reason(DEFAULT_LOCALIZER) is not None:
        env["INTERACTVLM_EXTRA_LOCALIZERS"] = "tests.testing_localizers"
        os.environ["INTERACTVLM_EXTRA_LOCALIZERS"] = "tests.testing_localizers"
        localizer, label = "testing-lowest", "testing-lowest (TESTS-ONLY FALLBACK: default localizer absent)"

    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        photo = args.image or default_photo(tmp_path)
        job = {"image": str(photo), "body": {"source": "anny"}, "task": "human_contact", "localizer": localizer,
               "device": "cpu", "resolution": args.resolution, "out_dir": str(tmp_path / "out")}

        bare = []
        for _ in range(args.repeats):
            start = time.perf_counter()
            subprocess.run([sys.executable, "-c", "import numpy"], check=True)
            bare.append(time.perf_counter() - start)

        cold = []
        for _ in range(args.repeats):
            worker = Worker(env)
            worker.request("hello")
            cold.append(time.perf_counter() - worker.started)
            worker.close()

        worker = Worker(env)
        worker.request("hello")
        start = time.perf_counter()
        worker.request("estimate", **job)
        first = time.perf_counter() - start
        warm, stage_totals = [], []
        for _ in range(args.repeats):
            start = time.perf_counter()
            result = worker.request("estimate", **job)
            warm.append(time.perf_counter() - start)
            stage_totals.append(result["summary"]["timings"])
        peak = worker.peak_rss_mb()
        worker.close()

        from backend.localizers.cache import LocalizerCache
        from backend.pipeline import run_estimate
        from backend.protocol import EstimateRequest

        request = EstimateRequest(**job)
        cache = LocalizerCache()
        run_estimate(request, cache, tmp_path / "inproc.npz")  # warm-up: load + first-call costs
        inproc = []
        for _ in range(args.repeats):
            start = time.perf_counter()
            run_estimate(request, cache, tmp_path / "inproc.npz")
            inproc.append(time.perf_counter() - start)

    med = statistics.median
    print(f"localizer: {label}; Anny body, 4 views at {args.resolution}px, CPU, medians of {args.repeats}")
    print(f"{'measure':<52} {'seconds':>8}")
    print(f"{'baseline: spawn python + import numpy':<52} {med(bare):>8.3f}")
    print(f"{'cold start: spawn serve -> hello':<52} {med(cold):>8.3f}")
    print(f"{'first estimate (loads the localizer)':<52} {first:>8.3f}")
    print(f"{'baseline: same job in-process, no protocol':<52} {med(inproc):>8.3f}")
    print(f"{'warm estimate over the protocol':<52} {med(warm):>8.3f}")
    for stage in stage_totals[0]:
        print(f"{'  stage ' + stage:<52} {med(t[stage] for t in stage_totals):>8.3f}")
    print(f"{'peak RSS of the worker (VmHWM, MB)':<52} {peak:>8.1f}")
    print(f"RESULT cold_start_s={med(cold):.3f} warm_request_s={med(warm):.3f} peak_rss_mb={peak:.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
