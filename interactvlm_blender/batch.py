"""Script batches in Blender (api.estimate_batch): progress with an ETA, resume, periodic saves.

One item is one api.estimate_contact call (the same job, the same writer); this module only decides
which items run, reports each, and saves the .blend every N items so a crash loses at most N items.
An item is *done* when its object's record (results.py) holds a result for the same photo, task and
label whose attribute is still provably ours: re-running a batch after a crash skips those.
"""
from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Callable

import bpy

from . import client, estimate, naming, results
from .runner import JobError

Row = dict[str, Any]


def item_target(item: dict[str, Any]) -> str:
    """The object name that receives an item's result ("" when the item leaves it to the active object)."""
    return str(item.get("object") or "") if item.get("task") == "object_contact" else str(item.get("body") or "")


def already_done(item: dict[str, Any]) -> bool:
    """Whether the item's object already holds our result for the same photo, task and label."""
    obj = bpy.data.objects.get(item_target(item))
    if obj is None or obj.type != "MESH":
        return False
    task, label = item.get("task", "human_contact"), str(item.get("label") or "")
    key = naming.result_key(task, label)
    entry = results.read_record(obj).get(key)
    photo = estimate.photo_identity(estimate.EstimateParams(image_path=str(item.get("image") or ""),
                                                            image_name=str(item.get("image_name") or "")))
    if not isinstance(entry, dict) or not photo:
        return False
    return (entry.get("task"), entry.get("label", ""), entry.get("image")) == (task, label, photo) \
        and results.stored_scores(obj, key) is not None


def print_progress(row: Row) -> None:
    """The default progress callback in background mode: one line per item."""
    eta = f"ETA {row['eta_s']:.0f} s" if row["eta_s"] is not None else "ETA ?"
    detail = row["error"] if row["status"] == "failed" else f"{row['contact_count']} contact vertices" \
        if row["status"] == "done" else "already done"
    print(f"InteractVLM batch {row['index'] + 1}/{row['total']} {row['status']}: {row['object'] or '?'} "
          f"<- {Path(row['image']).name if row['image'] else '?'} ({detail}; {row['seconds']:.2f} s; {eta})",
          flush=True)


def _save_target(save_every: int, save_path: str) -> str:
    if save_every <= 0:
        return ""
    target = save_path or bpy.data.filepath
    if not target:
        raise JobError("save_every needs a saved .blend (save the file once) or save_path=... to save a copy to")
    folder = Path(bpy.path.abspath(target)).expanduser().parent
    if not folder.is_dir():
        raise JobError(f"cannot save the batch to {target!r}: the folder {str(folder)!r} does not exist")
    return target


def _save(target: str, copy: bool) -> None:
    if copy:
        bpy.ops.wm.save_as_mainfile(filepath=target, copy=True)
    else:
        bpy.ops.wm.save_mainfile()


def run_batch(items: list[dict[str, Any]], estimate_one: Callable[..., dict[str, Any]], stop_on_error: bool,
              progress: Callable[[Row], None] | None, save_every: int, save_path: str, skip_done: bool,
              masks: bool) -> list[Row]:
    """Run the items (see api.estimate_batch); one compact row per item, in order."""
    target = _save_target(save_every, save_path)
    if progress is None and bpy.app.background:
        progress = print_progress
    rows: list[Row] = []
    ran_s, ran, unsaved = 0.0, 0, 0
    for index, item in enumerate(items):
        start = time.perf_counter()
        row: Row = {"index": index, "total": len(items), "object": item_target(item),
                    "image": str(item.get("image") or item.get("image_name") or ""),
                    "task": item.get("task", "human_contact"), "label": str(item.get("label") or ""),
                    "status": "skipped", "contact_count": None, "group": None, "error": None}
        if not (skip_done and already_done(item)):
            try:
                out = estimate_one(**{"masks": masks, **item})
                row.update(status="done", object=out["object"], contact_count=out["contact_count"],
                           group=out["group"])
            except (JobError, client.WorkerError) as error:
                if stop_on_error:
                    raise
                row.update(status="failed", error=str(error))
            ran_s, ran, unsaved = ran_s + time.perf_counter() - start, ran + 1, unsaved + 1
        remaining = len(items) - index - 1
        row["seconds"] = round(time.perf_counter() - start, 4)
        row["eta_s"] = (ran_s / ran) * remaining if ran else (0.0 if not remaining else None)
        if target and unsaved and (unsaved >= save_every or not remaining):
            _save(target, copy=bool(save_path))
            unsaved = 0
            row["saved"] = target
        rows.append(row)
        if progress is not None:
            progress(row)
    return rows
