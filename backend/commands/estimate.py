"""`python -m backend estimate`: contact for one photo or a folder of photos, without Blender.

Writes <stem>.npz (the protocol's result arrays) and <stem>.json (the summary) per image into
--out. The localizer and the meshes are loaded once and reused for every image of a batch. A bad
image is reported and skipped. Exit status: 0 all written, 1 some images failed, 2 bad arguments
(backend.commands.CommandError).
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

from backend.commands import CommandError, check_resolution
from backend.devices import DEVICES
from backend.protocol import DEFAULT_RESOLUTION, GENDERS, TASKS

if TYPE_CHECKING:
    from backend.bodies.base import Body
    from backend.estimate_inputs import EstimateInputs

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
    parser.add_argument("--localizer", help="localizer name (default: the embedded default)")
    parser.add_argument("--device", default="auto", choices=DEVICES)
    parser.add_argument("--resolution", type=int, default=DEFAULT_RESOLUTION,
                        help=f"render size in pixels (default {DEFAULT_RESOLUTION})")
    parser.add_argument("--checkpoint-dir", help="InteractVLM weights folder (for --localizer interactvlm)")
    parser.add_argument("--out", type=Path, required=True, help="output folder")


def _images(args: argparse.Namespace) -> list[Path]:
    if args.image is not None:
        if not args.image.is_file():
            raise CommandError(f"image {args.image} does not exist")
        return [args.image]
    if not args.images.is_dir():
        raise CommandError(f"--images {args.images} is not a folder")
    found = sorted(p for p in args.images.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
    if not found:
        raise CommandError(f"no images ({', '.join(IMAGE_SUFFIXES)}) in {args.images}")
    return found


def _output_names(images: list[Path]) -> list[str]:
    """<stem>, or <stem>_<ext> where two photos share a stem (a.png and a.jpg)."""
    stems = [p.stem for p in images]
    return [p.stem if stems.count(p.stem) == 1 else f"{p.stem}_{p.suffix.lstrip('.').lower()}" for p in images]


def _body(args: argparse.Namespace) -> Body:
    """The loaded Body (once for the whole batch), or None when no body is needed or given."""
    from backend.bodies import load_body
    from backend.meshes import read_mesh_file

    spec = args.body
    if spec == "anny":
        body = {"source": "anny"}
    elif spec.startswith("smplx:"):
        model_dir = Path(spec.split(":", 1)[1])
        if not model_dir.is_dir():
            raise CommandError(f"SMPL-X model folder {model_dir} does not exist")
        body = {"source": "smplx", "model_dir": str(model_dir), "gender": args.gender}
    else:
        path = Path(spec)
        if not path.is_file():
            raise CommandError(f"--body {spec!r} is neither 'anny', 'smplx:DIR' nor an existing mesh file")
        body = {"source": "mesh", **read_mesh_file(path, "body mesh")}
    return load_body(body)


def _prepare(args: argparse.Namespace) -> tuple[list[Path], EstimateInputs]:
    """Validate the arguments and resolve what every image shares (body, object, device, the loaded
    localizer) once for the whole batch; CommandError names the problem."""
    from backend.devices import resolve_device
    from backend.estimate_inputs import prepare_inputs
    from backend.jobs import classify
    from backend.localizers.cache import LocalizerCache
    from backend.localizers.registry import DEFAULT_LOCALIZER, require_localizer
    from backend.meshes import read_mesh

    images = _images(args)
    if args.task == "semantic_contact" and not (args.label and args.label.strip()):
        raise CommandError("--task semantic_contact needs --label (the object's name, e.g. --label bicycle)")
    if args.task == "object_contact" and args.object is None:
        raise CommandError("--task object_contact needs --object MESH")
    check_resolution(args.resolution)
    if args.object is not None and not args.object.is_file():
        raise CommandError(f"object mesh {args.object} does not exist")
    if args.checkpoint_dir and not Path(args.checkpoint_dir).is_dir():
        raise CommandError(f"--checkpoint-dir {args.checkpoint_dir} is not a folder")
    name = args.localizer or DEFAULT_LOCALIZER
    try:
        require_localizer(name, args.checkpoint_dir)
        device = resolve_device(args.device)
    except ValueError as error:  # LocalizerUnavailable / DeviceUnavailable carry a hint
        raise CommandError(f"{error}; {getattr(error, 'hint', '')}".rstrip("; ")) from None
    try:
        body = _body(args) if args.task != "object_contact" or args.body != "anny" else None
        obj = None
        if args.task == "object_contact":
            mesh = read_mesh(args.object, "object mesh", any_format=True)
            obj = (mesh.vertices, mesh.faces)
    except (ValueError, FileNotFoundError) as error:
        raise CommandError(str(error)) from None
    print(f"estimate: loading localizer {name} on {device}", file=sys.stderr)
    try:
        localizer = LocalizerCache(capacity=1).get(name, device, args.checkpoint_dir)
    except Exception as error:  # a localizer that cannot load stops the batch before it starts
        _, message, hint = classify(error)
        raise CommandError(f"{message} ({hint})" if hint else message) from None
    return images, prepare_inputs(args.task, args.label, body, obj, localizer, name, device, args.resolution)


def run(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from backend.jobs import Cancelled, classify
    from backend.pipeline import estimate_image

    images, inputs = _prepare(args)
    if args.object is not None and args.task != "object_contact":
        print(f"estimate: note: --object is only read by --task object_contact; {args.task} uses the body alone",
              file=sys.stderr)
    args.out.mkdir(parents=True, exist_ok=True)
    rows, failures = [], []
    bar = tqdm(total=len(images), unit="image", file=sys.stderr, dynamic_ncols=True)
    for image, name in zip(images, _output_names(images)):
        bar.set_description(image.name)
        start = time.perf_counter()
        try:
            result = estimate_image(image, inputs, args.out / f"{name}.npz",
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
        print(f"{name:<{width}}  {summary['contact_vertices']:>8}  {summary['n_vertices']:>7}  {seconds:>6.2f}  "
              f"{parts}")
        for warning in summary.get("warnings", []):
            print(f"{'':<{width}}  warning: {warning}")
    for name, code, message in failures:
        print(f"{name:<{width}}  FAILED ({code}): {message}")
    print(f"estimate: {len(rows)} written to {out}, {len(failures)} failed")
