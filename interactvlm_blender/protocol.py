"""The add-on's half of the backend's stdio protocol (backend/PROTOCOL.md), version 1. No bpy.

Blender's Python never imports `backend`, so everything the add-on relies on about the contract
lives here, once: the shared constants, the request builders (one per op), the single writer of
mesh npz files, the event reader, the result reader with the keys each op's result must hold, and
the error codes the client makes up itself. tests/test_protocol_contract.py imports this module
beside `backend.protocol` and pins the two halves to each other.

    line = encode_request("blender-1-7", "estimate", estimate_request(image=..., out_dir=..., body=...))
    event = decode_event(raw_line)            # ValueError naming what is wrong with the line
    arrays = read_result("estimate", event["path"])   # ResultError when a required key is missing
    found = read_detections(event["summary"])         # the localizer's detections in the photo, or None
"""
from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any, Generator

import numpy as np

__all__ = [
    # constants shared with backend/protocol.py (equal by test)
    "PROTOCOL_VERSION",
    "OPS",
    "TASKS",
    "BODY_SOURCES",
    "GENDERS",
    "MOVES",
    "DEVICES",
    "STAGES",
    "SCENE_STAGES",
    "MIN_RESOLUTION",
    "MAX_RESOLUTION",
    "DEFAULT_RESOLUTION",
    "DEFAULT_CONTACT_DISTANCE",
    "SMPLX_VERTEX_COUNT",
    "ERROR_CODES",
    "CLIENT_ERROR_CODES",
    "WORKER_DIED",
    "HEARTBEAT_INTERVAL_S",
    "HUNG_AFTER_S",
    "TERMINAL_EVENTS",
    "RESULT_KEYS",
    "FITTED_BODY_KEYS",
    # requests
    "hello_request",
    "estimate_request",
    "scene_contact_request",
    "place_request",
    "cancel_request",
    "encode_request",
    "write_mesh_npz",
    "mesh_npz_steps",
    # events and results
    "decode_event",
    "error_text",
    "worker_died_event",
    "read_result",
    "read_detections",
    "ResultError",
]

PROTOCOL_VERSION = 1
OPS: tuple[str, ...] = ("hello", "estimate", "scene_contact", "place", "cancel", "shutdown")  # what the add-on sends
TASKS: tuple[str, ...] = ("human_contact", "semantic_contact", "object_contact")
BODY_SOURCES: tuple[str, ...] = ("anny", "smplx", "mesh")
GENDERS: tuple[str, ...] = ("neutral", "male", "female")
MOVES: tuple[str, ...] = ("object", "body")  # what `place` moves
DEVICES: tuple[str, ...] = ("auto", "cpu", "cuda")
STAGES: tuple[str, ...] = ("load", "render", "localize", "lift", "write")  # estimate's progress stages, in order
SCENE_STAGES: tuple[str, ...] = ("load", "compute", "write")  # scene_contact's and place's
MIN_RESOLUTION, MAX_RESOLUTION, DEFAULT_RESOLUTION = 32, 4096, 1024  # render size of each view, pixels
DEFAULT_CONTACT_DISTANCE = 0.02  # metres (scene units): scene_contact / place `contact_distance` default
SMPLX_VERTEX_COUNT = 10475  # the SMPL-X mesh; results of body source smplx follow its vertex order

# Codes of `error` events the backend sends, and those this add-on's client makes up itself.
ERROR_CODES: tuple[str, ...] = (
    "bad_json", "bad_request", "unknown_op", "version_mismatch", "missing_file", "bad_image", "bad_mesh",
    "busy", "not_running", "no_person", "localizer_unavailable", "device_unavailable", "internal",
    "bad_out_dir", "duplicate_id",
)
# The worker sends `heartbeat` events every HEARTBEAT_INTERVAL_S while it is inside a job; a job whose
# worker has sent nothing for HUNG_AFTER_S is taken as hung (a stage may take minutes: silence, not
# slowness, is the sign).
HEARTBEAT_INTERVAL_S = 2.0
HUNG_AFTER_S = 30.0
WORKER_DIED = "worker_died"  # the worker process ended while the job was pending (client.py)
CLIENT_ERROR_CODES: tuple[str, ...] = (WORKER_DIED,)
TERMINAL_EVENTS: frozenset[str] = frozenset({"result", "error", "cancelled", "hello", "bye"})

# The keys this add-on reads from each op's result npz (backend/PROTOCOL.md lists all of them).
RESULT_KEYS: dict[str, tuple[str, ...]] = {
    "estimate": ("scores", "seen", "masks", "view_names"),
    "scene_contact": ("body_score", "body_depth", "object_score", "object_depth"),
    "place": ("transform",),
}
# An estimate's optional arrays: the posed body the localizer reasoned on (metres, Z up, on z = 0), present
# when its localizer returns one (the default does; `interactvlm` and results of older backends do not).
FITTED_BODY_KEYS: tuple[str, ...] = ("fitted_vertices", "fitted_faces")

# event -> {field: accepted types}; events not listed (added by later protocol versions' ops) pass
# with the envelope check only, so a newer backend op does not break this reader.
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


class ResultError(ValueError):
    """A result file the add-on cannot use; str() says what and what to do."""


NPZ_CHUNK_BYTES = 8 << 20  # mesh npz bytes written per step (mesh_npz_steps)


# -- requests -----------------------------------------------------------------------------------
def _common(out_dir: str | Path, device: str, checkpoint_dir: str) -> dict[str, Any]:
    fields: dict[str, Any] = {"out_dir": str(out_dir), "device": device}
    if checkpoint_dir:
        fields["checkpoint_dir"] = str(checkpoint_dir)
    return fields


def hello_request(checkpoint_dir: str = "") -> dict[str, Any]:
    """`hello`: versions, devices, localizers (checkpoint_dir: whether `interactvlm` could run with it)."""
    return {"checkpoint_dir": str(checkpoint_dir)} if checkpoint_dir else {}


def cancel_request(target: str) -> dict[str, Any]:
    return {"target": target}


def split_labels(text: str) -> list[str]:
    """The labels of a comma-separated label field ("bicycle, bench" -> ["bicycle", "bench"])."""
    return [part.strip() for part in text.split(",") if part.strip()]


def estimate_request(*, image: str | Path, out_dir: str | Path, task: str = "human_contact", label: str = "",
                     body_npz: str | Path | None = None, smplx_dir: str | Path | None = None, gender: str = "neutral",
                     object_npz: str | Path | None = None, localizer: str = "", device: str = "auto",
                     resolution: int = DEFAULT_RESOLUTION, checkpoint_dir: str = "") -> dict[str, Any]:
    """The fields of an `estimate`: the body is a mesh npz (body_npz) or the SMPL-X model (smplx_dir)."""
    if task not in TASKS:
        raise ValueError(f"unknown task {task!r}; use one of {', '.join(TASKS)}")
    fields = {**_common(out_dir, device, checkpoint_dir), "image": str(image), "task": task,
              "resolution": int(resolution)}
    if smplx_dir is not None:
        fields["body"] = {"source": "smplx", "model_dir": str(smplx_dir), "gender": gender}
    elif body_npz is not None:
        fields["body"] = {"source": "mesh", "npz": str(body_npz)}
    if object_npz is not None:
        fields["object"] = {"npz": str(object_npz)}
    labels = split_labels(label)
    if task == "human_contact" and labels:  # the objects in the photo (PROTOCOL.md `labels`)
        fields["labels"] = labels
    elif label.strip():
        fields["label"] = label.strip()
    if localizer.strip():
        fields["localizer"] = localizer.strip()
    return fields


def scene_contact_request(*, body_npz: str | Path, object_npz: str | Path, out_dir: str | Path,
                          contact_distance: float = DEFAULT_CONTACT_DISTANCE) -> dict[str, Any]:
    """`scene_contact` of two world-space meshes within contact_distance (metres)."""
    return {"body": {"npz": str(body_npz)}, "object": {"npz": str(object_npz)}, "out_dir": str(out_dir),
            "contact_distance": float(contact_distance)}


def place_request(*, body_npz: str | Path, object_npz: str | Path, out_dir: str | Path, move: str = "object",
                  scale: bool = False, penetration_weight: float = 10.0,
                  contact_distance: float = DEFAULT_CONTACT_DISTANCE) -> dict[str, Any]:
    """`place`: both npz files hold a `contact` array (write_mesh_npz(contact=...))."""
    if move not in MOVES:
        raise ValueError(f"move must be one of {', '.join(MOVES)}, got {move!r}")
    return {"body": {"npz": str(body_npz)}, "object": {"npz": str(object_npz)}, "out_dir": str(out_dir),
            "move": move, "scale": bool(scale), "penetration_weight": float(penetration_weight),
            "contact_distance": float(contact_distance)}


def encode_request(request_id: str, op: str, fields: dict[str, Any]) -> bytes:
    """One request line: {"v": 1, "id": ..., "op": ..., **fields} + newline, UTF-8."""
    reserved = {"v", "id", "op"} & set(fields)
    if reserved:
        raise ValueError(f"request fields may not set {sorted(reserved)}; they are filled in by the client")
    message = {"v": PROTOCOL_VERSION, "id": request_id, "op": op, **fields}
    return (json.dumps(message, ensure_ascii=False) + "\n").encode("utf-8")


def write_mesh_npz(path: str | Path, vertices: np.ndarray, faces: np.ndarray, *,
                   group_names: list[str] | None = None, group_index: np.ndarray | None = None,
                   contact: np.ndarray | None = None) -> Path:
    """The protocol's mesh npz (uncompressed, no pickles): vertices (N,3) float32, faces (F,3) int32;
    optional vertex_group_names (G,) str with vertex_group_index (N,) int32 (each vertex's dominant
    group, -1 for none), and contact (N,) float32 weights for `place`. Returns the path."""
    steps = mesh_npz_steps(path, vertices, faces, group_names=group_names, group_index=group_index, contact=contact)
    while True:
        try:
            next(steps)
        except StopIteration as done:
            return done.value


def mesh_npz_steps(path: str | Path, vertices: np.ndarray, faces: np.ndarray, *,
                   group_names: list[str] | None = None, group_index: np.ndarray | None = None,
                   contact: np.ndarray | None = None) -> Generator[None, None, Path]:
    """write_mesh_npz one array per step (a 1M-vertex body's 40 MB took 85-96 ms in one go on the
    add-on's main thread); the same file np.savez writes (a zip of .npy members, stored). Closed
    early, it removes the partial file."""
    path = Path(path)
    arrays: dict[str, np.ndarray] = {"vertices": np.ascontiguousarray(vertices, dtype=np.float32).reshape(-1, 3),
                                     "faces": np.ascontiguousarray(faces, dtype=np.int32).reshape(-1, 3)}
    if group_names:
        arrays["vertex_group_names"] = np.array(list(group_names), dtype=str)
        arrays["vertex_group_index"] = np.ascontiguousarray(group_index, dtype=np.int32).reshape(-1)
    if contact is not None:
        arrays["contact"] = np.ascontiguousarray(contact, dtype=np.float32).reshape(-1)
    try:
        with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as archive:
            for index, (name, array) in enumerate(arrays.items()):
                if index:
                    yield
                with archive.open(f"{name}.npy", "w", force_zip64=True) as member:
                    np.lib.format.write_array_header_1_0(member, np.lib.format.header_data_from_array_1_0(array))
                    data = memoryview(array.reshape(-1)).cast("B") if array.dtype.kind != "U" else array.tobytes()
                    for begin in range(0, len(data), NPZ_CHUNK_BYTES):
                        if begin:
                            yield
                        member.write(data[begin:begin + NPZ_CHUNK_BYTES])
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return path


# -- events and results -------------------------------------------------------------------------
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
            raise ValueError(
                f"event {name!r} field {key!r} is {value!r}, expected {'/'.join(t.__name__ for t in types)}"
            )
    if name == "progress" and not 0.0 <= float(event["fraction"]) <= 1.0:
        raise ValueError(f"progress fraction {event['fraction']!r} is outside [0, 1]")
    return event


def error_text(event: dict[str, Any]) -> str:
    """A one-line human message for an `error` event: message, then the hint."""
    message = str(event.get("message") or event.get("code") or "unknown error")
    hint = str(event.get("hint") or "").strip()
    return f"{message} ({hint})" if hint else message


def worker_died_event(request_id: str, why: str, hint: str) -> dict[str, Any]:
    """The `error` event the client gives a pending job whose worker process ended (code worker_died)."""
    return {"v": PROTOCOL_VERSION, "id": request_id, "event": "error", "code": WORKER_DIED,
            "message": f"{why}; the job was lost", "hint": hint, "synthetic": True}


def _check_fitted_body(arrays: dict[str, np.ndarray]) -> None:
    """ResultError unless the fitted body's arrays, where read, are both there and make a mesh."""
    present = [k for k in FITTED_BODY_KEYS if k in arrays]
    if not present:
        return
    if len(present) != len(FITTED_BODY_KEYS):
        raise ResultError(f"the backend's result has {present[0]} without the other fitted-body array; run it again")
    vertices, faces = arrays["fitted_vertices"], arrays["fitted_faces"]
    if vertices.ndim != 2 or vertices.shape[1] != 3 or len(vertices) < 3 or not np.isfinite(vertices).all():
        raise ResultError(f"the backend's fitted body has vertices of shape {vertices.shape} (or non-finite ones), "
                          "expected (M,3); run it again")
    if faces.ndim != 2 or faces.shape[1] != 3 or len(faces) == 0 or faces.dtype.kind not in "iu" \
            or faces.min() < 0 or faces.max() >= len(vertices):
        raise ResultError(f"the backend's fitted body has faces of shape {faces.shape} that do not index its "
                          f"{len(vertices)} vertices; run it again")


def read_result(op: str, path: str | Path, keys: tuple[str, ...] | None = None) -> dict[str, np.ndarray]:
    """The arrays of an op's result npz (read without pickles), holding at least RESULT_KEYS[op];
    with `keys`, only those that are present (an estimate's rendered views are ~12 MB at 1024 px
    that the add-on never shows: reading only what is written saves their decompression). The
    optional FITTED_BODY_KEYS, where read, are checked to make a mesh (ResultError otherwise)."""
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {k: data[k] for k in data.files if keys is None or k in keys}
    except (OSError, ValueError) as failure:
        raise ResultError(f"the backend's result {path} cannot be read ({failure}); run it again") from None
    missing = [k for k in RESULT_KEYS[op] if k not in arrays and (keys is None or k in keys)]
    if missing:
        raise ResultError(
            f"the backend's result lacks {', '.join(missing)}; update the backend to this add-on's release"
        )
    _check_fitted_body(arrays)
    return arrays



def _bad_detections(what: str) -> ResultError:
    return ResultError(f"the backend's detections have {what}; update the backend to this add-on's release")


def _unit_numbers(value: Any, count: int, what: str) -> list[float]:
    if not (isinstance(value, list) and len(value) == count
            and all(isinstance(v, (int, float)) and not isinstance(v, bool) and 0.0 <= v <= 1.0 for v in value)):
        raise _bad_detections(f"a bad {what} ({value!r}: expected {count} numbers in [0, 1])")
    return [float(v) for v in value]


def read_detections(summary: dict[str, Any]) -> dict[str, Any] | None:
    """The `detections` of an estimate summary's localizer report (backend/PROTOCOL.md: person box,
    seen keypoints, skeleton, hands; coordinates normalised to the photo, origin top-left), checked;
    None when the localizer reports none. ResultError names a malformed one."""
    found = (summary.get("localizer_report") or {}).get("detections")
    if found is None:
        return None
    if not isinstance(found, dict) or not isinstance(found.get("person"), dict):
        raise _bad_detections("no person")
    keypoints, bones, hands = found.get("keypoints") or {}, found.get("skeleton") or [], found.get("hands") or []
    if not isinstance(keypoints, dict) or not isinstance(bones, list) or not isinstance(hands, list):
        raise _bad_detections("malformed keypoints, skeleton or hands")
    points = {str(name): _unit_numbers(xy, 2, f"keypoint {name}") for name, xy in keypoints.items()}
    if not all(isinstance(bone, list) and len(bone) == 2 and all(end in points for end in bone) for bone in bones):
        raise _bad_detections("a bone between keypoints it does not list")
    if not all(isinstance(hand, dict) for hand in hands):
        raise _bad_detections("a malformed hand")
    return {"person": dict(found["person"], box=_unit_numbers(found["person"].get("box"), 4, "person box")),
            "keypoints": points, "skeleton": [[str(a), str(b)] for a, b in bones],
            "hands": [dict(hand, box=_unit_numbers(hand.get("box"), 4, "hand box"), side=str(hand.get("side", "")))
                      for hand in hands]}
