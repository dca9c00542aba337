"""`python -m backend check-checkpoint DIR`: say what an InteractVLM checkpoint folder holds and whether it
loads: weight files, model sizes, the CLIP vision tower, the tokenizer, and every missing/unexpected key.

It reads headers and shapes only (torch .bin shards are memory-mapped), so it is quick even for 13B.
`--load` also loads the weights (needs the RAM or GPU memory the model needs). Exit status 0 = usable.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from backend.commands import CommandError
from backend.devices import DEVICES


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("folder", type=Path, help="the unzipped InteractVLM model folder")
    parser.add_argument("--vision-tower", type=Path, default=None,
                        help="local folder of openai/clip-vit-large-patch14 (default: DIR/vision_tower/)")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument("--load", action="store_true", help="also load the weights onto --device")
    parser.add_argument("--device", default="auto", choices=DEVICES)


def run(args: argparse.Namespace) -> int:
    from backend.localizers.interactvlm import CheckpointError, InteractVLMLocalizer, inspect_checkpoint

    try:
        report = inspect_checkpoint(args.folder, args.vision_tower)
    except CheckpointError as error:
        if args.json:  # scripts reading stdout get a verdict too
            print(json.dumps({"ok": False, "error": str(error)}, indent=1))
        raise CommandError(str(error)) from None
    if args.json:
        print(json.dumps({**report.__dict__, "ok": report.ok}, default=str, indent=1))
    else:
        print(report.message())
    if not report.ok:
        return 1
    if args.load:
        localizer = InteractVLMLocalizer(args.folder, args.vision_tower)
        try:
            localizer.load(args.device)
        except (CheckpointError, MemoryError, ValueError) as error:
            raise CommandError(str(error)) from None
        print(f"loaded on {localizer.device} ({str(localizer.dtype).replace('torch.', '')})")
    return 0
