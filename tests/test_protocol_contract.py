"""The two halves of the stdio protocol pinned to each other (no bpy): the add-on's
`interactvlm_blender.protocol` and the backend's `backend.protocol`.

- shared constants are equal;
- every request the add-on builds (each op, task and body source, written with the add-on's one
  mesh npz writer) parses with the backend's parser and its files pass the backend's checks and readers;
- every event the backend can emit passes the add-on's reader: each error code as the backend
  encodes it, and every line a real worker sends through a session of every op (read by the
  add-on's own client, which keeps lines its reader rejects in `bad_lines`), with each result
  file read by the add-on's result reader.
"""
from __future__ import annotations

import json
import time

import numpy as np
import pytest

from backend import protocol as backend_protocol
from backend.images import load_image
from interactvlm_blender import protocol

LOCALIZER = "testing-lowest"
BACKEND_PARSERS = {"estimate": backend_protocol.parse_estimate, "scene_contact": backend_protocol.parse_scene_contact,
                   "place": backend_protocol.parse_place}


def test_shared_constants_are_equal():
    from backend.bodies.smplx_body import SMPLX_VERTICES
    from backend.devices import DEVICES
    from backend.localizers.base import TASKS

    assert protocol.PROTOCOL_VERSION == backend_protocol.PROTOCOL_VERSION
    assert protocol.TASKS == TASKS
    assert protocol.BODY_SOURCES == backend_protocol.BODY_SOURCES
    assert protocol.GENDERS == backend_protocol.GENDERS
    assert protocol.MOVES == backend_protocol.MOVES
    assert protocol.DEVICES == DEVICES
    assert protocol.STAGES == backend_protocol.STAGES
    assert protocol.SCENE_STAGES == backend_protocol.SCENE_STAGES
    assert (protocol.MIN_RESOLUTION, protocol.MAX_RESOLUTION, protocol.DEFAULT_RESOLUTION) == \
           (backend_protocol.MIN_RESOLUTION, backend_protocol.MAX_RESOLUTION, backend_protocol.DEFAULT_RESOLUTION)
    assert protocol.DEFAULT_CONTACT_DISTANCE == backend_protocol.DEFAULT_CONTACT_DISTANCE
    assert protocol.SMPLX_VERTEX_COUNT == SMPLX_VERTICES
    assert protocol.ERROR_CODES == backend_protocol.ERROR_CODES
    assert (protocol.HEARTBEAT_INTERVAL_S, protocol.HUNG_AFTER_S) == \
        (backend_protocol.HEARTBEAT_INTERVAL_S, backend_protocol.HUNG_AFTER_S)
    assert not set(protocol.CLIENT_ERROR_CODES) & set(backend_protocol.ERROR_CODES)  # made up by the client only
    assert set(protocol.RESULT_KEYS) == set(backend_protocol.JOB_OPS) == set(BACKEND_PARSERS)
    assert protocol.OPS == backend_protocol.OPS and set(protocol.RESULT_KEYS) <= set(protocol.OPS)


def _mesh(tmp_path, name, contact=False, groups=False):
    import trimesh

    sphere = trimesh.creation.icosphere(subdivisions=2, radius=0.3)
    vertices = np.asarray(sphere.vertices) + [0.0, 0.0, 0.3]
    extra = {}
    if groups:
        extra = {"group_names": ["spine", "thigh.L"], "group_index": (vertices[:, 2] < 0.3).astype(np.int32)}
    weights = (vertices[:, 2] < 0.15).astype(np.float32) if contact else None
    return protocol.write_mesh_npz(tmp_path / name, vertices, sphere.faces, contact=weights, **extra)


def _requests(tmp_path, photo):
    """(op, fields) for every kind of request the add-on builds."""
    body, obj = _mesh(tmp_path, "body.npz", groups=True), _mesh(tmp_path, "object.npz")
    smplx = tmp_path / "smplx"
    smplx.mkdir()
    out = tmp_path / "out"
    common = dict(image=photo, out_dir=out, localizer=LOCALIZER, resolution=64)
    yield "hello", protocol.hello_request()
    yield "hello", protocol.hello_request(str(tmp_path))
    yield "estimate", protocol.estimate_request(body_npz=body, **common)
    yield "estimate", protocol.estimate_request(body_npz=body, task="semantic_contact", label=" chair ", **common)
    several = protocol.estimate_request(body_npz=body, label="bicycle, Bench,", **common)  # the panel's label field
    assert several["labels"] == ["bicycle", "Bench"] and "label" not in several
    yield "estimate", several
    yield (
        "estimate",
        protocol.estimate_request(
            smplx_dir=smplx, gender="female", device="cpu", checkpoint_dir=str(tmp_path), **common
        ),
    )
    yield "estimate", protocol.estimate_request(body_npz=body, object_npz=obj, task="object_contact", label="box",
                                                **common)
    yield "estimate", protocol.estimate_request(object_npz=obj, task="object_contact", **common)
    yield "scene_contact", protocol.scene_contact_request(body_npz=body, object_npz=obj, out_dir=out,
                                                          contact_distance=0.005)
    yield "place", protocol.place_request(body_npz=_mesh(tmp_path, "body_c.npz", contact=True),
                                          object_npz=_mesh(tmp_path, "object_c.npz", contact=True), out_dir=out,
                                          move="body", scale=True, penetration_weight=2.0)
    yield "cancel", protocol.cancel_request("blender-1-1")


def test_every_request_the_addon_builds_parses_with_the_backend(tmp_path, photo):
    from backend.bodies import load_body

    seen = set()
    for op, fields in _requests(tmp_path, photo):
        request = backend_protocol.parse_request(protocol.encode_request("blender-1-2", op, fields))
        assert (request.op, request.id, request.fields) == (op, "blender-1-2", json.loads(json.dumps(fields)))
        seen.add(op)
        if op not in BACKEND_PARSERS:
            continue
        parsed = BACKEND_PARSERS[op](request)
        if op == "estimate":
            backend_protocol.check_inputs(parsed, request.id)
            assert parsed.label == (fields.get("label") or None) and parsed.resolution == 64
            if parsed.body and parsed.body["source"] == "mesh":
                # The body npz carries no canonical_vertices: the backend renders the vertices sent.
                body = load_body(parsed.body)
                np.testing.assert_array_equal(body.canonical_vertices, body.vertices)
        else:
            backend_protocol.check_scene_inputs(parsed, request.id)
            assert parsed.contact_distance == fields["contact_distance"]
    assert seen == {"hello", "estimate", "scene_contact", "place", "cancel"}
    with pytest.raises(ValueError, match="filled in by the client"):
        protocol.encode_request("x", "hello", {"id": "y"})


def test_every_error_code_the_backend_encodes_passes_the_addon_reader():
    for code in backend_protocol.ERROR_CODES:
        line = backend_protocol.encode(backend_protocol.error_event("blender-1-3", code, f"{code} happened", "do X"))
        event = protocol.decode_event(line.encode())
        assert event["code"] == code and protocol.error_text(event) == f"{code} happened (do X)"
    died = protocol.worker_died_event("blender-1-4", "the backend worker exited (status 1)", "run it again")
    assert protocol.decode_event(json.dumps(died))["code"] == protocol.WORKER_DIED
    for bad in (b"{", b"[]", b'{"v": 2, "id": "a", "event": "hello"}', b'{"v": 1, "id": 3, "event": "bye"}',
                b'{"v": 1, "id": "a", "event": "progress", "stage": "load", "fraction": 2}'):
        with pytest.raises(ValueError):
            protocol.decode_event(bad)


def _terminal(worker, request_id, timeout=60.0):
    """Every event of one request up to its terminal one (the client drops nothing else)."""
    events, deadline = [], time.monotonic() + timeout
    while time.monotonic() < deadline:
        events += worker.poll(request_id)
        if events and events[-1]["event"] in protocol.TERMINAL_EVENTS:
            return events
        time.sleep(0.01)
    raise AssertionError(f"no terminal event for {request_id}: {events}; log: {worker.log_tail()}")


def test_every_event_of_a_real_worker_session_passes_the_addon_reader(addon_worker, tmp_path, photo):
    worker = addon_worker
    kinds, codes = set(), set()

    def run(op, fields, cancel_after=None):
        request_id = worker.submit(op, fields)
        if cancel_after:
            time.sleep(cancel_after)
            worker.cancel(request_id)
        events = _terminal(worker, request_id)
        kinds.update(e["event"] for e in events)
        codes.update(e.get("code") for e in events if e["event"] == "error")
        return events

    (hello,) = run("hello", protocol.hello_request())
    assert hello["protocol"] == protocol.PROTOCOL_VERSION and set(protocol.RESULT_KEYS) <= set(hello["ops"])
    requests = dict((op, fields) for op, fields in _requests(tmp_path, photo) if op in protocol.RESULT_KEYS)
    for op, fields in [*requests.items(),
                       ("estimate", protocol.estimate_request(image=photo, out_dir=tmp_path / "o2", localizer=LOCALIZER,
                                                              object_npz=tmp_path / "object.npz", resolution=64,
                                                              task="object_contact"))]:
        events = run(op, fields)
        assert [e["event"] for e in events][0] == "accepted" and events[-1]["event"] == "result", events
        stages = [e["stage"] for e in events if e["event"] == "progress"]
        assert set(stages) <= set(protocol.STAGES if op == "estimate" else protocol.SCENE_STAGES), stages
        arrays = protocol.read_result(op, events[-1]["path"])
        assert set(protocol.RESULT_KEYS[op]) <= set(arrays)
        if op == "estimate":  # the photo copy the add-on draws detections over (small photos as they are)
            np.testing.assert_array_equal(arrays["photo"], load_image(photo))
    estimate = requests["estimate"]
    run("estimate", {**estimate, "label": "sleep:1"}, cancel_after=0.3)  # cancelled
    run("estimate", {**estimate, "label": "raise"})  # internal
    run("estimate", {**estimate, "image": str(tmp_path / "missing.png")})  # missing_file
    run("estimate", {**estimate, "resolution": 8})  # bad_request
    run("estimate", {**estimate, "localizer": "no-such-localizer"})  # localizer_unavailable
    run("cancel", protocol.cancel_request("nothing-running"))  # not_running
    busy_first = worker.submit("estimate", {**estimate, "label": "sleep:1"})
    run("estimate", estimate)  # busy
    worker.cancel(busy_first)
    _terminal(worker, busy_first)
    assert kinds >= {"hello", "accepted", "progress", "result", "error", "cancelled"}, kinds
    assert codes >= {"internal", "missing_file", "bad_request", "localizer_unavailable", "not_running", "busy"}, codes
    assert worker.bad_lines == []  # every line the worker sent passed the add-on's reader
    with pytest.raises(protocol.ResultError, match="lacks scores"):
        protocol.read_result("estimate", protocol.write_mesh_npz(tmp_path / "not_a_result.npz", np.zeros((3, 3)),
                                                                 np.zeros((1, 3))))


def test_the_addon_reads_detections_and_names_a_malformed_one():
    """backend/PROTOCOL.md `localizer_report.detections`: absent for localizers without them; each bad
    field named (the real default localizer's pass: tests/test_default_localizer.py)."""
    good = {"person": {"box": [0.1, 0.2, 0.8, 0.9], "box_from": "mask", "confidence": 0.5},
            "keypoints": {"left_hip": [0.4, 0.5], "left_knee": [0.4, 0.7]}, "skeleton": [["left_hip", "left_knee"]],
            "hands": [{"side": "left", "score": 0.9, "box": [0.3, 0.4, 0.35, 0.45]}]}
    assert protocol.read_detections({"localizer_report": {"detections": good}}) == good
    assert protocol.read_detections({"localizer_report": {"model": "x"}}) is None
    assert protocol.read_detections({}) is None
    for bad, named in ((dict(good, person={"box": [0.1, 0.2, 1.5, 0.9]}), "person box"),
                       (dict(good, keypoints={"left_hip": [0.4]}), "keypoint left_hip"),
                       (dict(good, skeleton=[["left_hip", "nose"]]), "bone"),
                       (dict(good, hands=[{"side": "left", "box": [0.3, 0.4, 0.35]}]), "hand box"),
                       ({"keypoints": {}}, "no person")):
        with pytest.raises(protocol.ResultError, match=named):
            protocol.read_detections({"localizer_report": {"detections": bad}})


def test_the_addon_reads_the_backends_fitted_body_and_refuses_a_broken_one(tmp_path, photo, anny_body):
    from backend.bodies.correspondence import surface_of
    from tests.test_localizer_contract import _estimate, _ScoresLocalizer

    _summary, written = _estimate(tmp_path, photo, anny_body, _ScoresLocalizer(surface_of(anny_body)))
    path = tmp_path / "result.npz"
    arrays = protocol.read_result("estimate", path, ("scores",) + protocol.FITTED_BODY_KEYS)
    assert set(arrays) == {"scores", *protocol.FITTED_BODY_KEYS}  # the backend writes what the add-on reads
    np.testing.assert_array_equal(arrays["fitted_faces"], anny_body.faces)
    vertices, faces = written["fitted_vertices"], written["fitted_faces"]
    base = {k: written[k] for k in protocol.RESULT_KEYS["estimate"]}
    n = len(vertices)
    for broken, match in (({"fitted_vertices": vertices}, "without the other"),
                          ({"fitted_vertices": vertices[:, :2], "fitted_faces": faces}, rf"shape \({n}, 2\)"),
                          ({"fitted_vertices": vertices, "fitted_faces": faces + 1}, f"do not index its {n}"),
                          ({"fitted_vertices": vertices * np.nan, "fitted_faces": faces}, "non-finite")):
        np.savez(tmp_path / "broken.npz", **base, **broken)
        with pytest.raises(protocol.ResultError, match=match):
            protocol.read_result("estimate", tmp_path / "broken.npz")
    np.savez(tmp_path / "old.npz", **base)  # a result without one (older backends, interactvlm): read as before
    assert not set(protocol.FITTED_BODY_KEYS) & set(protocol.read_result("estimate", tmp_path / "old.npz"))
