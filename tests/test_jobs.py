"""The job table (backend/jobs.py) and the estimate's two entry points (backend/pipeline.py)."""
from __future__ import annotations

import importlib
import inspect

import numpy as np
import pytest

from backend.jobs import JOBS, JobResult, classify
from backend.protocol import JOB_OPS, SCENE_STAGES, STAGES, EstimateRequest


def test_the_table_serves_every_job_op_of_the_protocol_with_one_runner_signature():
    from backend.pipeline import run_estimate

    assert tuple(JOBS) == JOB_OPS
    expected = list(inspect.signature(run_estimate).parameters)
    names = set()
    for op, kind in JOBS.items():
        module, name = kind.runner.split(":")
        runner = getattr(importlib.import_module(module), name)
        assert list(inspect.signature(runner).parameters) == expected, op
        assert inspect.signature(runner).return_annotation in ("JobResult", JobResult), op
        assert list(kind.stage_starts) == list(STAGES if op == "estimate" else SCENE_STAGES)
        starts = list(kind.stage_starts.values())
        assert starts == sorted(starts) and starts[0] == 0.0 and starts[-1] < 1.0
        names.add(kind.result_name)
    assert len(names) == len(JOBS)  # one result file per op


class _Lowest:
    """A cache handing out the tests-only localizer, loaded."""

    def __init__(self) -> None:
        from testing_localizers import LowestLocalizer

        self.localizer = LowestLocalizer()
        self.localizer.load("cpu")

    def get(self, name, device, checkpoint_dir, progress=None):
        return self.localizer


def test_a_batch_resolved_once_gives_the_same_result_as_the_job(tmp_path, photo, ellipsoid):
    """estimate_image over prepare_inputs (the CLI's batch) == run_estimate (the server's job)."""
    from backend.bodies import load_body
    from backend.estimate_inputs import prepare_inputs
    from backend.pipeline import estimate_image, run_estimate

    vertices, faces = ellipsoid
    np.savez(tmp_path / "body.npz", vertices=vertices, faces=faces)
    cache = _Lowest()
    request = EstimateRequest(image=str(photo), out_dir=str(tmp_path), body={"source": "mesh",
                              "npz": str(tmp_path / "body.npz")}, resolution=96)
    job = run_estimate(request, cache, tmp_path / "job.npz")
    body = load_body({"source": "mesh", "vertices": vertices, "faces": faces})
    inputs = prepare_inputs("human_contact", None, body, None, cache.localizer, "testing-lowest", "cpu", 96)
    events: list = []
    batch = estimate_image(photo, inputs, tmp_path / "batch.npz", progress=lambda s, f, m=None: events.append(s))
    with np.load(job.path) as a, np.load(batch.path) as b:
        assert sorted(a.files) == sorted(b.files)
        np.testing.assert_array_equal(a["scores"], b["scores"])
        assert (a["scores"] >= 0.5).sum() > 0
    assert list(dict.fromkeys(events)) == list(STAGES)
    assert job.summary["contact_vertices"] == batch.summary["contact_vertices"]


def test_the_protocols_object_npz_means_npz(tmp_path, photo, ellipsoid):
    """An object sent as another format is a clear bad_mesh, not read as something else."""
    import trimesh

    from backend.pipeline import run_estimate

    trimesh.Trimesh(*ellipsoid, process=False).export(tmp_path / "prop.obj")
    request = EstimateRequest(image=str(photo), out_dir=str(tmp_path), task="object_contact",
                              object={"npz": str(tmp_path / "prop.obj")}, resolution=64)
    with pytest.raises(ValueError) as caught:
        run_estimate(request, _Lowest(), tmp_path / "r.npz")
    code, message, hint = classify(caught.value)
    assert code == "bad_mesh" and "object mesh" in message and "not a readable numeric npz mesh" in message and hint
    assert not (tmp_path / "r.npz").exists()
