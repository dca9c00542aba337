"""The `scene_contact` and `place` ops of the stdio server: a real subprocess, real pipes, real npz files."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from scipy.spatial.transform import Rotation
from test_placement import displace, scene
from test_scene_contact import T, plane, sphere
from test_server import ServerProcess, estimate

SCENE_STAGES = ["load", "compute", "write"]


@pytest.fixture(scope="module")
def server(backend_env, tmp_path_factory):
    """One server for the module (each op is independent; this keeps the file fast)."""
    process = ServerProcess(backend_env, tmp_path_factory.mktemp("log") / "server.log")
    yield process
    process.close()


def write_mesh(path: Path, vertices, faces, contact=None) -> str:
    arrays = {"vertices": np.asarray(vertices, np.float32), "faces": np.asarray(faces, np.int32)}
    if contact is not None:
        arrays["contact"] = np.asarray(contact)
    np.savez(path, **arrays)
    return str(path)


def scene_contact_op(body: str, obj: str, out: Path, **fields) -> dict:
    return {"op": "scene_contact", "body": {"npz": body}, "object": {"npz": obj}, "out_dir": str(out), **fields}


def place_op(body: str, obj: str, out: Path, **fields) -> dict:
    return {"op": "place", "body": {"npz": body}, "object": {"npz": obj}, "out_dir": str(out), **fields}


def terminal(server: ServerProcess, rid: str) -> tuple[list[dict], dict]:
    events = server.until(rid)
    return events, events[-1]


def test_hello_lists_the_scene_ops(server):
    ops = server.hello()["ops"]
    assert {"hello", "estimate", "scene_contact", "place", "cancel", "shutdown"} <= set(ops)


def test_sphere_resting_on_plane_contact_on_both(server, tmp_path):
    s = sphere(bottom=0.0)
    pv, pf = plane()
    body = write_mesh(tmp_path / "sphere.npz", s.vertices, s.faces)
    obj = write_mesh(tmp_path / "plane.npz", pv, pf)
    rid = server.send(scene_contact_op(body, obj, tmp_path / "out", threshold=T))
    events, result = terminal(server, rid)
    assert events[0]["event"] == "accepted" and result["event"] == "result", result
    assert [e["stage"] for e in events if e["event"] == "progress"] == SCENE_STAGES
    assert Path(result["path"]) == (tmp_path / "out" / "scene_contact.npz").resolve()
    with np.load(result["path"]) as data:
        body_score, obj_score = data["body_score"], data["object_score"]
        assert body_score.shape == (len(s.vertices),) and body_score.dtype == np.float32
        assert obj_score.shape == (len(pv),) and data["object_penetrating"].dtype == bool
        assert {"body_distance", "body_depth", "object_distance", "object_depth", "body_penetrating"} <= set(data.files)
    # Sphere: exactly its vertices below the threshold (distance = height above the plane).
    assert np.array_equal(body_score > 0, s.vertices[:, 2] < T)
    # Plane: the disc under the sphere (analytic distance to the ideal sphere, 2 mm tessellation margin).
    analytic = np.sqrt((pv[:, :2] ** 2).sum(1) + 0.1**2) - 0.1
    assert (obj_score > 0)[analytic < T - 2e-3].all() and not (obj_score > 0)[analytic > T + 2e-3].any()
    summary = result["summary"]
    assert summary["in_contact"] and not summary["penetration"] and summary["message"] == "meshes touch"
    assert summary["body"]["contact_vertices"] == int((body_score > 0).sum())
    assert set(summary["timings"]) == set(SCENE_STAGES)


def test_far_apart_is_a_result_with_a_clear_message(server, tmp_path):
    s = sphere(bottom=1.0)
    pv, pf = plane()
    rid = server.send(scene_contact_op(write_mesh(tmp_path / "s.npz", s.vertices, s.faces),
                                       write_mesh(tmp_path / "p.npz", pv, pf), tmp_path / "out"))
    _, result = terminal(server, rid)
    summary = result["summary"]
    assert result["event"] == "result" and not summary["in_contact"]
    assert "no contact" in summary["message"] and "0.02" in summary["message"]
    with np.load(result["path"]) as data:
        assert not data["body_score"].any() and not data["object_score"].any()


def test_penetration_is_reported(server, tmp_path):
    import trimesh

    s = sphere(radius=0.1, bottom=-0.01)
    box = trimesh.creation.box(extents=[1.0, 1.0, 1.0])
    box.apply_translation([0, 0, -0.5])
    rid = server.send(scene_contact_op(write_mesh(tmp_path / "s.npz", s.vertices, s.faces),
                                       write_mesh(tmp_path / "b.npz", box.vertices, box.faces), tmp_path / "out"))
    _, result = terminal(server, rid)
    summary = result["summary"]
    assert summary["penetration"] and summary["body"]["penetrating_vertices"] == int((s.vertices[:, 2] < -1e-9).sum())
    assert summary["body"]["max_penetration_depth"] == pytest.approx(0.01, abs=1e-5)
    with np.load(result["path"]) as data:
        assert np.array_equal(data["body_penetrating"], s.vertices[:, 2] < -1e-9)


@pytest.mark.parametrize("move", ["object", "body"])
def test_place_puts_a_displaced_object_back(server, tmp_path, move):
    bv, bf, ov, of, bidx, oidx = scene()
    rotvec, shift = [5, -8, 12], [0.04, -0.03, 0.05]
    moved = displace(ov, rotvec, shift, ov[oidx].mean(0))
    weights = np.zeros(len(bv), np.float32)
    weights[bidx] = 1.0  # per-vertex weights for the body, indices for the object: both forms travel
    body = write_mesh(tmp_path / "body.npz", bv, bf, contact=weights)
    obj = write_mesh(tmp_path / "obj.npz", moved, of, contact=oidx.astype(np.int32))
    rid = server.send(place_op(body, obj, tmp_path / "out", move=move))
    events, result = terminal(server, rid)
    assert result["event"] == "result", result
    assert [e["stage"] for e in events if e["event"] == "progress"] == SCENE_STAGES
    with np.load(result["path"]) as data:
        transform = data["transform"]
    assert transform.shape == (4, 4) and transform.dtype == np.float64
    summary = result["summary"]
    assert summary["moved"] == move and np.allclose(summary["transform"], transform)
    object_transform = transform if move == "object" else np.linalg.inv(transform)
    back = moved @ object_transform[:3, :3].T + object_transform[:3, 3]
    assert np.abs(back - ov).max() < 1e-3  # 1 mm
    error = Rotation.from_matrix(object_transform[:3, :3]) * Rotation.from_rotvec(np.radians(rotvec))
    assert np.degrees(error.magnitude()) < 1.0  # 1 degree
    assert summary["residual_mean"] < 1e-3 and summary["penetrating_vertices"] >= 0
    assert "max_penetration_depth" in summary and summary["max_penetration_depth"] < 1e-3


def test_bad_scene_requests_are_errors_and_the_server_keeps_serving(server, tmp_path):
    s = sphere()
    pv, pf = plane()
    good = write_mesh(tmp_path / "s.npz", s.vertices, s.faces)
    plane_npz = write_mesh(tmp_path / "p.npz", pv, pf)
    quads = write_mesh(tmp_path / "q.npz", pv, np.c_[pf, pf[:, :1]])
    few = write_mesh(tmp_path / "few.npz", s.vertices, s.faces, contact=np.array([0, 1], np.int32))
    wrong_length = write_mesh(tmp_path / "wl.npz", pv, pf, contact=np.ones(5, np.float32))
    with_contact = write_mesh(tmp_path / "c.npz", s.vertices, s.faces, contact=np.arange(10, dtype=np.int32))
    broken = tmp_path / "broken.npz"
    broken.write_bytes(b"not a zip")
    out = tmp_path / "out"
    cases = [
        ({"op": "scene_contact", "object": {"npz": good}, "out_dir": str(out)}, "bad_request"),  # no body
        (scene_contact_op(good, plane_npz, out, threshold=0), "bad_request"),
        (scene_contact_op(good, plane_npz, out, threshold="2cm"), "bad_request"),
        (scene_contact_op(good, str(tmp_path / "absent.npz"), out), "missing_file"),
        (scene_contact_op(good, quads, out), "bad_mesh"),
        (scene_contact_op(good, str(broken), out), "bad_mesh"),
        (place_op(good, plane_npz, out), "bad_request"),  # neither npz has a contact array
        (place_op(few, with_contact, out), "bad_request"),  # 2 contact vertices
        (place_op(with_contact, wrong_length, out), "bad_request"),  # weights of the wrong length
        (place_op(with_contact, with_contact, out, move="sideways"), "bad_request"),
        (place_op(with_contact, with_contact, out, scale="yes"), "bad_request"),
    ]
    for message, code in cases:
        rid = server.send(message)
        _, event = terminal(server, rid)
        assert event["event"] == "error" and event["code"] == code, (message, event)
        assert event["message"] and event["hint"], event
    assert server.hello()["protocol"] == 1
    assert not (out / "scene_contact.npz").exists() and not (out / "placement.npz").exists()


def test_scene_ops_share_the_one_job_worker(server, photo, tmp_path):
    """busy while an estimate runs; cancel right after accepting leaves no result file."""
    first = server.send(estimate(photo, tmp_path / "a", label="sleep:1"))
    assert server.next()["event"] == "accepted"
    s = sphere()
    pv, pf = plane()
    body, obj = write_mesh(tmp_path / "s.npz", s.vertices, s.faces), write_mesh(tmp_path / "p.npz", pv, pf)
    second = server.send(scene_contact_op(body, obj, tmp_path / "b"))
    while (event := server.next())["id"] != second:
        assert event["id"] == first
    assert event["code"] == "busy" and "estimate" in event["message"]
    assert server.until(first)[-1]["event"] == "result"

    rid = server.send(scene_contact_op(body, obj, tmp_path / "c"))
    cancel = server.send({"op": "cancel", "target": rid})
    events = [server.next()]
    while not (events[-1]["id"] == rid and events[-1]["event"] == "cancelled") and events[-1]["id"] != cancel:
        events.append(server.next())
    if events[-1]["id"] == cancel:  # the job finished before the cancel was read: a result, then not_running
        assert events[-1]["code"] == "not_running" and events[-2]["event"] == "result"
    else:  # the usual case: cancelled before it committed, nothing written
        assert not (tmp_path / "c" / "scene_contact.npz").exists()
    assert server.hello()["protocol"] == 1


def test_parse_scene_requests_defaults_match_the_backend():
    import inspect
    import json

    from backend.placement import place
    from backend.protocol import (DEFAULT_CONTACT_DISTANCE, ProtocolError, parse_place, parse_request,
                                  parse_scene_contact)
    from backend.scene_contact import scene_contact

    assert DEFAULT_CONTACT_DISTANCE == T
    assert inspect.signature(scene_contact).parameters["contact_distance"].default == DEFAULT_CONTACT_DISTANCE
    assert inspect.signature(place).parameters["contact_distance"].default == DEFAULT_CONTACT_DISTANCE
    line = json.dumps({"v": 1, "id": "a", "op": "place", "body": {"npz": "b.npz"}, "object": {"npz": "o.npz"},
                       "out_dir": "out", "scale": True, "move": "body", "penetration_weight": 0})
    request = parse_place(parse_request(line))
    assert (request.move, request.scale, request.penetration_weight, request.contact_distance) == ("body", True, 0.0, T)
    line = json.dumps({"v": 1, "id": "b", "op": "scene_contact", "body": {"npz": "b.npz"}, "object": {"npz": "o.npz"},
                       "out_dir": "out", "threshold": 0.005})
    assert parse_scene_contact(parse_request(line)).contact_distance == 0.005  # the field's old name
    both = {"contact_distance": 0.003, "threshold": 0.5}  # the new name wins
    for fields, expected in (({"contact_distance": 0.003}, 0.003), (both, 0.003)):
        line = json.dumps({"v": 1, "id": "c", "op": "place", "body": {"npz": "b.npz"}, "object": {"npz": "o.npz"},
                           "out_dir": "out", **fields})
        assert parse_place(parse_request(line)).contact_distance == expected
    with pytest.raises(ProtocolError, match="contact_distance"):
        parse_scene_contact(parse_request(json.dumps({"v": 1, "id": "d", "op": "scene_contact", "body": {"npz": "b"},
                                                      "object": {"npz": "o"}, "out_dir": "o", "contact_distance": -1})))
