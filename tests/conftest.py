"""Shared fixtures: small analytic meshes and the cached Anny body."""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


@pytest.fixture(scope="session")
def anny_body():
    from backend.bodies import load_body

    return load_body({"source": "anny"})


@pytest.fixture(scope="session")
def ellipsoid():
    """A closed body-sized ellipsoid (10,242 vertices) standing on z = 0."""
    import trimesh

    sphere = trimesh.creation.icosphere(subdivisions=5)
    vertices = sphere.vertices * np.array([0.25, 0.15, 0.85]) + np.array([0.0, 0.0, 0.85])
    return vertices.astype(np.float32), sphere.faces.astype(np.int32)


@pytest.fixture(scope="session")
def photo(tmp_path_factory) -> Path:
    """A small RGB PNG (the tests-only localizer ignores its content)."""
    from PIL import Image

    path = tmp_path_factory.mktemp("photo") / "photo.png"
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 256, (96, 64, 3), dtype=np.uint8)).save(path)
    return path


@pytest.fixture(scope="session")
def backend_env() -> dict[str, str]:
    """Environment for `python -m backend ...` subprocesses, with the tests-only localizer registered."""
    import os

    return dict(os.environ, PYTHONPATH=str(ROOT), INTERACTVLM_EXTRA_LOCALIZERS="tests.testing_localizers",
                PYTHONUNBUFFERED="1")


@pytest.fixture(scope="session")
def addon_worker(backend_env):
    """The add-on's own client (interactvlm_blender.client.Worker, no bpy) running the real backend
    worker in this environment with the tests-only localizer; shared by the bpy-free add-on tests."""
    from interactvlm_blender import client

    settings = client.WorkerSettings(
        python=sys.executable,
        root=str(ROOT),
        env=(("INTERACTVLM_EXTRA_LOCALIZERS", backend_env["INTERACTVLM_EXTRA_LOCALIZERS"]),),
    )
    worker = client.Worker(settings)
    yield worker
    worker.stop()


@pytest.fixture(scope="session")
def batch_list(tmp_path_factory, photo, ellipsoid, anny_body) -> Path:
    """The shared batch list of tests/batch_case.py (inputs beside it)."""
    from tests.batch_case import write_case

    return write_case(tmp_path_factory.mktemp("batch_case"), photo, ellipsoid, anny_body)


@pytest.fixture(scope="session")
def local_batch(batch_list, backend_env, tmp_path_factory):
    """(completed process, out folder) of the shared list through the local executor, run once per session."""
    from tests.batch_case import ARGS, run_batch_cli

    out = tmp_path_factory.mktemp("batch_local") / "out"
    done = run_batch_cli(backend_env, str(batch_list), "--out", str(out), *ARGS, "--export", "ply")
    return done, out


@pytest.fixture(scope="session")
def ray_cluster(tmp_path_factory, backend_env):
    """One `ray start --head` on 127.0.0.1 (2 CPUs, dashboard and usage stats off) for the whole session.

    Yields (address, env for drivers). Stopped through its own process group, so it never outlives the
    tests; token authentication is off for this private test cluster."""
    import os
    import signal
    import socket
    import subprocess
    import tempfile
    import time

    pytest.importorskip("ray")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = dict(backend_env, RAY_AUTH_MODE="disabled", RAY_USAGE_STATS_ENABLED="0")
    temp = tempfile.mkdtemp(prefix="ivlm_ray_", dir="/tmp")  # short: Ray's socket paths must fit 107 bytes
    ray_cli = str(Path(sys.executable).with_name("ray"))
    head = subprocess.Popen([ray_cli, "start", "--head", "--node-ip-address", "127.0.0.1", "--port", str(port),
                             "--num-cpus", "2", "--num-gpus", "0", "--include-dashboard=false",
                             "--disable-usage-stats", "--temp-dir", temp, "--block"],
                            env=env, stdout=open(Path(temp) / "head.log", "w"), stderr=subprocess.STDOUT,
                            start_new_session=True)
    deadline = time.monotonic() + 90
    log = Path(temp) / "head.log"
    while time.monotonic() < deadline and head.poll() is None and "Ray runtime started" not in log.read_text():
        time.sleep(0.2)
    if head.poll() is not None or "Ray runtime started" not in log.read_text():
        os.killpg(head.pid, signal.SIGKILL)
        pytest.fail("ray start --head did not come up:\n" + log.read_text()[-3000:])
    try:
        yield f"127.0.0.1:{port}", env
    finally:
        # SIGTERM makes Ray drain for up to 30 s; nothing is left to drain here, so SIGKILL the head's
        # process group after a short grace (its workers exit by themselves when their raylet is gone)
        os.killpg(head.pid, signal.SIGTERM)
        try:
            head.wait(timeout=3)
        except subprocess.TimeoutExpired:
            os.killpg(head.pid, signal.SIGKILL)
            head.wait(timeout=10)
        import shutil

        shutil.rmtree(temp, ignore_errors=True)


@pytest.fixture(scope="session")
def official_data(tmp_path_factory, anny_body):
    """A stand-in for the official InteractVLM data folder (tests/official_data_standins.py), written once."""
    from tests.official_data_standins import write_data_folder

    return write_data_folder(tmp_path_factory.mktemp("ivlm_data") / "data", anny_body)
