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

    return dict(os.environ, PYTHONPATH=str(ROOT), IVLM_EXTRA_LOCALIZERS="tests.testing_localizers",
                PYTHONUNBUFFERED="1")


@pytest.fixture(scope="session")
def official_data(tmp_path_factory, anny_body):
    """A stand-in for the official InteractVLM data folder (tests/official_data_standins.py), written once."""
    from tests.official_data_standins import write_data_folder

    return write_data_folder(tmp_path_factory.mktemp("ivlm_data") / "data", anny_body)
