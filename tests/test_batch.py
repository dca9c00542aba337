"""`python -m backend batch` through the local executor: records, failures, provenance, resume, shards, Ctrl-C."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from tests.batch_case import ARGS, FAILED, GOOD, records, run_batch_cli, scores


def test_every_item_is_recorded_and_failures_do_not_stop_the_batch(local_batch, anny_body, ellipsoid):
    done, out = local_batch
    assert done.returncode == 1, done.stderr  # some item failed
    latest = records(out)
    assert sorted(latest) == sorted([*GOOD, *FAILED])
    for item, code in FAILED.items():
        record = latest[item]
        assert record["status"] == "failed" and record["error"]["code"] == code and record["outputs"] == []
        assert f"batch: {item} failed ({code})" in done.stderr
    vertex_counts = {"a": anny_body.n_vertices, "ellipsoid": len(ellipsoid[0]), "smplx-a": 10475, "smplx-b": 10475}
    for item in GOOD:
        record = latest[item]
        assert record["status"] == "ok" and record["error"] is None
        assert record["outputs"] == [f"{item}.npz", f"{item}.json", f"{item}.ply"]
        assert all((out / name).is_file() for name in record["outputs"])
        contact = scores(out, item) >= 0.5
        assert record["contact_vertices"] == int(contact.sum()) > 0
        if item in vertex_counts:
            assert record["n_vertices"] == vertex_counts[item] and "left_sole" in record["parts"]
        assert set(record["timings"]) >= {"render", "localize", "lift", "total"}
        assert record["worker"]["torch_threads"] == 1 and record["provenance"]["settings"]["torch_threads"] == 1
    assert latest["box"]["parts"] == []  # object surface
    provenance = latest["ellipsoid"]["provenance"]
    assert provenance["localizer"] == "testing-lowest" and provenance["backend_version"]
    assert provenance["data_hashes"]["body"].startswith("sha256:")
    assert latest["smplx-a"]["provenance"]["data_hashes"]["body"].startswith("dir:")
    summary = json.loads((out / "smplx-a.json").read_text())
    assert summary["provenance"] == latest["smplx-a"]["provenance"] and summary["item"]["body"].startswith("smplx:")
    assert "5 done, 2 failed" in done.stdout


def test_a_rerun_skips_complete_items_and_force_redoes_them(local_batch, batch_list, backend_env, tmp_path):
    import shutil

    _, shared = local_batch
    out = tmp_path / "out"
    shutil.copytree(shared, out)  # the shared run stays as it was for the other tests
    before = {p.name: p.stat().st_mtime_ns for p in out.glob("*.npz")}
    lines = len((out / "index.jsonl").read_text().splitlines())
    again = run_batch_cli(backend_env, str(batch_list), "--out", str(out), *ARGS, "--export", "ply")
    assert again.returncode == 1  # the two bad items are retried and fail again
    assert "5 already complete, 2 to run" in again.stderr
    assert {p.name: p.stat().st_mtime_ns for p in out.glob("*.npz")} == before
    assert len((out / "index.jsonl").read_text().splitlines()) == lines + 2
    # other settings are another result: without the PLY export nothing is complete; --force redoes all
    from backend.batch.items import read_batch_list
    from backend.batch.runner import plan
    from backend.batch.worker import BatchSettings

    items = read_batch_list(batch_list)
    settings = BatchSettings(localizer="testing-lowest", device="cpu", threads=1, exports=("ply",))
    assert [len(part) for part in plan(items, out, settings)] == [2, 5]
    assert [len(part) for part in plan(items, out, settings, force=True)] == [7, 0]
    assert [len(part) for part in plan(items, out, BatchSettings(**{**settings.to_dict(), "exports": ()}))] == [7, 0]
    (out / "a.npz").unlink()  # an output that went missing makes its item incomplete again
    assert sorted(i.id for i in plan(items, out, settings)[0]) == ["a", "bad-mesh", "bad-photo"]


def test_shards_cover_every_item_exactly_once(batch_list, backend_env, tmp_path):
    from backend.batch.items import read_batch_list, shard_items

    items = read_batch_list(batch_list)
    for count in (1, 2, 3, 5, 9):
        shares = [[i.id for i in shard_items(items, k, count)] for k in range(count)]
        assert sorted(sum(shares, [])) == sorted(i.id for i in items)
        assert max(map(len, shares)) - min(map(len, shares)) <= 1
    out = tmp_path / "out"
    for k in range(2):  # two farm tasks, one output folder, one index file each
        run_batch_cli(backend_env, str(batch_list), "--out", str(out), *ARGS, "--shard", f"{k}/2", "--quiet")
    assert sorted(p.name for p in out.glob("index*.jsonl")) == ["index.shard-0-of-2.jsonl",
                                                                 "index.shard-1-of-2.jsonl"]
    seen = [json.loads(line)["item"] for p in out.glob("index*.jsonl") for line in p.read_text().splitlines()]
    assert sorted(seen) == sorted(i.id for i in items)
    from backend.batch.runner import plan
    from backend.batch.worker import BatchSettings

    # an unsharded run of the same list sees both shards' work
    todo, done = plan(items, out, BatchSettings(localizer="testing-lowest", device="cpu", threads=1))
    assert sorted(i.id for i in todo) == ["bad-mesh", "bad-photo"] and len(done) == 5


def test_ctrl_c_leaves_a_consistent_index_and_the_rerun_resumes(backend_env, photo, tmp_path):
    from backend.batch.index import latest_records

    lines = [json.dumps({"id": f"slow{i}", "image": str(photo), "resolution": 48, "task": "semantic_contact",
                         "label": "sleep:1.2"}) for i in range(6)]
    (tmp_path / "list.jsonl").write_text("\n".join(lines) + "\n")
    out = tmp_path / "out"
    command = [sys.executable, "-m", "backend", "batch", str(tmp_path / "list.jsonl"), "--out", str(out), *ARGS]
    # SIGINT at its default, as in a terminal's foreground job: a shell's background job (`pytest ... &`)
    # inherits it ignored, and Python then never raises KeyboardInterrupt (the batch ran to its end)
    process = subprocess.Popen(command, env=backend_env, cwd=backend_env["PYTHONPATH"], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True,
                               preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    index = out / "index.jsonl"
    deadline = time.monotonic() + 300  # start-up (torch import) is slow on a loaded 2-core machine
    # 1.2 s per item leaves >= 4.8 s after the second record for the signal to land mid-batch under load
    while time.monotonic() < deadline and not (index.is_file() and index.read_text().count("\n") >= 2):
        time.sleep(0.05)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 130, stderr
    assert "run the same command again to resume" in stderr
    text = index.read_text()
    assert text.endswith("\n")
    finished = [json.loads(line) for line in text.splitlines()]  # every line a whole record
    assert 2 <= len(finished) < 6 and all(r["status"] == "ok" for r in finished)
    assert all((out / name).is_file() for r in finished for name in r["outputs"])
    assert not [p for p in out.iterdir() if p.name.startswith(".")]  # no temporary files left
    with open(index, "ab") as stream:  # a torn line (power loss mid-write) is ignored
        stream.write(b'{"item": "slow5", "status": "ok", "outp')
    resumed = run_batch_cli(backend_env, str(tmp_path / "list.jsonl"), "--out", str(out), *ARGS, "--quiet")
    assert resumed.returncode == 0, resumed.stderr
    assert f"{len(finished)} already complete, {6 - len(finished)} to run" in resumed.stderr
    assert sorted(latest_records(out)) == [f"slow{i}" for i in range(6)]


@pytest.mark.parametrize("content, expected", [
    ('{"image": "a.png", "colour": "red"}\n', "unknown column(s) colour"),
    ('{"id": "x", "image": "a.png"}\n{"id": "x", "image": "b.png"}\n', "item 'x' repeats line 1"),
    ('{"image": "a.png"\n', "not valid JSON"),
    ('{"body": "anny"}\n', "no image"),
])
def test_a_bad_list_is_one_line_and_exit_2(backend_env, tmp_path, content, expected):
    (tmp_path / "list.jsonl").write_text(content)
    done = run_batch_cli(backend_env, str(tmp_path / "list.jsonl"), "--out", str(tmp_path / "out"), *ARGS)
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 2 and len(lines) == 1 and expected in lines[0], done.stderr
    assert not (tmp_path / "out").exists()


def test_csv_lists_labels_and_relative_paths(tmp_path, photo):
    from backend.batch.items import read_batch_list

    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "list.csv").write_text(
        "image,body,task,labels,resolution\n"
        "../p.png,anny,semantic_contact,chair;bicycle,256\n"
        "../p.png,,,,abc\n"
        "../p.png,smplx:models,,,\n")
    items = read_batch_list(tmp_path / "sub" / "list.csv")
    assert [i.label for i in items] == ["chair", "bicycle", None, None]
    assert items[0].id == "p.chair" and items[0].image == str(tmp_path / "p.png") and items[0].resolution == 256
    assert items[1].problem is None and items[2].problem.startswith("resolution 'abc'")
    assert items[3].body == f"smplx:{tmp_path / 'sub' / 'models'}"
    assert items[2].id != items[3].id and items[2].id.startswith("p-")  # same photo, two bodies
    assert np.all([i.line for i in items] == np.array([2, 2, 3, 4]))
    assert os.path.isabs(items[0].image)


def test_a_bad_value_fails_only_its_item(photo, tmp_path, monkeypatch):
    from backend.batch.items import Item
    from backend.batch.worker import BatchSettings, Worker

    monkeypatch.setenv("INTERACTVLM_EXTRA_LOCALIZERS", "tests.testing_localizers")
    worker = Worker(BatchSettings(localizer="testing-lowest", device="cpu", threads=1))
    bad = [Item(id="r", image=str(photo), line=3, problem="resolution 'abc' is not a whole number"),
           Item(id="s", image=str(photo), task="semantic_contact"),
           Item(id="o", image=str(photo), task="object_contact"),
           Item(id="m", image=str(photo), body=str(tmp_path / "absent.obj"))]
    errors = {i.id: worker.run(i, tmp_path)["error"] for i in bad}
    assert errors["r"]["code"] == "bad_request" and errors["r"]["message"].startswith("line 3: resolution")
    assert errors["s"]["code"] == "bad_request" and "needs a label" in errors["s"]["message"]
    assert errors["o"]["code"] == "bad_request" and "needs an object" in errors["o"]["message"]
    assert errors["m"]["code"] == "missing_file" and "absent.obj" in errors["m"]["message"]
    good = worker.run(Item(id="g", image=str(photo), resolution=48), tmp_path)
    assert good["status"] == "ok" and sorted(p.name for p in tmp_path.iterdir()) == ["g.json", "g.npz"]
