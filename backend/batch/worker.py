"""A warm batch worker: runs items one at a time and turns each into an index record.

One Worker lives in the batch process (local executor) or in each Ray actor. It loads the batch's
localizer once (warm()), keeps the last few bodies and object meshes loaded (a studio list reuses a
handful of bodies across thousands of photos), and sets torch's thread count once, so the local and
the Ray executor compute with the same number of threads (and the same scores). Every failure of an
item becomes a failed record; nothing but KeyboardInterrupt leaves run().
"""
from __future__ import annotations

import glob
import json
import os
import re
import socket
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from backend.batch.adapter import estimate_item, load_item_body, load_item_object, request_for
from backend.batch.items import Item
from backend.batch.provenance import provenance
from backend.jobs import JobError, classify
from backend.localizers.cache import LocalizerCache
from backend.protocol import CONTACT_THRESHOLD

EXPORTS = ("ply",)
MESH_CACHE = 8  # bodies / object meshes kept loaded per worker (an SMPL-X body is ~10 MB of arrays)


@dataclass(frozen=True)
class BatchSettings:
    """What every item of a batch shares (the CLI's options)."""

    localizer: str
    device: str = "auto"  # resolved by the worker
    checkpoint_dir: str | None = None
    data_dir: str | None = None  # the official InteractVLM data folder (renders, maps)
    threads: int | None = None  # torch threads per worker; None: torch's default
    exports: tuple[str, ...] = ()  # per-item extra outputs: "ply"
    threshold: float = CONTACT_THRESHOLD

    def to_dict(self) -> dict[str, Any]:
        return {"localizer": self.localizer, "device": self.device, "checkpoint_dir": self.checkpoint_dir,
                "data_dir": self.data_dir,
                "threads": self.threads, "exports": list(self.exports), "threshold": self.threshold}


@dataclass
class _Lru:
    capacity: int
    items: OrderedDict = field(default_factory=OrderedDict)

    def get(self, key: Any, load: Callable[[], Any]) -> Any:
        if key in self.items:
            self.items.move_to_end(key)
            return self.items[key]
        value = load()
        self.items[key] = value
        while len(self.items) > self.capacity:
            self.items.popitem(last=False)
        return value


class Worker:
    """Runs batch items in this process; `executor` names it in the records (local / ray)."""

    def __init__(self, settings: BatchSettings, executor: str = "local", bodies: dict | None = None,
                 objects: dict | None = None, cache: LocalizerCache | None = None) -> None:
        from backend.devices import resolve_device

        import torch  # the renderer's; imported now so every record states the same thread count

        self.settings, self.executor = settings, executor
        if settings.threads:
            torch.set_num_threads(settings.threads)
        self.device = resolve_device(settings.device)
        self.cache = cache or LocalizerCache(capacity=1)
        self.bodies, self.objects = _Lru(MESH_CACHE), _Lru(MESH_CACHE)
        self.bodies.items.update(bodies or {})  # preloaded by `estimate` (it validates them first)
        self.objects.items.update(objects or {})

    def warm(self) -> dict[str, Any]:
        """Load the batch's localizer now (errors propagate: the batch cannot start) and say who we are."""
        self.cache.get(self.settings.localizer, self.device, self.settings.checkpoint_dir)
        return self.identity()

    def identity(self) -> dict[str, Any]:
        return {"executor": self.executor, "host": socket.gethostname(), "pid": os.getpid(),
                "torch_threads": _torch_threads()}

    def run(self, item: Item, out_dir: str | Path) -> dict[str, Any]:
        """Estimate one item into out_dir (<id>.npz, <id>.json, exports) and return its record."""
        out_dir = Path(out_dir)
        start = time.perf_counter()
        localizer = item.localizer or self.settings.localizer
        record: dict[str, Any] = {"item": item.id, "settings": item.settings(), "worker": self.identity(),
                                  "provenance": provenance(item.settings(), localizer, self.device,
                                                           self.settings.checkpoint_dir, _torch_threads(),
                                                           self.settings.threshold)}
        try:
            record.update(self._estimate(item, out_dir, localizer, record["provenance"]))
            record.update(status="ok", error=None)
        except KeyboardInterrupt:
            raise
        except Exception as error:  # noqa: BLE001 - every failure is recorded, the batch goes on
            code, message, hint = classify(error)
            record.update(status="failed", outputs=[], contact_vertices=None, n_vertices=None, parts=[],
                          warnings=[], timings={}, error={"code": code, "message": message, "hint": hint})
        record["timings"] = {**record.get("timings", {}), "total": round(time.perf_counter() - start, 4)}
        return record

    def _estimate(self, item: Item, out_dir: Path, localizer: str, prov: dict[str, Any]) -> dict[str, Any]:
        if item.problem:
            raise JobError("bad_request", f"line {item.line}: {item.problem}", "fix the entry in the batch list")
        if item.task == "semantic_contact" and not item.label:
            raise JobError("bad_request", "semantic_contact needs a label (the object's name)",
                           "add a label column, e.g. bicycle")
        if item.task == "object_contact" and not item.object:
            raise JobError("bad_request", "object_contact needs an object mesh", "add an object column")
        t0 = time.perf_counter()
        need_body = item.task != "object_contact" or item.body != "anny"  # as `estimate`: the body frames the object
        body = self.bodies.get((item.body, item.gender), lambda: load_item_body(item.body, item.gender)) \
            if need_body else None
        obj = self.objects.get(item.object, lambda: load_item_object(item.object)) \
            if item.object and item.task == "object_contact" else None
        meshes_s = time.perf_counter() - t0
        request = request_for(item, out_dir, body, obj, localizer, self.device, self.settings.checkpoint_dir,
                              self.settings.data_dir)
        out_dir.mkdir(parents=True, exist_ok=True)
        _remove_temporaries(out_dir, item.id)
        npz = out_dir / f"{item.id}.npz"
        result = estimate_item(request, self.cache, npz)
        t1 = time.perf_counter()
        summary = {"image": item.image, **result.summary, "item": item.settings(), "provenance": prov}
        _write_json(out_dir / f"{item.id}.json", summary)
        outputs = [npz.name, f"{item.id}.json"]
        if "ply" in self.settings.exports:
            from backend.exports import read_result, write_ply

            vertices, faces = (body.vertices, body.faces) if request.surface == "body" else \
                (obj["vertices"], obj["faces"])
            arrays = read_result(npz)
            write_ply(out_dir / f"{item.id}.ply", vertices, faces, arrays["scores"], arrays["seen"],
                      self.settings.threshold)
            outputs.append(f"{item.id}.ply")
        timings = {"meshes": round(meshes_s, 4), **result.summary["timings"],
                   "outputs": round(time.perf_counter() - t1, 4)}
        return {"outputs": outputs, "contact_vertices": result.summary["contact_vertices"],
                "n_vertices": result.summary["n_vertices"], "parts": result.summary["parts_in_contact"],
                "warnings": result.summary["warnings"], "timings": timings}


def _remove_temporaries(out_dir: Path, item_id: str) -> None:
    """Delete this item's temporaries left by an attempt killed mid-write (never another item's: `a` must
    not touch `a.chair`'s). Names: commit_npz's .<id>.<8 random chars>.tmp, ours .<id>.json.tmp / .ply.tmp."""
    pattern = re.compile(re.escape(f".{item_id}.") + r"([a-z0-9_]{8}|json|ply)\.tmp")
    for path in out_dir.glob(f".{glob.escape(item_id)}.*.tmp"):
        if pattern.fullmatch(path.name):
            path.unlink(missing_ok=True)


def _write_json(path: Path, data: dict[str, Any]) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(data, indent=2, default=str) + "\n")
    tmp.replace(path)  # whole or absent, like the npz


def _torch_threads() -> int:
    import torch

    return int(torch.get_num_threads())
