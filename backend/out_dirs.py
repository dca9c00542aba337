"""Check, before any work, that a job's output folder can be written, so an unwritable folder is reported as
the user's path problem at once instead of failing after minutes of work (and as `internal`)."""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

HINT = "choose an output folder you can write to (it is created if missing)"


class OutDirError(ValueError):
    """The output folder cannot be created or written; `code` is the protocol's error code."""

    code = "bad_out_dir"
    hint = HINT


def check_out_dir(path: str | Path) -> Path:
    """`path` as a Path if a result can be written there: it is a folder, or can be created as one. Nothing
    is created: the write probe is an anonymous temporary file in the nearest existing folder (it tests
    permissions and read-only file systems alike, also for root, whom `os.access` always answers yes)."""
    out = Path(path).expanduser()
    existing = out
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if existing != out and not existing.is_dir():
        raise OutDirError(f"output folder {out} cannot be created: {existing} is a file, not a folder")
    if not existing.is_dir():
        raise OutDirError(f"output folder {out} exists and is not a folder")
    try:
        with tempfile.TemporaryFile(dir=existing):
            pass
    except OSError as error:
        where = "" if existing == out else f" (its nearest existing folder {existing} is not writable)"
        raise OutDirError(f"output folder {out} cannot be written{where}: "
                          f"{error.strerror or error}") from error
    if not os.access(existing, os.W_OK | os.X_OK):
        raise OutDirError(f"output folder {out} cannot be written: permission denied on {existing}")
    return out
