"""Batch lists: read a CSV or JSON-lines file into items, name them, and take a shard's share.

An *item* is one estimate: one photo, one body, one task (and label). A list entry with several labels
(`labels`: a JSON list, or `;`-separated in CSV) becomes one item per label. Columns / keys:

    image (required) · body (`anny` default | `smplx:DIR` | a mesh file) · gender (SMPL-X, default neutral)
    · object (mesh file; object_contact) · task (default human_contact) · label / labels · resolution
    (default 1024) · localizer (default: the batch's) · id (default: the photo's stem)

Relative paths are resolved against the list file's folder and stored absolute, because every worker
(Ray actors on other machines included) reads them through the same shared file system.
A structural problem (unreadable file, no `image` column, an unknown column, two items with one id) is
a BatchListError and stops the batch before it starts; a bad value in one entry (an unknown task, a
resolution that is not a number) only fails that item: it is kept with `problem` set.
"""
from __future__ import annotations

import csv
import hashlib
import json
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

from backend.protocol import GENDERS, MAX_RESOLUTION, MIN_RESOLUTION, TASKS

COLUMNS = ("id", "image", "body", "gender", "object", "task", "label", "labels", "resolution", "localizer")
DEFAULT_RESOLUTION = 1024


class BatchListError(ValueError):
    """The batch list as a whole cannot be used (the message names the file, line and fix)."""


@dataclass(frozen=True)
class Item:
    """One estimate of a batch. Paths are absolute; `problem` names a bad value (the item then fails)."""

    id: str
    image: str
    body: str = "anny"  # anny | smplx:DIR | a mesh file
    gender: str = "neutral"
    object: str | None = None
    task: str = "human_contact"
    label: str | None = None
    labels: tuple[str, ...] = ()  # human_contact: the objects in the photo (binary contact = their union)
    resolution: int = DEFAULT_RESOLUTION
    localizer: str | None = None  # None: the batch's --localizer
    line: int = 0  # where it came from in the list (1-based), for messages
    problem: str | None = None

    def settings(self) -> dict[str, Any]:
        """What decides the result (not where it came from): the item's part of the resume fingerprint."""
        return {k: v for k, v in asdict(self).items() if k not in ("line", "problem")}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Item":
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})


def read_batch_list(path: str | Path) -> list[Item]:
    """Every item of a CSV (header row) or JSON-lines list (`.jsonl`/`.ndjson`, or content starting with `{`)."""
    path = Path(path)
    if not path.is_file():
        raise BatchListError(f"batch list {path} does not exist; pass a .csv (header: image,body,...) or .jsonl file")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as error:
        raise BatchListError(f"batch list {path} cannot be read as UTF-8 text ({error})") from error
    as_json = path.suffix.lower() in (".jsonl", ".ndjson", ".json") or text.lstrip().startswith("{")
    entries = _json_lines(path, text) if as_json else _csv_rows(path, text)
    if not entries:
        raise BatchListError(f"batch list {path} has no entries")
    items: list[Item] = []
    for line, entry in entries:
        items.extend(_items_of(path, line, entry))
    return _assign_ids(path, items)


def _json_lines(path: Path, text: str) -> list[tuple[int, dict[str, Any]]]:
    entries = []
    for number, raw in enumerate(text.splitlines(), 1):
        if not raw.strip() or raw.lstrip().startswith("#"):
            continue
        try:
            entry = json.loads(raw)
        except json.JSONDecodeError as error:
            raise BatchListError(f"{path}:{number}: not valid JSON ({error}); write one JSON object per line") from None
        if not isinstance(entry, dict):
            raise BatchListError(f"{path}:{number}: an entry must be a JSON object like {{\"image\": \"a.jpg\"}}")
        entries.append((number, entry))
    return entries


def _csv_rows(path: Path, text: str) -> list[tuple[int, dict[str, Any]]]:
    reader = csv.DictReader(line for line in text.splitlines() if not line.lstrip().startswith("#"))
    if not reader.fieldnames or "image" not in [n.strip() for n in reader.fieldnames]:
        raise BatchListError(f"{path}: the first row must be a header naming the columns, with at least 'image' "
                             f"(columns: {', '.join(COLUMNS)})")
    rows = []
    for number, row in enumerate(reader, 2):
        if None in row:
            raise BatchListError(f"{path}:{number}: more values than header columns; quote values with commas")
        rows.append((number, {k.strip(): v.strip() for k, v in row.items() if v is not None and v.strip() != ""}))
    return rows


def _items_of(path: Path, line: int, entry: dict[str, Any]) -> list[Item]:
    unknown = sorted(set(entry) - set(COLUMNS))
    if unknown:
        raise BatchListError(f"{path}:{line}: unknown column(s) {', '.join(unknown)}; known: {', '.join(COLUMNS)}")
    if not entry.get("image"):
        raise BatchListError(f"{path}:{line}: no image; every entry needs the photo's path")
    base = path.parent
    problems: list[str] = []
    body = str(entry.get("body") or "anny")
    if body.startswith("smplx:"):
        body = "smplx:" + _absolute(base, body.split(":", 1)[1])
    elif body != "anny":
        body = _absolute(base, body)
    task = str(entry.get("task") or "human_contact")
    if task not in TASKS:
        problems.append(f"task {task!r} is not one of {', '.join(TASKS)}")
    gender = str(entry.get("gender") or "neutral")
    if gender not in GENDERS:
        problems.append(f"gender {gender!r} is not one of {', '.join(GENDERS)}")
    resolution = entry.get("resolution", DEFAULT_RESOLUTION)
    try:
        resolution = int(resolution)
        if isinstance(entry.get("resolution"), float) or not MIN_RESOLUTION <= resolution <= MAX_RESOLUTION:
            raise ValueError
    except (TypeError, ValueError):
        problems.append(f"resolution {entry.get('resolution')!r} is not a whole number in "
                        f"[{MIN_RESOLUTION}, {MAX_RESOLUTION}]")
        resolution = DEFAULT_RESOLUTION
    labels = _labels(entry)
    common = dict(image=_absolute(base, str(entry["image"])), body=body, gender=gender,
                  object=_absolute(base, str(entry["object"])) if entry.get("object") else None, task=task,
                  resolution=resolution, localizer=str(entry["localizer"]) if entry.get("localizer") else None,
                  line=line, problem="; ".join(problems) or None)
    given = str(entry["id"]) if entry.get("id") else ""
    if len(labels) <= 1:
        return [Item(id=given, label=labels[0] if labels else None, **common)]
    return [Item(id=f"{given}.{label}" if given else "", label=label, **common) for label in labels]


def _labels(entry: dict[str, Any]) -> list[str]:
    raw = entry.get("labels", entry.get("label"))
    if raw is None:
        return []
    values = raw if isinstance(raw, list) else str(raw).split(";")
    return [str(v).strip() for v in values if str(v).strip()]


def _absolute(base: Path, value: str) -> str:
    path = Path(value).expanduser()
    return str(path if path.is_absolute() else (base / path).resolve())


def _assign_ids(path: Path, items: list[Item]) -> list[Item]:
    """Given ids stay; others are the photo's stem (+ `.label`), or stem + a short hash of the settings when
    two items would share it (the same photo on two bodies). Ids name the output files, so they must be
    stable across re-runs and shards: they depend only on the list's content."""
    def stem(item: Item) -> str:
        return Path(item.image).stem + (f".{item.label}" if item.label else "")

    stems = [stem(i) for i in items if not i.id]
    named = []
    for item in items:
        if not item.id:
            base = stem(item)
            if stems.count(base) > 1:
                digest = hashlib.sha1(json.dumps(item.settings(), sort_keys=True).encode()).hexdigest()[:8]
                base = f"{base}-{digest}"
            item = Item(**{**asdict(item), "id": base})
        named.append(item)
    seen: dict[str, int] = {}
    for item in named:
        if not _safe_id(item.id):
            raise BatchListError(f"{path}:{item.line}: id {item.id!r} cannot name a file; use letters, digits, "
                                 "'.', '-' and '_'")
        if item.id in seen:
            raise BatchListError(f"{path}:{item.line}: item {item.id!r} repeats line {seen[item.id]}; "
                                 "give one of them another id (or remove the duplicate)")
        seen[item.id] = item.line
    return named


def _safe_id(name: str) -> bool:
    return bool(name) and name not in (".", "..") and not name.startswith(".") and all(
        c.isalnum() or c in "._-+@=" for c in name)


def parse_shard(text: str) -> tuple[int, int]:
    """'i/n' -> (i, n) with 0 <= i < n."""
    try:
        index, count = (int(part) for part in text.split("/"))
    except ValueError:
        raise BatchListError(f"--shard {text!r} must be i/n, e.g. 0/4 (shards are numbered 0 to n-1)") from None
    if count < 1 or not 0 <= index < count:
        raise BatchListError(f"--shard {text!r}: need n >= 1 and 0 <= i < n (shards are numbered 0 to n-1)")
    return index, count


def shard_items(items: list[Item], index: int, count: int) -> list[Item]:
    """Shard `index` of `count`: every count-th item of the list from `index` on (balanced, and deterministic
    for the same list; every shard must be given the same list)."""
    return items[index::count]
