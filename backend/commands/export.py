"""`python -m backend export RESULT.npz|BATCH_DIR ... --ply OUT.ply | --damon OUT.npz`.

--ply: one result onto its mesh as a PLY with per-vertex `scores`, `seen`, `contact` (the mesh is the
item's body or object, read from the result's <stem>.json; --mesh overrides: anny | smplx:DIR | a file).
--damon: many results on one body as a DAMON-style npz (imgname + per-vertex contact labels), which
`python -m backend evaluate --dataset damon:OUT.npz` reads. A batch folder stands for its completed
items, in index order. Formats: backend/exports.py. Exit status: 0 written, 2 bad arguments.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from backend.protocol import CONTACT_THRESHOLD


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("results", nargs="+", type=Path, metavar="RESULT",
                        help="result .npz files (from estimate or batch) or batch output folders")
    target = parser.add_mutually_exclusive_group(required=True)
    target.add_argument("--ply", type=Path, help="write one result as a PLY with per-vertex contact")
    target.add_argument("--damon", type=Path, help="write the results as a DAMON-style npz")
    parser.add_argument("--mesh", help="PLY: the mesh the result belongs to (anny | smplx:DIR | a mesh file); "
                                       "default: the item's body or object from <result>.json")
    parser.add_argument("--gender", default="neutral", help="PLY with --mesh smplx:DIR: the SMPL-X gender")
    parser.add_argument("--threshold", type=float, default=CONTACT_THRESHOLD,
                        help=f"score at or above which a vertex is in contact (default {CONTACT_THRESHOLD})")


def _results(paths: list[Path]) -> list[Path]:
    from backend.batch.index import latest_records, read_records

    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            latest = latest_records(path)
            order = list(dict.fromkeys(r["item"] for r in read_records(path)))
            done = [path / latest[i]["outputs"][0] for i in order if latest[i]["status"] == "ok"]
            if not done:
                raise ValueError(f"{path} has no completed batch items (no index*.jsonl records with status ok)")
            found.extend(done)
        else:
            found.append(path)
    return found


def _mesh_for(result: Path, spec: str | None, gender: str):
    """(vertices, faces) of the mesh a result was estimated on."""
    from backend.batch.adapter import load_item_body, load_item_object
    from backend.exports import summary_of

    if spec:
        body = load_item_body(spec, gender)
        return body.vertices, body.faces
    summary = summary_of(result)
    item = summary.get("item")
    if not item:
        raise ValueError(f"{result.with_suffix('.json')} does not say which mesh {result.name} belongs to "
                         "(results of `estimate` before this version); pass --mesh")
    if summary.get("surface") == "object":
        obj = load_item_object(item["object"])
        return obj["vertices"], obj["faces"]
    body = load_item_body(item["body"], item.get("gender", "neutral"))
    return body.vertices, body.faces


def run(args: argparse.Namespace) -> int:
    from backend.exports import read_result, summary_of, write_damon, write_ply
    from backend.jobs import JobError

    try:
        results = _results(args.results)
        if args.ply:
            if len(results) != 1:
                raise ValueError(f"--ply writes one result; got {len(results)} (use --damon for many)")
            arrays = read_result(results[0])
            vertices, faces = _mesh_for(results[0], args.mesh, args.gender)
            path = write_ply(args.ply, vertices, faces, arrays["scores"], arrays["seen"], args.threshold)
            print(f"export: wrote {path} ({len(vertices)} vertices, {int((arrays['scores'] >= args.threshold).sum())} "
                  "in contact)")
            return 0
        names = [str(summary_of(r).get("image") or r.stem) for r in results]
        path = write_damon(args.damon, names, [read_result(r)["scores"] for r in results], args.threshold)
        print(f"export: wrote {path} ({len(results)} images)")
        return 0
    except (ValueError, FileNotFoundError, JobError) as error:
        print(f"export: error: {error}", file=sys.stderr)
        return 2
