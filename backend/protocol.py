"""The stdio protocol's schema (see backend/PROTOCOL.md): parse and validate requests, build events.

Everything here is pure data handling (no torch, no I/O beyond checking that named files exist), so
the server, the CLI and the tests share one definition of what a valid request is.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from backend.devices import DEVICES
from backend.localizers.base import TASKS

PROTOCOL_VERSION = 1
OPS: tuple[str, ...] = ("hello", "estimate", "scene_contact", "place", "cancel", "shutdown")
JOB_OPS: tuple[str, ...] = ("estimate", "scene_contact", "place")  # run on the worker thread, cancellable
STAGES: tuple[str, ...] = ("load", "render", "localize", "lift", "write")
SCENE_STAGES: tuple[str, ...] = ("load", "compute", "write")  # progress stages of scene_contact and place
MOVES: tuple[str, ...] = ("object", "body")
# Same value as backend.scene_contact.DEFAULT_THRESHOLD (not imported: this module stays free of scipy).
DEFAULT_SCENE_THRESHOLD = 0.02
ERROR_CODES: tuple[str, ...] = (
    "bad_json", "bad_request", "unknown_op", "version_mismatch", "missing_file", "bad_image", "bad_mesh",
    "busy", "not_running", "no_person", "localizer_unavailable", "device_unavailable", "internal",
)
BODY_SOURCES: tuple[str, ...] = ("anny", "smplx", "mesh")
GENDERS: tuple[str, ...] = ("neutral", "male", "female")
MIN_RESOLUTION, MAX_RESOLUTION, DEFAULT_RESOLUTION = 32, 4096, 1024


class ProtocolError(Exception):
    """A request that cannot be served; becomes one `error` event (code, message, hint)."""

    def __init__(self, code: str, message: str, hint: str = "", request_id: str | None = None) -> None:
        assert code in ERROR_CODES, code
        super().__init__(message)
        self.code, self.message, self.hint, self.request_id = code, message, hint, request_id


@dataclass(frozen=True)
class Request:
    op: str
    id: str
    fields: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class EstimateRequest:
    """A validated `estimate`. body/object are the protocol's dicts; the CLI may pass a loaded Body and
    {"vertices", "faces"} arrays instead, so a batch loads its meshes once."""

    image: str
    out_dir: str
    task: str = "human_contact"
    label: str | None = None
    body: Any = None  # dict (protocol) or backend.bodies.Body (CLI)
    object: dict[str, Any] | None = None
    localizer: str | None = None  # None: the registry's default
    device: str = "auto"
    resolution: int = DEFAULT_RESOLUTION
    checkpoint_dir: str | None = None
    labels: tuple[str, ...] = ()  # human_contact: the objects in the photo (binary = union of their contacts)
    data_dir: str | None = None  # the official InteractVLM data folder (unzipped data.zip)

    @property
    def surface(self) -> str:
        return "object" if self.task == "object_contact" else "body"


@dataclass(frozen=True)
class SceneContactRequest:
    """A validated `scene_contact`: two world-space mesh npz files and a distance threshold."""

    body_npz: str
    object_npz: str
    out_dir: str
    threshold: float = DEFAULT_SCENE_THRESHOLD


@dataclass(frozen=True)
class PlaceRequest:
    """A validated `place`: both mesh npz files must also hold a `contact` array."""

    body_npz: str
    object_npz: str
    out_dir: str
    move: str = "object"
    scale: bool = False
    threshold: float = DEFAULT_SCENE_THRESHOLD
    penetration_weight: float = 10.0
    regularizer: float = 1e-4


def parse_request(line: str | bytes) -> Request:
    """One line of stdin -> Request, or ProtocolError (bad_json, bad_request, version_mismatch, unknown_op)."""
    if isinstance(line, bytes):
        try:
            line = line.decode("utf-8")
        except UnicodeDecodeError as error:
            raise ProtocolError("bad_json", f"the line is not UTF-8 text ({error})", "send UTF-8 encoded JSON") from None
    try:
        message = json.loads(line)
    except json.JSONDecodeError as error:
        raise ProtocolError("bad_json", f"the line is not valid JSON: {error}",
                            "send one JSON object per line, e.g. {\"v\": 1, \"id\": \"1\", \"op\": \"hello\"}") from None
    if not isinstance(message, dict):
        raise ProtocolError("bad_request", f"a message must be a JSON object, got {type(message).__name__}",
                            "wrap the request in {...} with v, id and op")
    request_id = message.get("id")
    if not isinstance(request_id, str) or not request_id:
        raise ProtocolError("bad_request", "the message has no id (a non-empty string)",
                            "give every request a client-chosen string id; events echo it",
                            request_id=request_id if isinstance(request_id, (str, int)) else None)
    if "v" not in message:
        raise ProtocolError("bad_request", "the message has no protocol version field v",
                            f"add \"v\": {PROTOCOL_VERSION}", request_id)
    if message["v"] != PROTOCOL_VERSION or isinstance(message["v"], bool):
        raise ProtocolError("version_mismatch",
                            f"protocol version {message['v']!r} is not supported; this backend speaks v{PROTOCOL_VERSION}",
                            "update the Blender extension and the backend to the same release", request_id)
    op = message.get("op")
    if op not in OPS:
        raise ProtocolError("unknown_op", f"unknown op {op!r}", f"use one of {', '.join(OPS)}", request_id)
    fields = {k: v for k, v in message.items() if k not in ("v", "id", "op")}
    if op == "cancel":
        _expect_str(fields, "target", request_id, required=True)
    if op == "hello":
        _expect_str(fields, "checkpoint_dir", request_id)
    return Request(op=op, id=request_id, fields=fields)


def _expect_str(fields: dict, key: str, request_id: str, required: bool = False) -> str | None:
    value = fields.get(key)
    if value is None:
        if required:
            raise ProtocolError("bad_request", f"field {key!r} is required", f"add {key!r} (a string)", request_id)
        return None
    if not isinstance(value, str) or not value.strip():
        raise ProtocolError("bad_request", f"field {key!r} must be a non-empty string, got {value!r}",
                            f"send {key!r} as a string", request_id)
    return value


def _expect_choice(fields: dict, key: str, choices: tuple[str, ...], default: str, request_id: str) -> str:
    value = fields.get(key, default)
    if value is None:
        return default
    if value not in choices:
        raise ProtocolError("bad_request", f"field {key!r} is {value!r}, which is not one of {', '.join(choices)}",
                            f"set {key!r} to one of {', '.join(choices)}", request_id)
    return value


def _expect_dict(fields: dict, key: str, request_id: str) -> dict | None:
    value = fields.get(key)
    if value is not None and not isinstance(value, dict):
        raise ProtocolError("bad_request", f"field {key!r} must be an object, got {type(value).__name__}",
                            f"send {key!r} as a JSON object", request_id)
    return value


def parse_estimate(request: Request) -> EstimateRequest:
    """Types, required fields and allowed values of an `estimate`; files are checked by check_inputs."""
    f, rid = request.fields, request.id
    image = _expect_str(f, "image", rid, required=True)
    out_dir = _expect_str(f, "out_dir", rid, required=True)
    task = _expect_choice(f, "task", TASKS, "human_contact", rid)
    from backend.labels import normalise_label, parse_labels

    label = normalise_label(_expect_str(f, "label", rid))
    labels = f.get("labels")
    if labels is not None and (not isinstance(labels, list) or not labels
                               or not all(isinstance(x, str) and x.strip() for x in labels)):
        raise ProtocolError("bad_request", f"field 'labels' must be a non-empty list of object names, got {labels!r}",
                            "send e.g. \"labels\": [\"bicycle\", \"bench\"], or [\"scene\"] for the ground", rid)
    labels = tuple(parse_labels(labels))
    if labels and task != "human_contact":
        raise ProtocolError("bad_request", f"field 'labels' is for task human_contact, not {task}",
                            "use 'label' (one object) for semantic_contact and object_contact", rid)
    if task == "semantic_contact" and label is None:
        raise ProtocolError("bad_request", "task semantic_contact needs a label (the object's name)",
                            "add e.g. \"label\": \"bicycle\"", rid)
    body = _parse_body(_expect_dict(f, "body", rid), rid)
    obj = _expect_dict(f, "object", rid)
    if task != "object_contact" and body is None:
        raise ProtocolError("bad_request", f"task {task} needs a body", "add \"body\": {\"source\": \"anny\"}", rid)
    if task == "object_contact" and obj is None:
        raise ProtocolError("bad_request", "task object_contact needs an object mesh",
                            "add \"object\": {\"npz\": PATH} with vertices (N,3) and faces (F,3)", rid)
    if obj is not None:
        _expect_str(obj, "npz", rid, required=True)
    resolution = f.get("resolution", DEFAULT_RESOLUTION)
    if resolution is None:
        resolution = DEFAULT_RESOLUTION
    if isinstance(resolution, float) and math.isfinite(resolution) and resolution.is_integer():
        resolution = int(resolution)
    if not isinstance(resolution, int) or isinstance(resolution, bool) or not MIN_RESOLUTION <= resolution <= MAX_RESOLUTION:
        raise ProtocolError("bad_request", f"resolution must be an integer in [{MIN_RESOLUTION}, {MAX_RESOLUTION}], "
                            f"got {resolution!r}", f"use e.g. {DEFAULT_RESOLUTION}", rid)
    return EstimateRequest(image=image, out_dir=out_dir, task=task, label=label, body=body, object=obj,
                           localizer=_expect_str(f, "localizer", rid),
                           device=_expect_choice(f, "device", DEVICES, "auto", rid), resolution=resolution,
                           checkpoint_dir=_expect_str(f, "checkpoint_dir", rid), labels=labels,
                           data_dir=_expect_str(f, "data_dir", rid))


def _expect_number(fields: dict, key: str, default: float, request_id: str, positive: bool) -> float:
    value = fields.get(key)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) \
            or value < 0 or (positive and value == 0):
        kind = "a positive number" if positive else "a number >= 0"
        raise ProtocolError("bad_request", f"field {key!r} must be {kind}, got {value!r}",
                            f"send {key!r} as {kind} (default {default:g})", request_id)
    return float(value)


def _expect_mesh_npz(fields: dict, key: str, request_id: str) -> str:
    mesh = _expect_dict(fields, key, request_id)
    if mesh is None:
        raise ProtocolError("bad_request", f"field {key!r} is required",
                            f"add \"{key}\": {{\"npz\": PATH}} with world-space vertices (N,3) and faces (F,3)",
                            request_id)
    return _expect_str(mesh, "npz", request_id, required=True)


def parse_scene_contact(request: Request) -> SceneContactRequest:
    """Types and required fields of a `scene_contact`; files are checked by check_scene_inputs."""
    f, rid = request.fields, request.id
    return SceneContactRequest(body_npz=_expect_mesh_npz(f, "body", rid), object_npz=_expect_mesh_npz(f, "object", rid),
                               out_dir=_expect_str(f, "out_dir", rid, required=True),
                               threshold=_expect_number(f, "threshold", DEFAULT_SCENE_THRESHOLD, rid, positive=True))


def parse_place(request: Request) -> PlaceRequest:
    """Types and required fields of a `place`; the contact arrays are checked when the job reads them."""
    f, rid = request.fields, request.id
    scale = f.get("scale", False)
    if not isinstance(scale, bool):
        raise ProtocolError("bad_request", f"field 'scale' must be true or false, got {scale!r}",
                            "send \"scale\": true to also solve for a uniform scale", rid)
    return PlaceRequest(body_npz=_expect_mesh_npz(f, "body", rid), object_npz=_expect_mesh_npz(f, "object", rid),
                        out_dir=_expect_str(f, "out_dir", rid, required=True),
                        move=_expect_choice(f, "move", MOVES, "object", rid), scale=scale,
                        threshold=_expect_number(f, "threshold", DEFAULT_SCENE_THRESHOLD, rid, positive=True),
                        penetration_weight=_expect_number(f, "penetration_weight", 10.0, rid, positive=False),
                        regularizer=_expect_number(f, "regularizer", 1e-4, rid, positive=False))


def check_scene_inputs(request: SceneContactRequest | PlaceRequest, request_id: str | None = None) -> None:
    """missing_file / bad_request for the mesh files and out_dir of a scene op (before it is accepted)."""
    _check_paths([("body.npz", request.body_npz, "file"), ("object.npz", request.object_npz, "file")],
                 request.out_dir, request_id)


def _parse_body(body: dict | None, rid: str) -> dict | None:
    if body is None:
        return None
    source = body.get("source")
    if source not in BODY_SOURCES:
        raise ProtocolError("bad_request", f"body source {source!r} is not one of {', '.join(BODY_SOURCES)}",
                            "use {\"source\": \"anny\"}, {\"source\": \"smplx\", \"model_dir\": DIR} or "
                            "{\"source\": \"mesh\", \"npz\": PATH}", rid)
    if source == "smplx":
        _expect_str(body, "model_dir", rid, required=True)
        _expect_choice(body, "gender", GENDERS, "neutral", rid)
    if source == "mesh":
        _expect_str(body, "npz", rid, required=True)
    return body


def check_inputs(request: EstimateRequest, request_id: str | None = None) -> None:
    """missing_file for any named input that does not exist (before the job is accepted)."""
    named = [("image", request.image, "file")]
    if request.body and request.body.get("source") == "smplx":
        named.append(("body.model_dir", request.body["model_dir"], "dir"))
    if request.body and isinstance(request.body.get("npz"), str):
        named.append(("body.npz", request.body["npz"], "file"))
    if request.object and isinstance(request.object.get("npz"), str):
        named.append(("object.npz", request.object["npz"], "file"))
    if request.checkpoint_dir:
        named.append(("checkpoint_dir", request.checkpoint_dir, "dir"))
    if request.data_dir:
        named.append(("data_dir", request.data_dir, "dir"))
    _check_paths(named, request.out_dir, request_id)


def _check_paths(named: list[tuple[str, str, str]], out_dir: str, request_id: str | None) -> None:
    """missing_file for the first (field, path, "file"|"dir") that does not exist; bad_request for an
    out_dir that is a file."""
    for key, value, kind in named:
        path = Path(value)
        ok = path.is_file() if kind == "file" else path.is_dir()
        if not ok:
            what = "file" if kind == "file" else "folder"
            raise ProtocolError("missing_file", f"{key}: {what} {value} does not exist",
                                f"check the path of {key}; the backend reads it from its own file system", request_id)
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise ProtocolError("bad_request", f"out_dir {out} exists and is not a folder", "give a folder path", request_id)


def make_event(event: str, request_id: str | None, **fields: Any) -> dict[str, Any]:
    """One protocol event (a JSON object before encoding): version, the request's id, the event's fields."""
    return {"v": PROTOCOL_VERSION, "id": request_id, "event": event, **fields}


def error_event(request_id: str | None, code: str, message: str, hint: str = "") -> dict[str, Any]:
    return make_event("error", request_id, code=code, message=message, hint=hint)


def encode(event: dict[str, Any]) -> str:
    """One JSON line (no embedded newlines); numpy scalars and paths become plain JSON values."""
    return json.dumps(event, default=_json_default, ensure_ascii=False) + "\n"


def _json_default(value: Any) -> Any:
    if hasattr(value, "tolist"):  # numpy arrays and scalars
        return value.tolist()
    return str(value)  # paths and anything else
