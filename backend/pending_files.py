"""Temporary files being written right now, so that a process about to exit (`serve` ends with os._exit, which
runs no `finally`) can remove what a writer left half-written: nothing partial stays in the client's folder."""
from __future__ import annotations

import os
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

_lock = threading.Lock()
_pending: set[str] = set()


@contextmanager
def tracked(path: str | Path) -> Iterator[None]:
    """Mark `path` as being written for the duration of the block (the writer removes or renames it itself)."""
    with _lock:
        _pending.add(str(path))
    try:
        yield
    finally:
        with _lock:
            _pending.discard(str(path))


def remove_all() -> list[str]:
    """Delete every temporary file still being written; returns their paths (for the log)."""
    with _lock:
        paths, _ = sorted(_pending), _pending.clear()
    for path in paths:
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass
    return paths
