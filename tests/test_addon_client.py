"""The add-on's client and job runner without Blender: interactvlm_blender.client / runner against
the real backend worker subprocess (tests-only localizer), and a job that is not a backend request
(a plain subprocess, as the environment set-up will run pip)."""
from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass

import numpy as np
import pytest

from interactvlm_blender import client, protocol, runner

LOCALIZER = "testing-lowest"


def _body(folder):
    import trimesh

    sphere = trimesh.creation.icosphere(subdivisions=3, radius=0.4)
    return protocol.write_mesh_npz(folder / "body.npz", np.asarray(sphere.vertices) + [0, 0, 0.4], sphere.faces)


def _estimate_job(worker, photo, **fields) -> runner.BackendJob:
    with runner.request_folder("estimate") as folder:
        request = protocol.estimate_request(image=photo, out_dir=folder / "out", body_npz=_body(folder),
                                            localizer=LOCALIZER, resolution=64, **fields)
        return runner.BackendJob.submit(worker, "estimate", request, job_dir=folder, what="estimate")


@pytest.fixture(autouse=True)
def free_slot():
    yield
    runner.discard_active()


def test_an_estimate_runs_as_a_backend_job_and_cleans_up(addon_worker, photo):
    job = _estimate_job(addon_worker, photo)
    seen_stages, applied = [], []

    def apply(done: runner.BackendJob):
        applied.append(protocol.read_result("estimate", done.result_path)["scores"])
        yield

    current = runner.start(lambda: job, apply)
    assert runner.active_job() is job
    while not current.step():
        if job.stage not in seen_stages:
            seen_stages.append(job.stage)
        time.sleep(0.005)
    assert job.state == runner.DONE and not current.error and current.steps == 1
    assert job.summary["n_vertices"] == len(applied[0]) and job.summary["localizer"] == LOCALIZER
    progress = [s for s in seen_stages if s in protocol.STAGES]
    assert progress == sorted(progress, key=protocol.STAGES.index) and "writing" in seen_stages
    assert runner.active_job() is None and not job.job_dir.exists()  # slot freed, request folder removed


def test_one_job_slot_cancel_and_failures(addon_worker, photo):
    current = runner.start(lambda: _estimate_job(addon_worker, photo, task="semantic_contact", label="sleep:2"))
    with pytest.raises(runner.JobError, match="estimate is running; wait for it or press Cancel"):
        runner.start(lambda: pytest.fail("a second job must not be built while one holds the slot"))
    assert runner.cancel_active()
    current.wait()
    assert current.job.state == runner.CANCELLED and "estimate cancelled; nothing was changed" in current.job.message
    assert not current.applied and runner.active_job() is None and not runner.cancel_active()
    failed = runner.run(lambda: _estimate_job(addon_worker, photo, task="semantic_contact", label="raise"))
    assert failed.job.state == runner.FAILED and "testing localizer failed on purpose" in failed.job.message
    assert failed.job.reply["code"] == "internal" and not failed.applied
    # A job that cannot be built leaves the slot free; so does an exception while applying.
    with pytest.raises(runner.JobError, match="no photo"):
        runner.start(lambda: (_ for _ in ()).throw(runner.JobError("no photo")))
    assert runner.active_job() is None

    def broken(_job):
        raise KeyError("bug")
        yield

    failing = runner.start(lambda: _estimate_job(addon_worker, photo), broken)
    with pytest.raises(KeyError):
        failing.wait()
    assert runner.active_job() is None and not failing.job.job_dir.exists()

    def refused(_job):
        raise runner.JobError("the mesh changed")
        yield

    told = runner.run(lambda: _estimate_job(addon_worker, photo), refused)
    assert told.error == "the mesh changed" and told.steps == 0 and runner.active_job() is None


def test_a_dead_worker_ends_the_job_clearly_and_is_replaced(photo, backend_env):
    settings = client.WorkerSettings(
        python=sys.executable,
        root=backend_env["PYTHONPATH"],
        env=(("INTERACTVLM_EXTRA_LOCALIZERS", backend_env["INTERACTVLM_EXTRA_LOCALIZERS"]),),
    )
    worker = client.get_worker(settings)
    try:
        dying = _estimate_job(worker, photo, task="semantic_contact", label="sleep:10")
        threading.Timer(1.0, worker.process.kill).start()
        assert runner.wait(dying) == runner.FAILED
        assert dying.reply["code"] == protocol.WORKER_DIED and "killed by signal 9; the job was lost" in dying.message
        again = client.get_worker(settings)  # a dead worker is replaced on the next use
        assert again is not worker and again.alive
        assert runner.wait(_estimate_job(again, photo)) == runner.DONE
    finally:
        client.stop_worker()
    assert client.current_worker() is None and client._private_dir is None


def test_setting_problems_are_worker_errors_that_say_what_to_fix(tmp_path):
    with pytest.raises(client.WorkerError, match="does not exist.*Backend Python"):
        client.Worker(client.WorkerSettings(python=str(tmp_path / "no" / "python")))
    with pytest.raises(client.WorkerError, match="has no backend/ package"):
        client.Worker(client.WorkerSettings(python=sys.executable, root=str(tmp_path)))
    outside = tmp_path / "user_folder"
    outside.mkdir()
    client.remove_job_dir(outside)  # never removes a folder outside the add-on's private temp dir
    assert outside.is_dir()


@dataclass(kw_only=True)
class ProcessJob(runner.Job):
    """A long job that is not a backend request: one subprocess (as a pip install would be)."""

    process: subprocess.Popen
    what: str = "set-up"

    def tick(self) -> str:
        code = self.process.poll()
        if code is not None and not self.finished:
            self.state = runner.CANCELLED if self.cancel_requested else (runner.DONE if code == 0 else runner.FAILED)
            self.fraction = 1.0
        return self.state

    def request_cancel(self) -> None:
        self.process.terminate()

    def discard(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()


def _sleeper(seconds: float) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", f"import time; time.sleep({seconds})"])


def test_any_long_task_is_a_job_with_the_same_lifecycle():
    assert runner.run(lambda: ProcessJob(process=_sleeper(0))).job.state == runner.DONE
    current = runner.start(lambda: ProcessJob(process=_sleeper(30)))
    assert runner.active_job().what == "set-up" and runner.cancel_active()
    assert current.wait().job.state == runner.CANCELLED and runner.active_job() is None
    slow = runner.run(lambda: ProcessJob(process=_sleeper(30), timeout_s=0.2))
    assert slow.job.state == runner.FAILED and "no answer within 0.2 s; the set-up was stopped" in slow.job.message
    assert slow.job.process.poll() is not None  # stopped, not left running
    with pytest.raises(TypeError, match="must define request_cancel"):
        @dataclass(kw_only=True)
        class Forgetful(runner.Job):  # noqa: F841 - refused at class creation
            def tick(self) -> str:
                return self.state


def test_stale_private_folders_of_ended_sessions_are_removed(tmp_path, monkeypatch):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()  # a process id that is gone now
    stale = tmp_path / f"interactvlm-{dead.pid}-abc123"
    (stale / "job-x").mkdir(parents=True)
    (stale / "job-x" / "body.npz").write_bytes(b"x")
    live = tmp_path / f"interactvlm-{os.getppid()}-def456"  # a running process's folder
    live.mkdir()
    own = tmp_path / f"interactvlm-{os.getpid()}-ghi789"  # this process's
    own.mkdir()
    other = tmp_path / "interactvlm-notapid-x"
    other.mkdir()
    assert client.remove_stale_dirs(tmp_path) == [stale]
    assert not stale.exists() and live.is_dir() and own.is_dir() and other.is_dir()
    assert not client.process_alive(dead.pid) and client.process_alive(os.getpid())
    # ...and that happens by itself when a session first makes its private folder.
    (tmp_path / f"interactvlm-{dead.pid}-again").mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    monkeypatch.setattr(client, "_private_dir", None)
    monkeypatch.setattr(client, "_swept", False)
    made = client.private_dir()
    assert made.parent == tmp_path and not (tmp_path / f"interactvlm-{dead.pid}-again").exists()


def test_a_frozen_worker_is_reported_hung_killed_and_replaced(backend_env, photo):
    """Heartbeats stop when the worker freezes (SIGSTOP): the job ends as hung, the worker is killed and the
    next job gets a fresh one; a working stage is never taken as hung while heartbeats arrive."""
    import signal

    settings = client.WorkerSettings(python=sys.executable, root=backend_env["PYTHONPATH"],
                                     env=(("INTERACTVLM_EXTRA_LOCALIZERS", "tests.testing_localizers"),
                                          ("INTERACTVLM_HEARTBEAT_S", "0.2")))
    worker, frozen = client.Worker(settings), None
    try:
        busy = _estimate_job(
            worker, photo, task="semantic_contact", label="block:2"
        )  # a long step without progress: heartbeats only
        busy.hung_after_s = 1.0
        assert runner.wait(busy) == runner.DONE  # 2 s of silence but for heartbeats: not hung
        frozen = _estimate_job(worker, photo, task="semantic_contact", label="block:30")
        frozen.hung_after_s = 1.0
        while frozen.stage != "localize":
            assert frozen.tick() == runner.RUNNING, frozen.message
            time.sleep(0.01)
        os.kill(worker.pid, signal.SIGSTOP)
        started = time.monotonic()
        assert runner.wait(frozen) == runner.FAILED
        assert time.monotonic() - started < 10 and "hung" in frozen.message
        assert not worker.alive
    finally:
        worker.stop()
        if frozen is not None:
            frozen.discard()
