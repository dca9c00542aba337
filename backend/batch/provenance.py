"""How a result was made: localizer, checkpoint / data-folder fingerprints, backend version, settings.

Folder fingerprints hash each file's relative path, size and modification time, not its bytes: the
official checkpoint is ~26 GB, which would take minutes to read per worker, while a changed or replaced
file still changes its size or mtime. Mesh and model files up to HASH_BYTES_LIMIT are hashed by content.
Fingerprints are cached per process (a batch asks for the same folder once per item).
"""
from __future__ import annotations

import hashlib
import json
import os
import platform
from functools import lru_cache
from pathlib import Path
from typing import Any

HASH_BYTES_LIMIT = 64 << 20  # bigger files: path, size and mtime only (see above)


@lru_cache(maxsize=64)
def _fingerprint(path: str, stat_key: tuple[int, int]) -> str:
    target = Path(path)
    digest = hashlib.sha256()
    if target.is_dir():
        for file in sorted(p for p in target.rglob("*") if p.is_file()):
            info = file.stat()
            digest.update(f"{file.relative_to(target).as_posix()}\0{info.st_size}\0{info.st_mtime_ns}\n".encode())
        return "dir:" + digest.hexdigest()[:16]
    if stat_key[0] <= HASH_BYTES_LIMIT:
        with open(target, "rb") as stream:
            for block in iter(lambda: stream.read(1 << 20), b""):
                digest.update(block)
        return "sha256:" + digest.hexdigest()[:16]
    digest.update(f"{target.name}\0{stat_key[0]}\0{stat_key[1]}".encode())
    return "stat:" + digest.hexdigest()[:16]


def fingerprint(path: str | Path | None) -> str | None:
    """A short stable hash of a file or folder (None when the path is None or absent)."""
    if not path or not os.path.exists(path):
        return None
    info = os.stat(path)
    # a folder's own mtime changes when a file is added or removed: part of the cache key
    return _fingerprint(str(Path(path).resolve()), (info.st_size, info.st_mtime_ns))


def body_path(body: str) -> str | None:
    """The file or folder a body spec reads (None for the embedded Anny)."""
    return body.split(":", 1)[1] if body.startswith("smplx:") else (None if body == "anny" else body)


def provenance(item_settings: dict[str, Any], localizer: str, device: str, checkpoint_dir: str | None,
               threads: int | None, threshold: float) -> dict[str, Any]:
    """The provenance block of one result (index record, summary JSON, and the .blend record)."""
    from backend import __version__

    return {
        "backend_version": __version__,
        "localizer": localizer,
        "checkpoint_dir": checkpoint_dir,
        "checkpoint_hash": fingerprint(checkpoint_dir),
        "data_hashes": {
            "body": fingerprint(body_path(item_settings["body"])),
            "object": fingerprint(item_settings.get("object")),
        },
        "settings": {
            "device": device,
            "resolution": item_settings["resolution"],
            "task": item_settings["task"],
            "label": item_settings["label"],
            "torch_threads": threads,
            "contact_threshold": threshold,
        },
        "python": platform.python_version(),
    }


def settings_fingerprint(settings: dict[str, Any]) -> str:
    """Hash of what decides an item's result, inputs' fingerprints included: resume redoes an item whose
    photo, mesh or settings changed since it was done."""
    keyed = dict(settings, inputs=[fingerprint(settings.get("image")), fingerprint(settings.get("object")),
                                       fingerprint(body_path(settings["body"]))])
    return hashlib.sha256(json.dumps(keyed, sort_keys=True, default=str).encode()).hexdigest()[:16]
