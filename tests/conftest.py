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
