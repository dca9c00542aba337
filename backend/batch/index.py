"""The batch index: append-only JSON lines, one record per finished item attempt.

Each record is written with one `write` of a whole line on an O_APPEND descriptor and fsynced before
the next item is recorded, after the item's result files were renamed into place. So an interrupted
batch (Ctrl-C, a killed process, a lost machine) leaves every line a complete record of files that
exist; a torn last line (power loss mid-write) is ignored when read. The latest record of an item wins.
A shard writes its own file (index.shard-I-of-N.jsonl), so farm jobs on a shared file system never
append to one file at once; readers merge every index*.jsonl of the folder.

Record keys: item, status (ok | failed), outputs (file names in the folder), contact_vertices,
n_vertices, parts (in contact, most vertices first), warnings, timings (seconds per stage, total),
error ({code, message, hint} or null), provenance (backend.batch.provenance), fingerprint (resume),
settings (the item), attempts, worker (executor, host, pid), finished_at (UTC ISO time).
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Iterable

INDEX_NAME = "index.jsonl"


def index_path(out_dir: Path, shard: tuple[int, int] | None = None) -> Path:
    if shard is None or shard[1] == 1:
        return Path(out_dir) / INDEX_NAME
    return Path(out_dir) / f"index.shard-{shard[0]}-of-{shard[1]}.jsonl"


def read_records(out_dir: Path) -> list[dict[str, Any]]:
    """Every complete record of every index file of the folder, in file then line order."""
    records = []
    for path in sorted(Path(out_dir).glob("index*.jsonl")):
        with open(path, "rb") as stream:
            for raw in stream:
                if not raw.endswith(b"\n"):
                    continue  # torn last line
                try:
                    record = json.loads(raw)
                except json.JSONDecodeError:
                    continue
                if isinstance(record, dict) and "item" in record:
                    records.append(record)
    return records


def latest_records(out_dir: Path) -> dict[str, dict[str, Any]]:
    """item id -> its most recent record (by finished_at, then position)."""
    latest: dict[str, dict[str, Any]] = {}
    for record in read_records(out_dir):
        previous = latest.get(record["item"])
        if previous is None or str(record.get("finished_at", "")) >= str(previous.get("finished_at", "")):
            latest[record["item"]] = record
    return latest


def is_complete(record: dict[str, Any] | None, fingerprint: str, out_dir: Path) -> bool:
    """Done: the latest record succeeded for the same settings and inputs, and its outputs still exist."""
    return (record is not None and record.get("status") == "ok" and record.get("fingerprint") == fingerprint
            and all((Path(out_dir) / name).is_file() for name in record.get("outputs", [])))


class IndexWriter:
    """Appends records to one index file (created on first use)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    def append(self, record: dict[str, Any]) -> None:
        line = (json.dumps(record, sort_keys=True, default=str) + "\n").encode("utf-8")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            size = os.fstat(fd).st_size
            if size and os.pread(fd, 1, size - 1) != b"\n":
                line = b"\n" + line  # end a torn last line first, so it cannot swallow this record
            written = os.write(fd, line)
            while written < len(line):  # a regular file takes it whole; be exact anyway
                written += os.write(fd, line[written:])
            os.fsync(fd)
        finally:
            os.close(fd)

    def extend(self, records: Iterable[dict[str, Any]]) -> None:
        for record in records:
            self.append(record)
