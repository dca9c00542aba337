"""`python -m backend estimate`: contact for one photo or a folder of photos, without Blender.

Writes <stem>.npz (the protocol's result arrays) and <stem>.json (the summary) per image into
--out. The localizer and the meshes are loaded once and reused for every image of a batch. A bad
image is reported and skipped. A thin front of `batch` (backend/batch/): the same items, worker and
runner, without an index or resume. Exit status: 0 all written, 1 some images failed, 2 bad arguments.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from backend.devices import DEVICES
from backend.commands import CommandError, check_resolution
from backend.protocol import GENDERS, TASKS

from backend.images import IMAGE_SUFFIXES, FORMATS_TEXT


def add_arguments(parser: argparse.ArgumentParser) -> None:
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--image", type=Path, help=f"one photo: {FORMATS_TEXT}")
    source.add_argument("--images", type=Path,
                        help=f"a folder of photos ({', '.join(IMAGE_SUFFIXES)}), processed in name order")
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
    parser.add_argument("--out", type=Path, required=True, help="output folder (created if missing)")
    parser.add_argument("--verbose", action="store_true",
                        help="show the native start-up chatter of MediaPipe/absl/TF-Lite (hidden by default)")




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


def _body(args: argparse.Namespace):
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


def _prepare(args: argparse.Namespace) -> dict[str, Any]:
    """Validate the arguments and load what every image shares; CommandError names the problem."""
    from backend.devices import resolve_device
    from backend.localizers.registry import DEFAULT_LOCALIZER, require_localizer
    from backend.meshes import read_mesh

    images = _images(args)
    if args.task == "semantic_contact" and not (args.label and args.label.strip()):
        raise CommandError("--task semantic_contact needs --label (the object's name, e.g. --label bicycle)")
    from backend.labels import normalise_label, parse_labels

    args.label = normalise_label(args.label)
    args.labels = tuple(parse_labels(args.labels))
    if args.labels and args.task != "human_contact":
        raise CommandError(f"--labels is for --task human_contact; use --label with {args.task}")
    if args.data_dir and not Path(args.data_dir).is_dir():
        raise CommandError(f"--data-dir {args.data_dir} is not a folder")
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
        if args.object is not None:
            mesh = read_mesh(args.object, "object mesh", any_format=True)
            obj = {"vertices": mesh.vertices, "faces": mesh.faces}
    except (ValueError, FileNotFoundError) as error:
        raise CommandError(str(error)) from None
    return {"images": images, "names": _output_names(images), "body": body, "object": obj, "device": device,
            "localizer": name}


def run(args: argparse.Namespace) -> int:
    from backend.native_noise import install

    noise = None if args.verbose else install()
    try:
        return _run(args)
    finally:
        if noise is not None:
            noise.close()


def _run(args: argparse.Namespace) -> int:
    from backend.batch.executors import LocalExecutor
    from backend.batch.items import Item
    from backend.batch.runner import run_batch
    from backend.batch.worker import BatchSettings, Worker
    from backend.jobs import classify
    from backend.out_dirs import OutDirError, check_out_dir

    try:
        shared = _prepare(args)
        if args.out.is_dir() or not args.out.exists():  # an existing file: mkdir below names it
            check_out_dir(args.out)  # before any work: an unwritable folder is the user's path problem
    except OutDirError as error:
        raise CommandError(f"{error} ({error.hint})") from None
    except CommandError as error:
        print(f"estimate: error: {error}", file=sys.stderr)
        return 2
    if args.object is not None and args.task != "object_contact":
        print(f"estimate: note: --object is only read by --task object_contact; {args.task} uses the body alone",
              file=sys.stderr)
    args.out.mkdir(parents=True, exist_ok=True)
    # The same items, worker and runner as `python -m backend batch`, without an index or resume.
    settings = BatchSettings(localizer=shared["localizer"], device=shared["device"],
                             checkpoint_dir=args.checkpoint_dir, data_dir=args.data_dir)
    obj = str(args.object) if args.object is not None else None
    items = [Item(id=name, image=str(image), body=args.body, gender=args.gender, object=obj, task=args.task,
                  label=args.label, labels=args.labels, resolution=args.resolution, localizer=shared["localizer"])
             for image, name in zip(shared["images"], shared["names"])]
    worker = Worker(settings, "local", bodies={(args.body, args.gender): shared["body"]},
                    objects={obj: shared["object"]} if obj else None)
    print(f"estimate: loading localizer {shared['localizer']} on {shared['device']}", file=sys.stderr)
    executor = LocalExecutor(settings, worker)
    try:
        executor.start()
    except Exception as error:  # a localizer that cannot load stops the batch before it starts
        code, message, hint = classify(error)
        print(f"estimate: error: {message} ({hint})" if hint else f"estimate: error: {message}", file=sys.stderr)
        return 2
    names = {name: image.name for image, name in zip(shared["images"], shared["names"])}

    def report(record, bar) -> None:  # one bad image is reported and skipped
        if record["status"] != "ok":
            error = record["error"]
            bar.write(f"estimate: skipped {names[record['item']]}: {error['message']} ({error['code']})",
                      file=sys.stderr)

    outcome = run_batch(items, args.out, executor, settings, index=None, on_record=report, unit="image")
    if outcome.interrupted:
        print("estimate: interrupted", file=sys.stderr)
        return 1
    _print_summary(outcome.records, names, args.out)
    return 1 if outcome.failed else 0


def _print_summary(records: list, names: dict[str, str], out: Path) -> None:
    rows = [r for r in records if r["status"] == "ok"]
    failures = [r for r in records if r["status"] != "ok"]
    from backend.contact_parts import PART_SHARE

    width = max([len(names[r["item"]]) for r in records] + [5])
    print(f"{'image':<{width}}  {'contact':>8}  {'of':>7}  {'s':>6}  parts in contact "
          f"(>= {PART_SHARE:.0%} of a part's vertices)")
    for record in rows:
        parts = ", ".join(record["parts"][:4]) + (" ..." if len(record["parts"]) > 4 else "")
        print(f"{names[record['item']]:<{width}}  {record['contact_vertices']:>8}  {record['n_vertices']:>7}  "
              f"{record['timings']['total']:>6.2f}  {parts}")
        for warning in record.get("warnings", []):
            print(f"{'':<{width}}  warning: {warning}")
    for record in failures:
        print(f"{names[record['item']]:<{width}}  FAILED ({record['error']['code']}): {record['error']['message']}")
        if record["error"].get("hint"):
            print(f"{'':<{width}}  hint: {record['error']['hint']}")
    print(f"estimate: {len(rows)} written to {out}, {len(failures)} failed")
