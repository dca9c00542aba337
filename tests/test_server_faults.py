"""Faults of the stdio server tried as a client would: shutdown/EOF while a result is written, heartbeats
during a long stage, duplicate ids, unwritable out_dir, pathological JSON (real subprocess, real pipes)."""
from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pytest

from tests.test_server import ServerProcess, estimate


@pytest.fixture(scope="module")
def server(backend_env, tmp_path_factory):
    """One server for the tests that leave it serving (each server start costs seconds)."""
    process = ServerProcess(
        {**backend_env, "INTERACTVLM_HEARTBEAT_S": "0.2"}, tmp_path_factory.mktemp("log") / "server.log"
    )
    yield process
    process.close()


@pytest.fixture(scope="module")
def small_body(ellipsoid, tmp_path_factory) -> dict:
    path = tmp_path_factory.mktemp("mesh") / "body.npz"
    np.savez(path, vertices=ellipsoid[0], faces=ellipsoid[1])
    return {"source": "mesh", "npz": str(path)}


@pytest.mark.parametrize("how", ["shutdown", "eof"])
def test_exit_while_the_result_is_written_leaves_nothing(backend_env, photo, small_body, tmp_path, how):
    """The exit request is sent the moment the result's temporary file appears (it used to stay behind).
    A loaded machine may deschedule this poller past a short write: then the job is run again (3 tries)."""
    server = ServerProcess(backend_env, tmp_path / "exit.log")
    for attempt in range(3):
        out = tmp_path / f"out{attempt}"
        out.mkdir()
        rid = server.send(estimate(photo, out, resolution=384, body=small_body))
        deadline = time.monotonic() + 120
        while not (seen := [p.name for p in out.iterdir()]):
            assert time.monotonic() < deadline, server.log_text()
            time.sleep(0.0005)
        if seen[0].endswith(".tmp"):
            break
        assert server.until(rid)[-1]["event"] == "result"  # missed the write: the result is complete
    assert seen[0].endswith(".tmp"), seen
    if how == "shutdown":
        server.send({"op": "shutdown"})
    else:
        server.proc.stdin.close()
    assert server.proc.wait(timeout=20) == 0
    server.close()
    # Cancelled (nothing) or, if the write had already been committed, the complete result; never a part.
    left = [p.name for p in out.iterdir()]
    assert left in ([], ["result.npz"]), left
    if left:
        with np.load(out / "result.npz") as data:
            assert data["scores"].shape == (len(np.load(small_body["npz"])["vertices"]),)


def test_heartbeats_during_a_long_stage_and_cancel_answered_at_once(server, photo, small_body, tmp_path):
    # block: a localizer step that does not report, so the worker stays in the stage after the cancel
    rid = server.send(estimate(photo, tmp_path / "out", label="block:4", body=small_body))
    beats = []
    while len(beats) < 3:
        beat = server.heartbeats.get(timeout=30)
        assert beat["id"] == rid, beat
        if beat["stage"] == "localize":
            beats.append(beat)
    seconds = [b["stage_seconds"] for b in beats]
    assert seconds == sorted(seconds) and not any(b["stopping"] for b in beats)
    server.send({"op": "cancel", "target": rid})
    sent = time.monotonic()
    while (event := server.next(timeout=5))["event"] != "cancelled":
        assert event["event"] in ("accepted", "progress"), event
    assert event["id"] == rid and time.monotonic() - sent < 1.0
    # The worker is still asleep in the stage: its heartbeats now say it is stopping, then they end.
    while not server.heartbeats.empty():
        server.heartbeats.get()
    assert server.heartbeats.get(timeout=2)["stopping"] is True
    assert server.hello()["protocol"] == 1


def test_a_duplicate_id_of_a_running_job_gets_its_own_code(server, photo, small_body, tmp_path):
    first = {"v": 1, "id": "same", **estimate(photo, tmp_path / "a", label="sleep:1", body=small_body)}
    server.send(json.dumps(first))
    assert server.next()["event"] == "accepted"
    server.send(json.dumps({**first, "out_dir": str(tmp_path / "b")}))
    while (event := server.next())["event"] == "progress":
        pass
    assert (event["id"], event["event"], event["code"]) == ("same", "error", "duplicate_id"), event
    other = server.send(estimate(photo, tmp_path / "c", body=small_body))
    assert server.until(other)[-1]["code"] == "busy"  # a different id while one runs: still `busy`
    assert server.until("same")[-1]["event"] == "result"


def test_out_dir_that_cannot_be_written_is_refused_before_the_work(server, photo, tmp_path):
    a_file = tmp_path / "a_file"
    a_file.write_text("x")
    cases = [a_file / "out"]
    if Path("/proc/self").is_dir():  # a read-only place even for root (who passes every permission check)
        cases.append(Path("/proc/self/ivlm_out"))
    for out in cases:
        rid = server.send(estimate(photo, out))
        (event,) = server.until(rid)  # no `accepted`: refused before any work
        assert event["code"] == "bad_out_dir" and str(out) in event["message"], event
        assert "write" in event["hint"]


def test_json_nested_10000_deep_is_bad_json(server):
    server.send("[" * 10000 + "]" * 10000)
    event = server.next()
    assert (event["id"], event["code"]) == (None, "bad_json"), event
    assert server.hello()["protocol"] == 1
