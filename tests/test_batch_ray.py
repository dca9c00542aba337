"""`batch --executor ray` on one `ray start --head` (127.0.0.1, 2 CPUs) shared by the session: the same index
and contact as the local executor, and a batch that survives a killed actor."""
from __future__ import annotations

import json
import os
import signal

import numpy as np
import pytest

from tests.batch_case import ARGS, FAILED, GOOD, records, run_batch_cli, scores, stable

pytest.importorskip("ray")


def test_ray_gives_the_local_index_and_contact(local_batch, batch_list, ray_cluster, tmp_path):
    address, env = ray_cluster
    _, local_out = local_batch
    out = tmp_path / "out"
    done = run_batch_cli(env, str(batch_list), "--out", str(out), *ARGS, "--export", "ply",
                         "--executor", "ray", "--address", address)
    assert done.returncode == 1, done.stderr  # the same two failures
    local, ray = records(local_out), records(out)
    assert sorted(ray) == sorted(local)
    for item in ray:
        assert stable(ray[item]) == stable(local[item]), item
        assert ray[item]["worker"]["executor"] == "ray" and local[item]["worker"]["executor"] == "local"
        assert ray[item]["worker"]["torch_threads"] == local[item]["worker"]["torch_threads"] == 1
    for item in GOOD:
        a, b = scores(local_out, item), scores(out, item)
        assert np.abs(a - b).max() <= 1e-6 and np.array_equal(a >= 0.5, b >= 0.5)
    for item, code in FAILED.items():
        assert ray[item]["error"]["code"] == code
    assert len({ray[i]["worker"]["pid"] for i in ray}) == 2  # two actors shared the work


def test_a_killed_actor_is_replaced_and_its_item_retried(ray_cluster, photo, tmp_path, monkeypatch):
    from backend.batch.items import Item
    from backend.batch.ray_executor import RayExecutor
    from backend.batch.runner import run_batch
    from backend.batch.worker import BatchSettings

    address, env = ray_cluster
    for key in ("INTERACTVLM_EXTRA_LOCALIZERS", "RAY_AUTH_MODE", "RAY_USAGE_STATS_ENABLED"):
        monkeypatch.setenv(key, env[key])
    settings = BatchSettings(localizer="testing-lowest", device="cpu", threads=1)
    items = [Item(id=f"i{k}", image=str(photo), task="semantic_contact", label="sleep:0.8", resolution=48)
             for k in range(6)]
    executor = RayExecutor(settings, address=address)
    executor.start()
    killed = []

    def kill_one(record, bar) -> None:
        if not killed:  # mid-batch: both actors hold an item or are about to
            killed.append(executor.actor_pids()[0])
            os.kill(killed[0], signal.SIGKILL)

    outcome = run_batch(items, tmp_path, executor, settings, index=None, show_progress=False, on_record=kill_one)
    assert [r["status"] for r in outcome.records] == ["ok"] * 6
    assert sorted(r["item"] for r in outcome.records) == [i.id for i in items]
    assert max(r["attempts"] for r in outcome.records) == 2  # the killed actor's item ran again
    assert killed[0] not in {r["worker"]["pid"] for r in outcome.records[1:] if r["attempts"] == 2}
    assert all((tmp_path / f"{i.id}.npz").is_file() for i in items)
    assert json.loads((tmp_path / "i0.json").read_text())["item"]["id"] == "i0"
