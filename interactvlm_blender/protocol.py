"""The add-on's own reader of the backend's stdio protocol (backend/PROTOCOL.md), version 1.

Blender's Python must never import `backend`, so the few facts the add-on relies on live here:
how a request line is built and which fields each event must carry. A line that breaks them is
rejected with a ValueError naming the problem (the client logs it and drops the line).
"""
from __future__ import annotations

import json
from typing import Any

PROTOCOL_VERSION = 1
STAGES: tuple[str, ...] = ("load", "render", "localize", "lift", "write")
TERMINAL_EVENTS: frozenset[str] = frozenset({"result", "error", "cancelled", "hello", "bye"})

# event -> {field: accepted types}; events not listed (added by later protocol ops) pass with the
# envelope check only, so a newer backend op does not break this reader.
_NUMBER = (int, float)
_REQUIRED: dict[str, dict[str, tuple[type, ...]]] = {
    "hello": {"backend_version": (str,), "protocol": (int,), "devices": (list,), "localizers": (list,)},
    "accepted": {},
    "progress": {"stage": (str,), "fraction": _NUMBER},
    "result": {"path": (str,), "summary": (dict,)},
    "error": {"code": (str,), "message": (str,)},
    "cancelled": {},
    "bye": {},
}


def encode_request(request_id: str, op: str, fields: dict[str, Any]) -> bytes:
    """One request line: {"v": 1, "id": ..., "op": ..., **fields} + newline, UTF-8."""
    reserved = {"v", "id", "op"} & set(fields)
    if reserved:
        raise ValueError(f"request fields may not set {sorted(reserved)}; they are filled in by the client")
    message = {"v": PROTOCOL_VERSION, "id": request_id, "op": op, **fields}
    return (json.dumps(message, ensure_ascii=False) + "\n").encode("utf-8")


def decode_event(raw: bytes | str) -> dict[str, Any]:
    """One stdout line -> a validated event dict, or ValueError saying what is wrong with it."""
    try:
        event = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ValueError(f"not a JSON line ({error})") from None
    if not isinstance(event, dict):
        raise ValueError(f"an event must be a JSON object, got {type(event).__name__}")
    if event.get("v") != PROTOCOL_VERSION:
        raise ValueError(f"protocol version {event.get('v')!r}; this add-on speaks v{PROTOCOL_VERSION} "
                         "(update the add-on and the backend to the same release)")
    name = event.get("event")
    if not isinstance(name, str):
        raise ValueError("the line has no 'event' name")
    if "id" not in event or not (event["id"] is None or isinstance(event["id"], str)):
        raise ValueError(f"event {name!r} has no string or null 'id'")
    for key, types in _REQUIRED.get(name, {}).items():
        value = event.get(key)
        if not isinstance(value, types) or isinstance(value, bool):
            raise ValueError(f"event {name!r} field {key!r} is {value!r}, expected {'/'.join(t.__name__ for t in types)}")
    if name == "progress" and not 0.0 <= float(event["fraction"]) <= 1.0:
        raise ValueError(f"progress fraction {event['fraction']!r} is outside [0, 1]")
    return event


def error_text(event: dict[str, Any]) -> str:
    """A one-line human message for an `error` event: message, then the hint."""
    message = str(event.get("message") or event.get("code") or "unknown error")
    hint = str(event.get("hint") or "").strip()
    return f"{message} ({hint})" if hint else message
