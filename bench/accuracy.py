"""Accuracy of the localizers on a 40-image synthetic closed-loop set (Anny + props, Blender).

Usage: python bench/accuracy.py [--n 40] [--seed 0] [--size 256] [--resolution 512]
Builds the set once into bench/_cache/ (git-ignored; reused while n/seed/size and the generator's
code are unchanged), evaluates the default localizer and two image-blind baselines through the same
pipeline (backend.eval.evaluate), and prints a table. The last line is `RESULT synthetic_f1=... synthetic_geo_cm=... n=...` for the
default localizer (nan when it cannot run here).
"""
from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from backend.eval.baselines import BASELINES  # noqa: E402
from backend.eval.evaluate import evaluate, load_dataset  # noqa: E402
from backend.eval.synth.generate import N_IMAGES, REPORT_SEED, TUNING_SEED, generate, generator_digest  # noqa: E402


def cached_set(n: int, seed: int, size: int) -> tuple[Path, float]:
    folder = ROOT / "bench" / "_cache" / f"synth_n{n}_seed{seed}_{size}"
    meta = folder / "meta.json"
    if meta.is_file():
        info = json.loads(meta.read_text())
        if (info.get("n"), info.get("seed"), info.get("size"), info.get("generator")) == (n, seed, size,
                                                                                      generator_digest()):
            return folder, 0.0
    start = time.perf_counter()
    generate(folder, n, seed=seed, size=size)
    return folder, time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=40)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--size", type=int, default=256, help="photo size")
    parser.add_argument("--resolution", type=int, default=512, help="render size of the body views")
    parser.add_argument("--localizers", default="default", help="comma-separated registered localizers")
    args = parser.parse_args()

    folder, built = cached_set(args.n, args.seed, args.size)
    print(f"set: {folder.relative_to(ROOT)} ({args.n} images at {args.size}², "
          f"{'built in %.0f s' % built if built else 'cached'})")
    evalset = load_dataset(f"synthetic:{folder}")
    results = {}
    for name in [*filter(None, args.localizers.split(",")), *BASELINES]:
        start = time.perf_counter()
        try:
            summary = evaluate(evalset, name, ROOT / "bench" / "_cache" / f"eval_{name}", resolution=args.resolution,
                               n_sheets=1)
        except ValueError as error:
            print(f"{name}: skipped ({error})")
            continue
        results[name] = (summary, time.perf_counter() - start)

    groups = sorted({g for s, _ in results.values() for g in s["groups"]})
    print()
    print("| localizer | P | R | F1 | geo. error (cm) | " + " | ".join(f"F1 {g}" for g in groups) + " | s/img |")
    print("|---|---|---|---|---|" + "---|" * len(groups) + "---|")
    for name, (s, seconds) in results.items():
        per_group = " | ".join(f"{s['groups'][g]['f1']:.3f}" if g in s["groups"] else "–" for g in groups)
        print(f"| {name} | {s['precision']:.3f} | {s['recall']:.3f} | {s['f1']:.3f} | {s['geo_fp_cm']:.2f} | "
              f"{per_group} | {seconds / s['n']:.2f} |")
    default = results.get("default")
    f1, geo, n = (default[0]["f1"], default[0]["geo_fp_cm"], default[0]["n"]) if default else (math.nan, math.nan, 0)
    print(f"RESULT synthetic_f1={f1:.4f} synthetic_geo_cm={geo:.2f} n={n}")
    return 0 if default else 1


if __name__ == "__main__":
    sys.exit(main())
