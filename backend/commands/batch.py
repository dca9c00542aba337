"""`python -m backend batch LIST --out DIR`: every item of a batch list, with an index, resume and shards.

LIST is a CSV (header row) or JSON-lines file of items (backend/batch/items.py names the columns).
Per item DIR gets <id>.npz (the result arrays), <id>.json (summary + provenance) and, with --export ply,
<id>.ply; DIR/index.jsonl gets one record per finished item (backend/batch/index.py). Re-running the
same command skips complete items (--force redoes them). Exit status: 0 every item done, 1 some item
failed (see the index), 2 bad arguments or list, 130 interrupted (re-run to resume).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from backend.commands import CommandError
from backend.devices import DEVICES


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("list", type=Path, metavar="LIST", help="batch list (.csv with a header row, or .jsonl)")
    parser.add_argument("--out", type=Path, required=True, help="output folder (results and index.jsonl)")
    parser.add_argument("--localizer", help="localizer for items that name none (default: the embedded default)")
    parser.add_argument("--device", default="auto", choices=DEVICES)
    parser.add_argument("--checkpoint-dir", help="InteractVLM weights folder (for --localizer interactvlm)")
    parser.add_argument("--executor", default="local", choices=("local", "ray"),
                        help="local: one warm worker in this process (default); ray: one Ray actor per slot")
    parser.add_argument("--address", help="Ray cluster to join (e.g. 10.0.0.5:6379 or auto); default: start a "
                                          "local Ray instance")
    parser.add_argument("--workers", type=int, help="Ray actors (default: one per free slot of the cluster)")
    parser.add_argument("--threads", type=int,
                        help="torch threads per worker (default: all cores for local, 1 per Ray actor)")
    parser.add_argument("--gpus", action="store_true", help="Ray: one GPU per actor (num_gpus=1)")
    parser.add_argument("--retries", type=int, default=2, help="Ray: reruns of an item whose actor died (default 2)")
    parser.add_argument("--shard", help="i/n: run only shard i (0 to n-1) of n, e.g. one farm task each")
    parser.add_argument("--force", action="store_true", help="redo items that are already complete")
    parser.add_argument("--export", action="append", choices=("ply",), default=[],
                        help="also write <id>.ply with per-vertex scores, seen, contact")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")




def _settings(args: argparse.Namespace):
    from backend.batch.worker import BatchSettings
    from backend.devices import resolve_device
    from backend.localizers.registry import DEFAULT_LOCALIZER, require_localizer

    if args.checkpoint_dir and not Path(args.checkpoint_dir).is_dir():
        raise CommandError(f"--checkpoint-dir {args.checkpoint_dir} is not a folder")
    for number, name in (("--threads", args.threads), ("--workers", args.workers)):
        if name is not None and name < 1:
            raise CommandError(f"{number} must be at least 1")
    for flag, given in (("--address", args.address), ("--gpus", args.gpus), ("--workers", args.workers)):
        if given and args.executor != "ray":
            raise CommandError(f"{flag} is for --executor ray (the local executor is one worker in this process)")
    name = args.localizer or DEFAULT_LOCALIZER
    try:
        require_localizer(name, args.checkpoint_dir)
        if args.executor == "local":
            resolve_device(args.device)
    except ValueError as error:
        raise CommandError(f"{error}; {getattr(error, 'hint', '')}".rstrip("; ")) from None
    checkpoint = str(Path(args.checkpoint_dir).resolve()) if args.checkpoint_dir else None
    return BatchSettings(localizer=name, device=args.device, checkpoint_dir=checkpoint, threads=args.threads,
                         exports=tuple(sorted(set(args.export))))


def run(args: argparse.Namespace) -> int:
    from backend.batch.executors import make_executor
    from backend.batch.index import IndexWriter, index_path
    from backend.batch.items import BatchListError, parse_shard, read_batch_list, shard_items
    from backend.batch.runner import plan, run_batch
    from backend.jobs import classify

    try:
        items = read_batch_list(args.list)
        shard = parse_shard(args.shard) if args.shard else None
        settings = _settings(args)
    except (BatchListError, CommandError) as error:
        print(f"batch: error: {error}", file=sys.stderr)
        return 2
    if shard:
        items = shard_items(items, *shard)
    out = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    todo, done = plan(items, out, settings, args.force)
    where = f" (shard {shard[0]}/{shard[1]})" if shard else ""
    print(f"batch: {len(items)} items{where}, {len(done)} already complete, {len(todo)} to run "
          f"on {args.executor}", file=sys.stderr)
    if not todo:
        print(f"batch: nothing to do; results and index in {out}")
        return 0
    executor = make_executor(args.executor, settings, address=args.address, workers=args.workers, gpus=args.gpus,
                             retries=args.retries)
    try:
        executor.start()
    except KeyboardInterrupt:
        executor.close()
        return 130
    except Exception as error:  # noqa: BLE001 - a localizer or cluster that cannot start stops the batch
        executor.close()
        code, message, hint = classify(error)
        if isinstance(error, ConnectionError):
            message, hint = str(error), ("check --address (the head's host:port, e.g. 10.0.0.5:6379, as `ray start "
                                         "--head` printed it), that the head runs, and its token authentication")
        elif isinstance(error, RuntimeError) and code == "internal":  # says what to do itself (no ray, no slot)
            message, hint = str(error), ""
        print(f"batch: error: cannot start the {args.executor} workers: {message}" + (f" ({hint})" if hint else ""),
              file=sys.stderr)
        return 2

    def report(record, bar) -> None:
        if record["status"] != "ok":
            bar.write(f"batch: {record['item']} failed ({record['error']['code']}): {record['error']['message']}",
                      file=sys.stderr)

    index = IndexWriter(index_path(out, shard))
    outcome = run_batch(todo, out, executor, settings, index, force=True, show_progress=not args.quiet,
                        on_record=report)
    ok = sum(r["status"] == "ok" for r in outcome.records)
    print(f"batch: {ok} done, {len(outcome.failed)} failed, {len(done)} skipped as complete in "
          f"{outcome.seconds:.1f} s; index {index.path}")
    if outcome.interrupted:
        print(f"batch: interrupted with {len(todo) - len(outcome.records)} items left; the index holds every "
              "finished item: run the same command again to resume", file=sys.stderr)
    return outcome.exit_code()
