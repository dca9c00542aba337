"""`python -m backend estimate`: contact for one photo or a folder of photos, without Blender.

Writes <stem>.npz (the protocol's result arrays) and <stem>.json (the summary) per image into
--out. The localizer and the meshes are loaded once and reused for every image of a batch. A bad
image is reported and skipped. Exit status: 0 all written, 1 some images failed, 2 bad arguments.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from backend.devices import DEVICES
from backend.protocol import GENDERS, MAX_RESOLUTION, MIN_RESOLUTION, TASKS

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".webp", ".tif", ".tiff")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--image", type=Path, help="one photo (PNG/JPEG)")
    source.add_argument("--images", type=Path, help="a folder of photos, processed in name order")
    parser.add_argument("--body", default="anny",
                        help="anny (default) | smplx:MODEL_DIR | a mesh file (.obj/.ply/.glb/.npz), Z up, facing -Y")
    parser.add_argument("--gender", default="neutral", choices=GENDERS, help="SMPL-X gender")
    parser.add_argument("--object", type=Path, help="object mesh (.obj/.ply/.glb/.npz); needed for object_contact")
    parser.add_argument("--task", default="human_contact", choices=TASKS)
    parser.add_argument("--label", help="object label (required for semantic_contact), e.g. bicycle")
    parser.add_argument("--labels", help="human_contact: the objects in the photo, comma-separated (e.g. "
                        "bicycle,bench; 'scene' for the ground); binary contact is the union of their contacts")
    parser.add_argument("--data-dir", help="the official InteractVLM data folder (unzipped data.zip; default "
                        "$INTERACTVLM_DATA_DIR) for --localizer interactvlm")
    parser.add_argument("--localizer", help="localizer name (default: the embedded default)")
    parser.add_argument("--device", default="auto", choices=DEVICES)
    parser.add_argument("--resolution", type=int, default=1024, help="render size in pixels (default 1024)")
    parser.add_argument("--checkpoint-dir", help="InteractVLM weights folder (for --localizer interactvlm)")
    parser.add_argument("--out", type=Path, required=True, help="output folder")


class UsageError(Exception):
    """A bad argument: printed as one line, exit status 2."""


def _images(args: argparse.Namespace) -> list[Path]:
    if args.image is not None:
        if not args.image.is_file():
            raise UsageError(f"image {args.image} does not exist")
        return [args.image]
    if not args.images.is_dir():
        raise UsageError(f"--images {args.images} is not a folder")
    found = sorted(p for p in args.images.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
    if not found:
        raise UsageError(f"no images ({', '.join(IMAGE_SUFFIXES)}) in {args.images}")
    return found


def _output_names(images: list[Path]) -> list[str]:
    """<stem>, or <stem>_<ext> where two photos share a stem (a.png and a.jpg)."""
    stems = [p.stem for p in images]
    return [p.stem if stems.count(p.stem) == 1 else f"{p.stem}_{p.suffix.lstrip('.').lower()}" for p in images]


def _body(args: argparse.Namespace):
    """The loaded Body (once for the whole batch), or None when no body is needed or given."""
    from backend.bodies import load_body, load_mesh_file

    spec = args.body
    if spec == "anny":
        body = {"source": "anny"}
    elif spec.startswith("smplx:"):
        model_dir = Path(spec.split(":", 1)[1])
        if not model_dir.is_dir():
            raise UsageError(f"SMPL-X model folder {model_dir} does not exist")
        body = {"source": "smplx", "model_dir": str(model_dir), "gender": args.gender}
    else:
        path = Path(spec)
        if not path.is_file():
            raise UsageError(f"--body {spec!r} is neither 'anny', 'smplx:DIR' nor an existing mesh file")
        body = {"source": "mesh", **load_mesh_file(path)}
    return load_body(body)


def _prepare(args: argparse.Namespace) -> dict[str, Any]:
    """Validate the arguments and load what every image shares; UsageError names the problem."""
    from backend.devices import resolve_device
    from backend.localizers.registry import DEFAULT_LOCALIZER, require_localizer
    from backend.pipeline import load_object_mesh

    images = _images(args)
    if args.task == "semantic_contact" and not (args.label and args.label.strip()):
        raise UsageError("--task semantic_contact needs --label (the object's name, e.g. --label bicycle)")
    from backend.labels import normalise_label, parse_labels

    args.label = normalise_label(args.label)
    args.labels = tuple(parse_labels(args.labels))
    if args.labels and args.task != "human_contact":
        raise UsageError(f"--labels is for --task human_contact; use --label with {args.task}")
    if args.data_dir and not Path(args.data_dir).is_dir():
        raise UsageError(f"--data-dir {args.data_dir} is not a folder")
    if args.task == "object_contact" and args.object is None:
        raise UsageError("--task object_contact needs --object MESH")
    if not MIN_RESOLUTION <= args.resolution <= MAX_RESOLUTION:
        raise UsageError(f"--resolution must lie in [{MIN_RESOLUTION}, {MAX_RESOLUTION}], got {args.resolution}")
    if args.object is not None and not args.object.is_file():
        raise UsageError(f"object mesh {args.object} does not exist")
    if args.checkpoint_dir and not Path(args.checkpoint_dir).is_dir():
        raise UsageError(f"--checkpoint-dir {args.checkpoint_dir} is not a folder")
    name = args.localizer or DEFAULT_LOCALIZER
    try:
        require_localizer(name, args.checkpoint_dir)
        device = resolve_device(args.device)
    except ValueError as error:  # LocalizerUnavailable / DeviceUnavailable carry a hint
        raise UsageError(f"{error}; {getattr(error, 'hint', '')}".rstrip("; ")) from None
    try:
        body = _body(args) if args.task != "object_contact" or args.body != "anny" else None
        obj = None
        if args.object is not None:
            vertices, faces = load_object_mesh({"npz": str(args.object)}, "object mesh")
            obj = {"vertices": vertices, "faces": faces}
    except (ValueError, FileNotFoundError) as error:
        raise UsageError(str(error)) from None
    return {"images": images, "names": _output_names(images), "body": body, "object": obj, "device": device,
            "localizer": name}


def run(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from backend.pipeline import Cancelled, LocalizerCache, classify, run_estimate
    from backend.protocol import EstimateRequest

    try:
        shared = _prepare(args)
    except UsageError as error:
        print(f"estimate: error: {error}", file=sys.stderr)
        return 2
    if args.object is not None and args.task != "object_contact":
        print(f"estimate: note: --object is only read by --task object_contact; {args.task} uses the body alone",
              file=sys.stderr)
    args.out.mkdir(parents=True, exist_ok=True)
    cache = LocalizerCache(capacity=1)
    print(f"estimate: loading localizer {shared['localizer']} on {shared['device']}", file=sys.stderr)
    try:
        cache.get(shared["localizer"], shared["device"], args.checkpoint_dir)
    except Exception as error:  # a localizer that cannot load stops the batch before it starts
        code, message, hint = classify(error)
        print(f"estimate: error: {message} ({hint})" if hint else f"estimate: error: {message}", file=sys.stderr)
        return 2
    rows, failures = [], []
    bar = tqdm(total=len(shared["images"]), unit="image", file=sys.stderr, dynamic_ncols=True)
    for image, name in zip(shared["images"], shared["names"]):
        bar.set_description(image.name)
        request = EstimateRequest(image=str(image), out_dir=str(args.out), task=args.task, label=args.label,
                                  body=shared["body"], object=shared["object"], localizer=shared["localizer"],
                                  device=shared["device"], resolution=args.resolution,
                                  checkpoint_dir=args.checkpoint_dir, labels=args.labels, data_dir=args.data_dir)
        start = time.perf_counter()
        try:
            result = run_estimate(request, cache, args.out / f"{name}.npz",
                                  progress=lambda stage, fraction, message=None: bar.set_postfix_str(stage))
        except (Cancelled, KeyboardInterrupt):
            bar.close()
            print("estimate: interrupted", file=sys.stderr)
            return 1
        except Exception as error:  # one bad image is reported and skipped
            code, message, _ = classify(error)
            failures.append((image.name, code, message))
            bar.write(f"estimate: skipped {image.name}: {message} ({code})", file=sys.stderr)
        else:
            summary = {"image": str(image), **result.summary}
            (args.out / f"{name}.json").write_text(json.dumps(summary, indent=2, default=str) + "\n")
            rows.append((image.name, summary, time.perf_counter() - start))
        bar.update(1)
    bar.close()
    _print_summary(rows, failures, args.out)
    return 1 if failures else 0


def _print_summary(rows: list, failures: list, out: Path) -> None:
    width = max([len(r[0]) for r in rows] + [len(f[0]) for f in failures] + [5])
    print(f"{'image':<{width}}  {'contact':>8}  {'of':>7}  {'s':>6}  parts in contact")
    for name, summary, seconds in rows:
        parts = ", ".join(summary["parts_in_contact"][:4]) + (" ..." if len(summary["parts_in_contact"]) > 4 else "")
        print(f"{name:<{width}}  {summary['contact_vertices']:>8}  {summary['n_vertices']:>7}  {seconds:>6.2f}  {parts}")
        for warning in summary.get("warnings", []):
            print(f"{'':<{width}}  warning: {warning}")
    for name, code, message in failures:
        print(f"{name:<{width}}  FAILED ({code}): {message}")
    print(f"estimate: {len(rows)} written to {out}, {len(failures)} failed")
