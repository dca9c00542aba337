"""The one rule for messages an artist reads (no bpy): short enough for the status bar, no CLI flags.

Blender's status bar shows one line of the latest report (about 100 characters fit a 1920 px
window beside the scene statistics); the Info editor keeps every report whole. So a long report is
made twice: whole (the details, in the Info editor) and then as its first clause cut to STATUS_LIMIT
(what the status bar shows). Backend messages serve the command line too; the flags they mention
("--checkpoint-dir on the command line") mean nothing in Blender and are dropped.
"""
from __future__ import annotations

import re

STATUS_LIMIT = 100
_CLI_FLAG = re.compile(r",? (?:or )?--[a-z][a-z0-9-]*(?: on the command line)?")
MORE = " … (details: Info editor)"


def artist_text(text: str) -> str:
    """text without the command-line flags the backend's messages mention."""
    return _CLI_FLAG.sub("", text)


def status_line(text: str, limit: int = STATUS_LIMIT) -> str | None:
    """The status-bar form of a report longer than `limit` (its first clause, cut at a word), or
    None when the report fits as it is."""
    if len(text) <= limit:
        return None
    head = text.split("; ")[0]
    room = limit - len(MORE)
    if len(head) > room:
        head = head[:room].rsplit(" ", 1)[0]
    return head.rstrip(" ,:;(") + MORE


def reports(text: str) -> list[str]:
    """The reports to make for one message, in order: the details first when it is long, then the
    line the status bar keeps."""
    text = artist_text(text)
    short = status_line(text)
    return [text] if short is None else [text, short]
