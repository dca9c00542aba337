"""The allow-listed array reader and the opcode scan: real joblib / pickle / torch files, and payload files that
must never run (each payload would create a marker file)."""
from __future__ import annotations

import os
import pickle
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp

from backend.safe_pickle import PickleFormatError, UnsafePickleError, load_array_pickle, pickle_globals

DATA = Path(__file__).parent / "data"


class _Payload:
    """Unpickling this runs `touch <marker>`: proof that something executed."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return os.system, (f"touch {self.marker}",)


def _arrays():
    matrix = sp.random(30, 20, density=0.1, format="csr", random_state=0)
    return {"matrix": matrix, "csc": matrix.tocsc(), "coo": matrix.tocoo(), "dense": np.arange(12.0).reshape(3, 4),
            "fortran": np.asfortranarray(np.ones((2, 3), np.float32)), "meta": [np.int64(7), ("a", None, 1.5)]}


def _same(loaded, expected) -> bool:
    return (all(abs(loaded[k] - expected[k]).max() == 0 for k in ("matrix", "csc", "coo"))
            and np.array_equal(loaded["dense"], expected["dense"])
            and np.array_equal(loaded["fortran"], expected["fortran"]) and loaded["meta"] == expected["meta"])


@pytest.mark.parametrize("name", ["joblib_arrays.pkl", "joblib_arrays.pkl.z"])
def test_files_written_by_real_joblib_load(name):
    """joblib 1.5.2 wrote these (tests/data/README.md): raw array bytes follow each NumpyArrayWrapper."""
    loaded = load_array_pickle(DATA / name)
    expected = np.load(DATA / "joblib_arrays_expected.npz")
    assert isinstance(loaded["matrix"], sp.csr_matrix)
    assert np.array_equal(loaded["matrix"].toarray(), expected["matrix"])
    assert np.array_equal(loaded["dense"], expected["dense"]) and loaded["dense"].flags.f_contiguous
    assert "joblib.numpy_pickle.NumpyArrayWrapper" in pickle_globals(DATA / name)


@pytest.mark.parametrize("protocol", [0, 1, 2, 4, 5])
def test_plain_pickles_of_arrays_load(tmp_path, protocol):
    path = tmp_path / "arrays.pkl"
    path.write_bytes(pickle.dumps(_arrays(), protocol=protocol))
    assert _same(load_array_pickle(path), _arrays())


@pytest.mark.parametrize("protocol", [0, 2, 4])
def test_payload_is_named_and_never_runs(tmp_path, protocol):
    marker = tmp_path / "ran"
    path = tmp_path / "payload.pkl"
    path.write_bytes(pickle.dumps({"matrix": np.eye(3), "x": _Payload(marker)}, protocol=protocol))
    assert "posix.system" in pickle_globals(path)  # STACK_GLOBAL's memoised strings are resolved (protocol 4)
    with pytest.raises(UnsafePickleError, match="posix.system") as error:
        load_array_pickle(path)
    assert error.value.global_name == "posix.system"
    assert not marker.exists()


def test_payload_inside_a_torch_checkpoint_is_listed_without_running(tmp_path):
    import torch

    marker = tmp_path / "ran"
    path = tmp_path / "pytorch_model.bin"
    torch.save({"w": torch.zeros(2), "x": _Payload(marker)}, path)
    assert {"torch._utils._rebuild_tensor_v2", "posix.system"} <= set(pickle_globals(path))
    with pytest.raises(PickleFormatError, match="zip archive"):
        load_array_pickle(path)
    assert not marker.exists()


def test_code_in_allowed_positions_is_refused(tmp_path):
    """Allowed callables do not open a door: copyreg._reconstructor only builds sparse matrices, numpy.dtype
    refuses object dtypes, _codecs.encode only makes bytes."""
    cases = {
        b"ccopyreg\n_reconstructor\n(csubprocess\nPopen\nc__builtin__\nobject\nNtR.": "subprocess.Popen",
        b"c_codecs\nencode\n(Vx\nVrot13\ntR.": "_codecs.encode",
        b"cnumpy\ndtype\n(VO8\nI00\nI01\ntR.": "numpy.dtype",
        b"cbuiltins\neval\n(Vprint(1)\ntR.": "builtins.eval",
    }
    for blob, name in cases.items():
        path = tmp_path / "case.pkl"
        path.write_bytes(blob)
        with pytest.raises(UnsafePickleError) as error:
            load_array_pickle(path)
        assert name in str(error.value) or error.value.global_name == name, (name, error.value)


def test_objects_that_are_not_arrays_are_refused(tmp_path):
    from collections import OrderedDict

    for value, name in [(np.array([None, 1], dtype=object), "numpy.dtype"), (OrderedDict(a=1), "OrderedDict"),
                        ({1.5: np.zeros(2)}, "float")]:
        path = tmp_path / "value.pkl"
        path.write_bytes(pickle.dumps(value, protocol=4))
        with pytest.raises(UnsafePickleError, match=name):
            load_array_pickle(path)


def test_tampered_sparse_matrix_is_refused(tmp_path):
    matrix = sp.random(5, 5, density=0.5, format="csr", random_state=0)
    matrix.indices[0] = 99  # a column outside the matrix
    path = tmp_path / "bad.pkl"
    path.write_bytes(pickle.dumps({"matrix": matrix}))
    with pytest.raises(UnsafePickleError, match="malformed scipy.sparse"):
        load_array_pickle(path)


def test_random_bytes_and_truncated_files_are_format_errors(tmp_path):
    noise = tmp_path / "noise.pkl"
    noise.write_bytes(np.random.default_rng(0).integers(0, 256, 4096, dtype=np.uint8).tobytes())
    truncated = tmp_path / "truncated.pkl"
    truncated.write_bytes((DATA / "joblib_arrays.pkl").read_bytes()[:1500])
    for path in (noise, truncated):
        with pytest.raises(PickleFormatError):
            load_array_pickle(path)
    with pytest.raises(PickleFormatError):
        pickle_globals(noise)
