"""`python -m backend synth --n N --out DIR [--seed S] [--size 256]`: a synthetic closed-loop set.

The Anny body in 15 frozen scenarios (backend/eval/synth/poses.SCENARIOS: sitting, holding,
standing, leaning on a wall, carrying a bag, kneeling, squatting, lying, forearms on a table, ...),
props placed to touch the intended parts, ground-truth contact from mesh proximity (<= 2 cm or
penetrating), rendered photo-like by Blender in a subprocess. See backend/eval/synth/generate.py.
"""
from __future__ import annotations

import argparse
from pathlib import Path

from backend.commands import CommandError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--n", type=int, required=True, help="number of images")
    parser.add_argument("--out", type=Path, required=True, help="output folder")
    parser.add_argument("--seed", type=int, default=0, help="random seed (same seed -> same set)")
    parser.add_argument("--size", type=int, default=256, help="image size in pixels (default 256)")
    parser.add_argument("--engine", choices=("cycles", "eevee"), default="cycles",
                        help="Blender engine: cycles on the CPU (default) or eevee (needs a GPU/OpenGL context)")
    parser.add_argument("--samples", type=int, default=16, help="Cycles samples per pixel (default 16)")


def run(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from backend.eval.synth.generate import generate

    bar = tqdm(total=args.n, desc="scenes", unit="img")

    def progress(done: int, total: int) -> None:
        bar.update(done - bar.n)

    try:
        meta = generate(args.out, args.n, seed=args.seed, size=args.size, engine=args.engine, samples=args.samples,
                        progress=progress)
    except (ValueError, RuntimeError) as error:
        bar.close()
        raise CommandError(str(error)) from None
    bar.close()
    print(f"synth: wrote {meta['n']} images to {args.out} in {meta['seconds']['total']} s "
          f"({', '.join(f'{k} {v}' for k, v in meta['scenarios'].items())})")
    return 0
