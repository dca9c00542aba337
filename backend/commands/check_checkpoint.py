"""`python -m backend check-checkpoint DIR`: say what an InteractVLM checkpoint folder holds and whether it
loads: weight files, model sizes, the CLIP vision tower, the tokenizer, and every missing/unexpected key; with
`--data DIR` (or $INTERACTVLM_DATA_DIR) also the official data folder: the four renders, the two maps of the
checkpoint's human rig and the SMPL-H -> SMPL-X matrix, each read as the localizer reads it.

It reads headers and shapes only (torch .bin shards are memory-mapped), so it is quick even for 13B.
`--load` also loads the weights (needs the RAM or GPU memory the model needs). Exit status 0 = usable.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from backend.devices import DEVICES


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("folder", type=Path, help="the unzipped InteractVLM model folder")
    parser.add_argument("--vision-tower", type=Path, default=None,
                        help="local folder of openai/clip-vit-large-patch14 (default: DIR/vision_tower/)")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument("--load", action="store_true", help="also load the weights onto --device")
    parser.add_argument("--device", default="auto", choices=DEVICES)
    parser.add_argument("--data", "--data-dir", dest="data", type=Path, default=None,
                        help="the official InteractVLM data folder (unzipped data.zip; default $INTERACTVLM_DATA_DIR)")


def run(args: argparse.Namespace) -> int:
    from backend.localizers.interactvlm import CheckpointError, InteractVLMLocalizer, inspect_checkpoint

    try:
        report = inspect_checkpoint(args.folder, args.vision_tower)
    except CheckpointError as error:
        print(f"error: {error}", file=sys.stderr)
        if args.json:  # scripts reading stdout get a verdict too
            print(json.dumps({"ok": False, "error": str(error)}, indent=1))
        return 2
    data = _check_data(args, report)
    usable = report.ok and (data is None or data.ok)
    notes = _rig_notes(args.folder)
    if args.json:
        print(json.dumps({**report.__dict__, "ok": usable, "weights_ok": report.ok, "notes": notes,
                          "data": None if data is None else data.to_json()}, default=str, indent=1))
    else:
        print(report.message())
        for note in notes:
            print(f"note: {note}")
        if data is not None:
            print("\n".join(data.lines()))
            print("data folder: OK" if data.ok else "data folder: NOT USABLE:\n  " + "\n  ".join(data.problems()))
    if not usable:
        return 1
    if args.load:
        localizer = InteractVLMLocalizer(args.folder, args.vision_tower)
        try:
            localizer.load(args.device)
        except (CheckpointError, MemoryError, ValueError) as error:
            print(f"error: {error}", file=sys.stderr)
            return 2
        print(f"loaded on {localizer.device} ({str(localizer.dtype).replace('torch.', '')})")
    return 0


def _check_data(args: argparse.Namespace, report):
    """The data folder's report for the checkpoint's human rig, or None when no data folder is named."""
    from backend.localizers.interactvlm.config import read_config
    from backend.localizers.interactvlm.official_data import check_data_folder, resolve_data_dir

    folder = resolve_data_dir(args.data, None)
    if folder is None:
        return None
    try:
        recorded = read_config(args.folder).view_type
    except ValueError:
        recorded = None
    from backend.localizers.interactvlm.official_data import MAP_FOLDERS

    view_type = recorded if recorded in MAP_FOLDERS else "4MV-Z_Vitru"
    return check_data_folder(folder, view_type)


def _rig_notes(folder: Path) -> list[str]:
    """What the checker cannot confirm about the checkpoint's rig (4MV-Z_Vitru_wScene: our alias is a guess)."""
    from backend.localizers.interactvlm.config import read_config
    from backend.localizers.interactvlm.official_data import GUESSED_VIEW_TYPES

    try:
        recorded = read_config(folder).view_type
    except ValueError:
        return []
    if recorded in GUESSED_VIEW_TYPES:
        return [f"hC_sam_view_type {recorded} is not in the official HUMAN_VIEW_DICT (saidwivedi/InteractVLM "
                "@ 79b4bf2): we treat it as 4MV-Z_Vitru (same cameras, maps in hcontact_vitruvian); this is a "
                "guess until a released config confirms it"]
    return []
