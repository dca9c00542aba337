"""`python -m backend evaluate --dataset damon:PATH|synthetic:DIR --localizer NAME --out DIR`.

Runs the pipeline over the set with a progress bar and writes per_image.csv, summary.json,
summary.md, scores.npz and sheets/*.png (photo | predicted | ground truth on the body). DECO's
metrics: precision, recall, F1 at 0.5 and the geodesic error in cm, averaged over images.
"""
from __future__ import annotations

import argparse
from pathlib import Path

from backend.devices import DEVICES


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--dataset", required=True,
                        help="damon:PATH (DAMON npz, SMPL-X labels) or synthetic:DIR (made by `synth`)")
    parser.add_argument("--localizer", default="default",
                        help="a registered localizer, or baseline-below-hips / baseline-soles (default: default)")
    parser.add_argument("--out", type=Path, required=True, help="output folder")
    parser.add_argument("--limit", type=int, default=None, help="evaluate only the first N images")
    parser.add_argument("--resolution", type=int, default=512, help="render size of the views (default 512)")
    parser.add_argument("--task", choices=("human_contact", "semantic_contact"), default="human_contact")
    parser.add_argument("--device", choices=DEVICES, default="auto")
    parser.add_argument("--smplx-dir", default=None, help="folder with SMPLX_NEUTRAL.npz (DAMON only)")
    parser.add_argument("--images", default=None, help="DAMON image folder, if imgname paths do not resolve")
    parser.add_argument("--checkpoint-dir", default=None, help="InteractVLM weights (for --localizer interactvlm)")
    parser.add_argument("--data-dir", default=None,
                        help="the official InteractVLM data folder (unzipped data.zip; default $INTERACTVLM_DATA_DIR)")
    parser.add_argument("--allow-pickle", action="store_true",
                        help="read pickled keys of a trusted DAMON file (objectwise labels for semantic_contact)")
    parser.add_argument("--sheets", type=int, default=2, help="number of visual sheets (3 images each)")


def run(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from backend.eval.evaluate import evaluate, load_dataset, summary_markdown

    if args.limit is not None and args.limit < 1:
        print("evaluate: --limit must be at least 1")
        return 2
    if not 64 <= args.resolution <= 4096:
        print(f"evaluate: --resolution must be between 64 and 4096, got {args.resolution}")
        return 2
    try:
        evalset = load_dataset(args.dataset, args.task, args.smplx_dir, args.images, args.allow_pickle)
        total = min(len(evalset.items), args.limit or len(evalset.items))
        with tqdm(total=total, desc=f"evaluate {args.localizer}", unit="img") as bar:
            summary = evaluate(evalset, args.localizer, args.out, task=args.task, limit=args.limit,
                               resolution=args.resolution, device=args.device, checkpoint_dir=args.checkpoint_dir,
                               data_dir=args.data_dir,
                               n_sheets=args.sheets, progress=lambda done, n: bar.update(done - bar.n))
    except (ValueError, FileNotFoundError) as error:
        print(f"evaluate: {error}")
        return 2
    print(summary_markdown(summary))
    print(f"evaluate: wrote {args.out}/per_image.csv, summary.json, summary.md, scores.npz, sheets/")
    return 0
