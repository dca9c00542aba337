"""CLI commands of `python -m backend`; see backend/__main__.py.

One convention for every command's errors: a bad argument or an unusable input raises CommandError,
which backend/__main__.py prints as one line `COMMAND: error: MESSAGE` on stderr, exit status 2.
Results and reports go to stdout; progress and notes to stderr.
"""
from __future__ import annotations

from backend.protocol import MAX_RESOLUTION, MIN_RESOLUTION


class CommandError(Exception):
    """A bad argument or input of a command: one line on stderr, exit status 2."""


def check_resolution(resolution: int, option: str = "--resolution") -> None:
    """CommandError unless `resolution` lies in the protocol's range."""
    if not MIN_RESOLUTION <= resolution <= MAX_RESOLUTION:
        raise CommandError(f"{option} must lie in [{MIN_RESOLUTION}, {MAX_RESOLUTION}], got {resolution}")
