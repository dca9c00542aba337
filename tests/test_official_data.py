"""The official data folder (stand-ins in the real names, shapes and dtypes: tests/official_data_standins.py):
its checker, the allow-listed matrix reader, and the interactvlm localizer fed the fixed views through the
pipeline, with scores landing on SMPL-H, SMPL-X and Anny vertices."""
from __future__ import annotations

import json
import os
import pickle
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from backend.bodies.base import Body
from backend.localizers.base import Query
from backend.localizers.interactvlm.official_data import (BARY_COORDS, MATRIX_FILE, PIXEL_TO_VERTEX, RENDER_FOLDER,
                                                           VIEW_NAMES, DataFolderError, check_data_folder,
                                                           read_human_views, read_smplx_matrix, views_from_maps)
from tests.interactvlm_tiny import write_tiny_checkpoint

ROOT = Path(__file__).resolve().parents[1]
RIG = "4MV-Z_Vitru_mv2"  # the tiny checkpoint's hC_sam_view_type: its maps live in hcontact_vitruvian_mv2
MAPS = "hcontact_vitruvian_mv2"
FILES = [f"{RENDER_FOLDER}/body_render_norm_{v}.png" for v in VIEW_NAMES] + [
    f"{MAPS}/{PIXEL_TO_VERTEX}", f"{MAPS}/{BARY_COORDS}", MATRIX_FILE]


@pytest.fixture(scope="module")
def cache_env(tmp_path_factory):
    """The backend's cache (matrix npz, view embeddings) in a temporary folder for this module."""
    folder = tmp_path_factory.mktemp("ivlm_cache")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("IVLM_CACHE_DIR", str(folder))
        yield folder


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> Path:
    return write_tiny_checkpoint(tmp_path_factory.mktemp("ivlm_tiny") / "tiny")


def _copy(official_data, tmp_path) -> Path:
    return Path(shutil.copytree(official_data.folder, tmp_path / "data"))


def _check(*args: str, cache: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "IVLM_CACHE_DIR": str(cache)}
    env.pop("INTERACTVLM_DATA_DIR", None)
    return subprocess.run([sys.executable, "-m", "backend", "check-checkpoint", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=180)


def test_the_maps_become_views_of_the_smplh_surface(official_data, cache_env):
    human = read_human_views(official_data.folder, RIG)
    assert human.images.shape == (4, 1024, 1024, 3) and human.images.dtype == np.uint8
    assert human.vertex_ids.dtype == np.int64 and human.bary.dtype == np.float32
    faces, views = views_from_maps(human)
    covered = views.tri_ids >= 0
    assert np.array_equal(faces[views.tri_ids[covered]], human.vertex_ids[covered])  # corner order kept
    assert np.array_equal(covered, (human.vertex_ids >= 0).all(-1))
    assert [c.name for c in views.cameras] == list(VIEW_NAMES) and views.n_vertices == 6890
    matrix = read_smplx_matrix(official_data.folder)
    np.testing.assert_allclose(matrix.toarray(), official_data.matrix)
    assert list(cache_env.glob("smpl_to_smplx-*.npz"))  # read once, cached as npz keyed by the file's hash


def test_check_checkpoint_reports_the_data_folder(official_data, tiny, cache_env):
    done = _check(str(tiny), "--data", str(official_data.folder), cache=cache_env)
    assert done.returncode == 0, done.stdout + done.stderr
    for name in FILES:
        assert f"{name} OK" in done.stdout, name
    assert "data folder: OK" in done.stdout and "vision tower (CLIP):" in done.stdout
    data = json.loads(_check(str(tiny), "--data", str(official_data.folder), "--json", cache=cache_env).stdout)
    assert data["ok"] and data["data"]["ok"] and len(data["data"]["files"]) == 7


@pytest.mark.parametrize("name", FILES)
def test_each_missing_file_is_named(official_data, cache_env, tmp_path, name):
    folder = _copy(official_data, tmp_path)
    (folder / name).unlink()
    problems = check_data_folder(folder, RIG).problems()
    assert len(problems) == 1 and problems[0].startswith(f"{folder / name}: missing")


def test_check_checkpoint_refuses_a_data_folder_with_a_missing_file(official_data, tiny, cache_env, tmp_path):
    folder = _copy(official_data, tmp_path)
    (folder / MATRIX_FILE).unlink()
    done = _check(str(tiny), "--data", str(folder), cache=cache_env)
    assert done.returncode == 1 and "data folder: NOT USABLE" in done.stdout
    assert f"{folder / MATRIX_FILE}: missing" in done.stdout


def _payload_pickle(path: Path, marker: Path) -> None:
    class Payload:
        def __reduce__(self):
            return os.system, (f"touch {marker}",)

    path.write_bytes(pickle.dumps({"matrix": np.eye(3), "x": Payload()}))


MALFORMED = {
    "render_size": (f"{RENDER_FOLDER}/body_render_norm_topfront.png", "is 512x512"),
    "render_bytes": (f"{RENDER_FOLDER}/body_render_norm_topback.png", "not a readable PNG"),
    "render_mode": (f"{RENDER_FOLDER}/body_render_norm_bottomback.png", "mode RGBA"),
    "map_views": (f"{MAPS}/{PIXEL_TO_VERTEX}", "lacks the view(s) ['bottomback']"),
    "map_dtype": (f"{MAPS}/{PIXEL_TO_VERTEX}", "expected integer vertex ids"),
    "map_ids": (f"{MAPS}/{PIXEL_TO_VERTEX}", "outside [-1, 6890)"),
    "bary_shape": (f"{MAPS}/{BARY_COORDS}", "has shape (512, 512, 3)"),
    "bary_truncated": (f"{MAPS}/{BARY_COORDS}", "not a readable numeric npz"),
    "matrix_shape": (MATRIX_FILE, "has shape (100, 6890)"),
    "matrix_bytes": (MATRIX_FILE, "truncated or not a pickle"),
    "matrix_payload": (MATRIX_FILE, "refused"),
}


@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_each_malformed_file_is_named(official_data, cache_env, tmp_path, case):
    from PIL import Image

    from tests.official_data_standins import write_joblib

    folder = _copy(official_data, tmp_path)
    name, expected = MALFORMED[case]
    path = folder / name
    views = {v: np.zeros((1024, 1024, 3), np.int64) for v in VIEW_NAMES}
    marker = tmp_path / "ran"
    if case == "render_size":
        Image.new("RGB", (512, 512), "white").save(path)
    elif case == "render_mode":
        Image.new("RGBA", (1024, 1024), "white").save(path)
    elif case in ("render_bytes", "matrix_bytes"):
        path.write_bytes(os.urandom(2000))
    elif case == "map_views":
        np.savez(path, **{v: a for v, a in views.items() if v != "bottomback"})
    elif case == "map_dtype":
        np.savez(path, **{v: a.astype(np.float32) for v, a in views.items()})
    elif case == "map_ids":
        np.savez(path, **{v: a + 7000 for v, a in views.items()})
    elif case == "bary_shape":
        np.savez(path, **{v: np.zeros((512, 512, 3), np.float32) for v in VIEW_NAMES})
    elif case == "bary_truncated":
        path.write_bytes(path.read_bytes()[: 5000])
    elif case == "matrix_shape":
        write_joblib(path, {"matrix": np.zeros((100, 6890), np.float32)})
    elif case == "matrix_payload":
        _payload_pickle(path, marker)
    report = check_data_folder(folder, RIG)
    problems = [p for p in report.problems() if p.startswith(str(path))]
    assert len(report.problems()) == 1 and len(problems) == 1 and expected in problems[0], report.problems()
    assert not marker.exists()  # the payload never ran


def test_a_payload_carrying_matrix_is_refused_by_the_localizer_path(official_data, cache_env, tmp_path):
    folder = _copy(official_data, tmp_path)
    marker = tmp_path / "ran"
    _payload_pickle(folder / MATRIX_FILE, marker)
    with pytest.raises(DataFolderError, match="posix.system.*do not load this file"):
        read_smplx_matrix(folder)
    assert not marker.exists()


# --- the localizer, through the real pipeline --------------------------------------------------------------------


class _Cache:
    def __init__(self, localizer) -> None:
        self.localizer = localizer

    def get(self, name, device, checkpoint_dir, progress=None):
        return self.localizer


@pytest.fixture(scope="module")
def localizer(tiny, official_data, cache_env):
    from backend.localizers.interactvlm import InteractVLMLocalizer

    loaded = InteractVLMLocalizer(tiny, data_dir=official_data.folder)
    loaded.load("cpu")
    return loaded


def _estimate(tmp_path, photo, body, localizer, **fields):
    from backend.pipeline import run_estimate
    from backend.protocol import EstimateRequest

    request = EstimateRequest(image=str(photo), out_dir=str(tmp_path), body=body, resolution=64,
                              localizer="interactvlm", **fields)
    result = run_estimate(request, _Cache(localizer), tmp_path / "result.npz")
    with np.load(result.path) as data:
        return result.summary, {k: data[k] for k in data.files}


def _smplh_body(official_data) -> Body:
    parts = np.maximum(official_data.parts, 0).astype(np.int16)
    return Body("mesh", official_data.vertices, official_data.faces, official_data.vertices, parts)


def _on_smplh(localizer, photo_array, label):
    """The scores on the 6,890 SMPL-H vertices, lifted from the localizer's masks on the fixed views."""
    from backend.lift import lift

    canonical = localizer.canonical_views(Query("semantic_contact", label=label))
    return lift(canonical.views, localizer.localize(photo_array, canonical.views,
                                                    Query("semantic_contact", label=label)).masks)[0]


def test_fixed_views_are_fed_and_scores_land_on_smplh_and_smplx(localizer, official_data, photo, tmp_path,
                                                                anny_body):
    from backend.bodies import load_body
    from backend.images import load_image
    from tests.smplx_synthetic import write_synthetic_smplx

    expected = _on_smplh(localizer, load_image(str(photo)), "bicycle")
    summary, arrays = _estimate(tmp_path, photo, _smplh_body(official_data), localizer, task="semantic_contact",
                                label="bicycle")
    report = summary["localizer_report"]
    assert report["sam_input"] == "official renders" and report["human_views"].startswith("official fixed views")
    assert summary["correspondence"] == "smplh -> mesh by vertex index"
    assert arrays["masks"].shape == (4, 1024, 1024) and list(arrays["view_names"]) == list(VIEW_NAMES)
    np.testing.assert_allclose(arrays["scores"], expected, atol=1e-6)
    assert report["conventions"] == {"evaluation_threshold": 0.5, "smplx_display_threshold": 0.3,
                                     "object_threshold": 0.5}
    write_synthetic_smplx(tmp_path / "smplx", anny_body)
    smplx = load_body({"source": "smplx", "model_dir": str(tmp_path / "smplx")})
    summary, arrays = _estimate(tmp_path, photo, smplx, localizer, task="semantic_contact", label="bicycle")
    assert summary["correspondence"] == "smplh -> smplx by matrix"
    np.testing.assert_allclose(arrays["scores"], np.clip(official_data.matrix @ expected, 0, 1), atol=1e-5)


def test_scores_reach_anny_through_the_smplx_template(localizer, official_data, photo, tmp_path, anny_body):
    from backend.bodies import load_body
    from backend.bodies.correspondence import surface_of, transfer_scores
    from backend.images import load_image
    from tests.smplx_synthetic import write_synthetic_smplx

    # Without an SMPL-X template Anny cannot be reached from SMPL-H: re-rendered, and the report says so.
    summary, _ = _estimate(tmp_path, photo, anny_body, localizer, task="semantic_contact", label="bicycle")
    report = summary["localizer_report"]
    assert report["human_views"] == "re-rendered body (fallback)" and "SMPLX_NEUTRAL.npz" in report["warnings"][0]
    folder = _copy(official_data, tmp_path)
    write_synthetic_smplx(folder / "body_models" / "smplx", anny_body)
    localizer.use_data_dir(folder)
    try:
        summary, arrays = _estimate(tmp_path, photo, anny_body, localizer, task="semantic_contact", label="bicycle")
        expected = _on_smplh(localizer, load_image(str(photo)), "bicycle")
    finally:
        localizer.use_data_dir(official_data.folder)
    assert summary["correspondence"] == "smplh -> smplx by matrix -> anny by part-consistent nearest points"
    smplx = surface_of(load_body({"source": "smplx", "model_dir": str(folder / "body_models" / "smplx")}))
    on_anny = transfer_scores(np.clip(official_data.matrix @ expected, 0, 1), smplx, surface_of(anny_body))
    np.testing.assert_allclose(arrays["scores"], on_anny, atol=1e-5)
    assert arrays["scores"].shape == (anny_body.n_vertices,)


def test_view_embeddings_are_computed_once(tiny, official_data, photo, tmp_path, cache_env):
    from backend.localizers.interactvlm import InteractVLMLocalizer

    fresh = InteractVLMLocalizer(tiny, data_dir=official_data.folder)
    fresh.load("cpu")
    fresh.view_cache.folder = tmp_path / "embeddings"  # empty: nothing computed before
    body = _smplh_body(official_data)
    first, _ = _estimate(tmp_path, photo, body, fresh, task="semantic_contact", label="bicycle")
    second, _ = _estimate(tmp_path, photo, body, fresh, task="semantic_contact", label="chair")
    assert fresh.view_cache.computed == 1 and first["localizer_report"]["answer"] is not None
    again = InteractVLMLocalizer(tiny, data_dir=official_data.folder)  # a new worker: read from disk
    again.load("cpu")
    again.view_cache.folder = fresh.view_cache.folder
    third, arrays = _estimate(tmp_path, photo, body, again, task="semantic_contact", label="chair")
    assert again.view_cache.computed == 0 and third["contact_vertices"] == second["contact_vertices"]


def test_binary_contact_is_the_union_of_per_object_predictions(localizer, official_data, photo, tmp_path):
    from backend.images import load_image

    image = load_image(str(photo))
    union = np.zeros(6890, bool)
    for label in ("bicycle", "chair"):
        union |= _on_smplh(localizer, image, label) >= 0.5
    summary, arrays = _estimate(tmp_path, photo, _smplh_body(official_data), localizer, task="human_contact",
                                labels=("bicycle", "chair"))
    assert summary["labels"] == ["bicycle", "chair"]
    assert summary["localizer_report"]["binary_rule"] == "union of per-label predictions >= 0.5"
    assert np.array_equal(arrays["scores"] >= 0.5, union) and set(np.unique(arrays["scores"])) <= {0.0, 1.0}
    summary, _ = _estimate(tmp_path, photo, _smplh_body(official_data), localizer, task="human_contact")
    assert "'object'" in summary["localizer_report"]["warnings"][0]  # the generic fallback is flagged


def test_evaluate_runs_interactvlm_on_a_damon_stand_in(tiny, official_data, tmp_path, anny_body, cache_env):
    from PIL import Image

    from tests.smplx_synthetic import write_synthetic_smplx

    model_dir = tmp_path / "smplx"
    write_synthetic_smplx(model_dir, anny_body)
    (tmp_path / "images").mkdir()
    for name in ("a", "b"):
        Image.fromarray(np.full((64, 48, 3), 90 if name == "a" else 160, np.uint8)).save(
            tmp_path / "images" / f"{name}.png"
        )
    labels = np.zeros((2, 10475), np.float32)
    labels[:, :300] = 1
    np.savez(tmp_path / "damon.npz", imgname=np.array(["x/a.png", "x/b.png"]), contact_label_smplx=labels)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "IVLM_CACHE_DIR": str(cache_env)}
    done = subprocess.run([sys.executable, "-m", "backend", "evaluate", "--dataset", f"damon:{tmp_path / 'damon.npz'}",
                           "--images", str(tmp_path / "images"), "--localizer", "interactvlm", "--checkpoint-dir",
                           str(tiny), "--data-dir", str(official_data.folder), "--smplx-dir", str(model_dir),
                           "--device", "cpu", "--out", str(tmp_path / "eval"), "--sheets", "0"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=400)
    assert done.returncode == 0, done.stdout + done.stderr
    summary = json.loads((tmp_path / "eval" / "summary.json").read_text())
    assert summary["n"] == 2 and summary["failed"] == 0 and summary["body"] == "smplx"
    assert np.load(tmp_path / "eval" / "scores.npz")["scores"].shape == (2, 10475)


def test_the_scene_rig_alias_is_reported_as_a_guess(tiny, tmp_path, cache_env):
    folder = Path(shutil.copytree(tiny, tmp_path / "scene"))
    config = json.loads((folder / "config.json").read_text())
    (folder / "config.json").write_text(json.dumps({**config, "hC_sam_view_type": "4MV-Z_Vitru_wScene"}))
    done = _check(str(folder), cache=cache_env)
    assert done.returncode == 0 and "4MV-Z_Vitru_wScene is not in the official HUMAN_VIEW_DICT" in done.stdout
    assert "guess" in done.stdout
