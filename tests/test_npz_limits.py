"""Damaged and disproportionate npz files are refused before numpy inflates them (backend/npz_limits.py)."""
from __future__ import annotations

import io
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

from backend.npz_limits import MAX_VERTICES, NpzError, check_mesh_npz


@pytest.fixture(scope="module")
def smplx_file(tmp_path_factory, anny_body) -> Path:
    from tests.smplx_synthetic import write_synthetic_smplx

    return write_synthetic_smplx(tmp_path_factory.mktemp("smplx"), anny_body)


def _damaged_copy(smplx_file: Path, folder: Path, how: str) -> Path:
    folder.mkdir()
    data = smplx_file.read_bytes()
    damaged = {"truncated": data[: len(data) // 2],
               "random": np.random.default_rng(0).integers(0, 256, 100_000, dtype=np.uint8).tobytes()}[how]
    (folder / smplx_file.name).write_bytes(damaged)
    return folder


@pytest.mark.parametrize("how", ["truncated", "random"])
def test_damaged_smplx_model_is_a_clear_bad_mesh_error(smplx_file, tmp_path, photo, how):
    from backend.bodies import load_body
    from backend.jobs import JobError
    from backend.localizers.cache import LocalizerCache
    from backend.pipeline import run_estimate
    from backend.protocol import EstimateRequest

    folder = _damaged_copy(smplx_file, tmp_path / "model", how)
    with pytest.raises(ValueError) as error:
        load_body({"source": "smplx", "model_dir": str(folder)})
    text = str(error.value)
    assert "truncated or not an npz" in text and "re-download" in text and "pickled" not in text
    request = EstimateRequest(image=str(photo), out_dir=str(tmp_path / "out"),
                              body={"source": "smplx", "model_dir": str(folder)})
    with pytest.raises(JobError) as job_error:  # the server's `error` event: bad_mesh, not `internal`
        run_estimate(request, LocalizerCache(), tmp_path / "out" / "result.npz")
    assert job_error.value.code == "bad_mesh"


def test_cli_reports_a_truncated_smplx_model_in_one_line(smplx_file, tmp_path, photo, backend_env):
    folder = _damaged_copy(smplx_file, tmp_path / "model", "truncated")
    done = subprocess.run([sys.executable, "-m", "backend", "estimate", "--image", str(photo), "--body",
                           f"smplx:{folder}", "--localizer", "testing-lowest", "--out", str(tmp_path / "out")],
                          env=backend_env, cwd=backend_env["PYTHONPATH"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
    assert "truncated or not an npz" in done.stderr.strip().splitlines()[-1]


def _npz_with_faces(path: Path, n_vertices: int, face_rows: int, real_data: bool) -> Path:
    """A mesh npz whose faces member declares `face_rows` rows: deflated zeros (real_data) or a bare header."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        buffer = io.BytesIO()
        np.save(buffer, np.zeros((n_vertices, 3), np.float32))
        archive.writestr("vertices.npy", buffer.getvalue())
        with archive.open("faces.npy", "w", force_zip64=True) as stream:
            np.lib.format.write_array_header_1_0(stream, {"descr": "<i4", "fortran_order": False,
                                                          "shape": (face_rows, 3)})
            chunk = bytes(1 << 24)
            remaining = face_rows * 12 if real_data else 12
            while remaining > 0:
                stream.write(chunk[: min(remaining, len(chunk))])
                remaining -= len(chunk)
    return path


def test_a_faces_bomb_is_refused_before_it_is_inflated(tmp_path):
    from backend.meshes import MeshError, read_mesh

    bomb = _npz_with_faces(tmp_path / "bomb.npz", 1_000, 10_000_000, real_data=True)  # 120 MB of zeros
    assert bomb.stat().st_size < 1_000_000
    # The one mesh reader (bodies, objects, scene jobs): before, it inflated 120 MB, and all-zero faces
    # passed every later check.
    with pytest.raises(MeshError, match="out of proportion") as error:
        read_mesh(bomb, "object mesh")
    assert error.value.code == "bad_mesh"


def test_lying_headers_and_non_zip_files_are_refused(tmp_path):
    lying = _npz_with_faces(tmp_path / "lying.npz", 100, 10 ** 12, real_data=False)
    with pytest.raises(NpzError, match="out of proportion"):
        check_mesh_npz(lying)
    with zipfile.ZipFile(tmp_path / "many.npz", "w") as archive:  # a header alone claiming 10x the cap
        buffer = io.BytesIO()
        np.lib.format.write_array_header_1_0(buffer, {"descr": "<f4", "fortran_order": False,
                                                      "shape": (MAX_VERTICES * 10, 3)})
        archive.writestr("vertices.npy", buffer.getvalue())
    with pytest.raises(NpzError, match="decimate"):
        check_mesh_npz(tmp_path / "many.npz")
    ok = tmp_path / "ok.npz"
    np.savez(ok, vertices=np.zeros((4, 3), np.float32), faces=np.array([[0, 1, 2], [0, 2, 3]], np.int32))
    check_mesh_npz(ok)
    shutil.copy(ok, tmp_path / "cut.npz")
    (tmp_path / "cut.npz").write_bytes(ok.read_bytes()[:-40])
    for path in (tmp_path / "cut.npz", tmp_path / "noise.npz"):
        if path.name == "noise.npz":
            path.write_bytes(b"\x93NUMPY" + bytes(range(256)) * 4)
        with pytest.raises(NpzError, match="truncated or not an npz"):
            check_mesh_npz(path)
