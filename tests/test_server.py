"""The stdio server as the add-on runs it: a real subprocess, real pipes, real files.

The tests-only localizer (tests/testing_localizers.py) is registered through INTERACTVLM_EXTRA_LOCALIZERS;
it marks the lowest surface points as contact, counts its loads and can sleep, raise or print.
"""
from __future__ import annotations

import json
import queue
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from backend.bodies.parts import PARTS

LOCALIZER = "testing-lowest"
RESOLUTION = 128
STAGES = ["load", "render", "localize", "lift", "write"]


class ServerProcess:
    """`python -m backend serve` with a reader thread; every stdout line must be a protocol event."""

    def __init__(self, env: dict[str, str], log_path: Path) -> None:
        self.log = open(log_path, "wb")
        self.proc = subprocess.Popen([sys.executable, "-m", "backend", "serve"], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=self.log, env=env, cwd=env["PYTHONPATH"])
        self.events: queue.Queue = queue.Queue()
        self.heartbeats: queue.Queue = queue.Queue()
        self.bad_lines: list[bytes] = []
        threading.Thread(target=self._read, daemon=True).start()
        self.counter = 0

    def _read(self) -> None:
        for raw in self.proc.stdout:
            try:
                event = json.loads(raw)
                assert event["v"] == 1 and "event" in event and "id" in event
            except (ValueError, KeyError, AssertionError):
                self.bad_lines.append(raw)
                continue
            if event["event"] == "heartbeat":  # liveness, kept apart (tests/test_server_faults.py reads them)
                self.heartbeats.put(event)
                continue
            self.events.put(event)

    def send(self, message: dict | str | bytes) -> str | None:
        if isinstance(message, dict):
            self.counter += 1
            message = {"v": 1, "id": f"r{self.counter}", **message}
            data = json.dumps(message).encode() + b"\n"
        else:
            data = (message.encode() if isinstance(message, str) else message) + b"\n"
        self.proc.stdin.write(data)
        self.proc.stdin.flush()
        return message.get("id") if isinstance(message, dict) else None

    def next(self, timeout: float = 60.0) -> dict:
        try:
            return self.events.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(f"no event within {timeout} s; server log:\n{self.log_text()}") from None

    def until(self, request_id: str, terminal=("result", "error", "cancelled", "hello", "bye"),
              timeout: float = 60.0) -> list[dict]:
        """Events of `request_id` up to and including its terminal event (others are not expected)."""
        seen = []
        while True:
            event = self.next(timeout)
            assert event["id"] == request_id, f"unexpected event {event} while waiting for {request_id}"
            seen.append(event)
            if event["event"] in terminal:
                return seen

    def hello(self) -> dict:
        rid = self.send({"op": "hello"})
        (event,) = self.until(rid)
        assert event["event"] == "hello", event
        return event

    def log_text(self) -> str:
        self.log.flush()
        return Path(self.log.name).read_text(errors="replace")[-4000:]

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        self.log.close()
        assert not self.bad_lines, f"non-protocol lines on stdout: {self.bad_lines}"


@pytest.fixture()
def server(backend_env, tmp_path):
    process = ServerProcess(backend_env, tmp_path / "server.log")
    yield process
    process.close()


def estimate(photo: Path, out_dir: Path, **fields) -> dict:
    return {"op": "estimate", "image": str(photo), "out_dir": str(out_dir), "body": {"source": "anny"},
            "localizer": LOCALIZER, "device": "cpu", "resolution": RESOLUTION, **fields}


def test_hello_estimate_result(server, photo, tmp_path, anny_body):
    hello = server.hello()
    assert hello["protocol"] == 1 and "cpu" in hello["devices"] and hello["default_localizer"] == "default"
    from backend.labels import VOCABULARY

    assert hello["labels"] == list(VOCABULARY)
    names = {row["name"]: row for row in hello["localizers"]}
    assert names[LOCALIZER]["available"] and {"default", "interactvlm"} <= set(names)
    assert not names["interactvlm"]["available"] and "checkpoint_dir" in names["interactvlm"]["reason"]

    rid = server.send(estimate(photo, tmp_path / "out"))
    events = server.until(rid)
    assert events[0]["event"] == "accepted" and events[-1]["event"] == "result", events[-1]
    progress = [e for e in events if e["event"] == "progress"]
    stages = [e["stage"] for e in progress]
    assert [s for i, s in enumerate(stages) if s not in stages[:i]] == STAGES
    fractions = [e["fraction"] for e in progress]
    assert fractions == sorted(fractions) and 0 <= fractions[0] and fractions[-1] <= 1

    result = events[-1]
    path = Path(result["path"])
    assert path == (tmp_path / "out" / "result.npz").resolve()
    with np.load(path, allow_pickle=False) as data:
        n = anny_body.n_vertices
        assert data["scores"].shape == (n,) and data["scores"].dtype == np.float32
        assert data["seen"].shape == (n,) and data["seen"].dtype == np.int32
        assert data["masks"].shape == (4, RESOLUTION, RESOLUTION) and data["masks"].dtype == np.uint8
        assert data["views"].shape == (4, RESOLUTION, RESOLUTION) and data["views"].dtype == np.uint8
        assert list(data["view_names"]) == ["front", "back", "left", "right"]
        assert np.array_equal(data["parts"], anny_body.parts)
        scores, seen, masks = data["scores"], data["seen"], data["masks"]
    assert 0 <= scores.min() and scores.max() <= 1 and set(np.unique(masks)) <= {0, 255}
    # The testing localizer marks the lowest 10% of the body: contact must be at the feet.
    contact = scores >= 0.5
    z = anny_body.canonical_vertices[:, 2]
    assert contact.sum() > 100 and z[contact].max() < np.percentile(z, 25)
    assert seen[contact].min() >= 1
    summary = result["summary"]
    assert summary["contact_vertices"] == int(contact.sum()) and summary["n_vertices"] == anny_body.n_vertices
    assert (summary["task"], summary["surface"], summary["localizer"], summary["device"]) == (
        "human_contact", "body", LOCALIZER, "cpu")
    assert {"left_sole", "right_sole"} <= set(summary["parts_in_contact"]) <= set(PARTS)
    assert "head" not in summary["parts_in_contact"]
    assert set(summary["timings"]) == set(STAGES)
    assert summary["localizer_report"]["loads"] == 1
    provenance = summary["provenance"]  # the batch's provenance block (backend.batch.provenance)
    assert (provenance["localizer"], provenance["settings"]["resolution"]) == (LOCALIZER, RESOLUTION)
    assert provenance["backend_version"] and provenance["data_hashes"]["body"] is None  # Anny: nothing to hash


def test_two_jobs_reuse_the_loaded_model(server, photo, tmp_path):
    reports, load_messages = [], []
    for i in range(2):
        rid = server.send(estimate(photo, tmp_path / f"out{i}"))
        events = server.until(rid)
        assert events[-1]["event"] == "result", events[-1]
        reports.append(events[-1]["summary"]["localizer_report"])
        load_messages.append([e for e in events if e.get("stage") == "load" and "localizer" in e.get("message", "")])
    assert [r["loads"] for r in reports] == [1, 1]
    assert len(load_messages[0]) == 1 and load_messages[1] == []


def test_cancel_mid_job(server, photo, tmp_path):
    out = tmp_path / "out"
    rid = server.send(estimate(photo, out, label="sleep:3"))
    while (event := server.next())["event"] != "progress" or event["stage"] != "localize":
        assert event["id"] == rid and event["event"] in ("accepted", "progress"), event
    server.send({"op": "cancel", "target": rid})
    sent = time.monotonic()
    event = server.next(timeout=5)
    assert (event["id"], event["event"]) == (rid, "cancelled")
    assert time.monotonic() - sent < 1.0
    # Still serving; the cancelled job ends without writing (nothing, not even a temp file).
    assert server.hello()["protocol"] == 1
    again = server.send({"op": "cancel", "target": rid})
    (event,) = server.until(again)
    assert event["code"] == "not_running"
    next_id = server.send(estimate(photo, tmp_path / "next"))
    assert server.until(next_id, timeout=60)[-1]["event"] == "result"
    assert not out.exists() or list(out.iterdir()) == []


def test_busy_while_a_job_runs(server, photo, tmp_path):
    first = server.send(estimate(photo, tmp_path / "a", label="sleep:2"))
    assert server.next()["event"] == "accepted"
    second = server.send(estimate(photo, tmp_path / "b"))
    while (event := server.next())["id"] != second:
        assert event["id"] == first
    assert event["code"] == "busy"
    assert server.until(first)[-1]["event"] == "result"


def write_mesh(path: Path, vertices, faces) -> Path:
    np.savez(path, vertices=np.asarray(vertices), faces=np.asarray(faces))
    return path


def test_bad_input_becomes_an_error_and_the_server_keeps_serving(server, photo, tmp_path):
    corrupt = tmp_path / "corrupt.png"
    corrupt.write_bytes(photo.read_bytes()[:200])
    flat = write_mesh(tmp_path / "flat.npz", np.zeros((4, 2), np.float32), np.array([[0, 1, 2]], np.int32))
    out_of_range = write_mesh(tmp_path / "range.npz", np.zeros((3, 3), np.float32), np.array([[0, 1, 7]], np.int32))
    out = str(tmp_path / "out")
    empty = tmp_path / "empty_checkpoint"
    empty.mkdir()
    cases = [
        ("{this is not json", "bad_json"),
        ({"op": "teleport"}, "unknown_op"),
        (json.dumps({"v": 99, "id": "old", "op": "hello"}), "version_mismatch"),
        ({**estimate(photo, out), "image": str(tmp_path / "missing.png")}, "missing_file"),
        (estimate(corrupt, out), "bad_image"),
        (estimate(photo, out, body={"source": "mesh", "npz": str(flat)}), "bad_mesh"),
        (estimate(photo, out, body={"source": "mesh", "npz": str(out_of_range)}), "bad_mesh"),
        (estimate(photo, out, task="semantic_contact"), "bad_request"),
        (estimate(photo, out, localizer="nonexistent"), "localizer_unavailable"),
        (estimate(photo, out, localizer="interactvlm", checkpoint_dir=str(empty)), "localizer_unavailable"),
        (estimate(photo, out, label="raise"), "internal"),
        ({"op": "cancel", "target": "nothing"}, "not_running"),
    ]
    for message, code in cases:
        rid = server.send(message)
        while (event := server.next())["event"] in ("accepted", "progress"):
            pass
        assert event["event"] == "error" and event["code"] == code, (message, event)
        assert event["message"] and event["hint"], event
        if rid is not None:
            assert event["id"] == rid
        assert server.hello()["protocol"] == 1
    assert not (tmp_path / "out" / "result.npz").exists()


def test_internal_error_message_carries_the_exception(server, photo, tmp_path):
    rid = server.send(estimate(photo, tmp_path / "out", label="raise"))
    event = server.until(rid)[-1]
    assert event["code"] == "internal" and "testing localizer failed on purpose" in event["message"]


def test_absent_cuda_is_an_error_with_a_hint(server, photo, tmp_path):
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA; the absent-GPU path cannot be exercised")
    rid = server.send(estimate(photo, tmp_path / "out", device="cuda"))
    event = server.until(rid)[-1]
    assert event["code"] == "device_unavailable" and "cuda" in event["message"] and "cpu" in event["hint"]
    assert server.hello()["protocol"] == 1


def test_object_contact_renders_the_object(server, photo, tmp_path):
    import trimesh

    box = trimesh.creation.box(extents=(0.6, 0.4, 0.5)).subdivide().subdivide().subdivide()
    n = len(box.vertices)
    mesh = write_mesh(tmp_path / "box.npz", box.vertices.astype(np.float32), box.faces.astype(np.int32))
    rid = server.send(estimate(photo, tmp_path / "out", task="object_contact", object={"npz": str(mesh)}, body=None))
    result = server.until(rid)[-1]
    assert result["event"] == "result", result
    summary = result["summary"]
    assert (summary["surface"], summary["n_vertices"], summary["parts_in_contact"]) == ("object", n, [])
    with np.load(result["path"]) as data:
        assert "parts" not in data.files and data["scores"].shape == (n,)
        contact = data["scores"] >= 0.5
    # The object rig sees the lowest band of the box's sides: contact lies there and only there.
    assert contact.sum() >= 10 and box.vertices[contact, 2].max() < -0.25 + 0.1


def test_library_prints_do_not_reach_the_protocol(server, photo, tmp_path):
    rid = server.send(estimate(photo, tmp_path / "out", label="print"))
    assert server.until(rid)[-1]["event"] == "result"
    server.send({"op": "shutdown"})
    assert server.next()["event"] == "bye"
    assert server.proc.wait(timeout=10) == 0
    assert "stray print from a library" in server.log_text() and "stray bytes on fd 1" in server.log_text()
    # ServerProcess.close() asserts that no non-protocol line reached stdout.


def test_closing_stdin_ends_the_worker_within_2s(server, photo, tmp_path):
    server.hello()
    rid = server.send(estimate(photo, tmp_path / "out", label="sleep:5"))
    while server.next()["event"] != "progress":
        pass
    server.proc.stdin.close()
    assert server.proc.wait(timeout=2) == 0
    assert rid and not (tmp_path / "out" / "result.npz").exists()
