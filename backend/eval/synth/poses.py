"""Posing the Anny body by per-bone rotations (anny's default 'local-ref' parameterisation).

In 'local-ref' a bone's delta rotation is expressed in its reference frame, which for Anny's
default rig is aligned with the world axes (Z up, body facing -Y): a rotation of -a about X swings
a limb forward. Posed vertices keep the canonical vertex order, so labels computed on them index
the canonical mesh the views are rendered from.
"""
from __future__ import annotations

import functools

import numpy as np

SCENARIOS: tuple[str, ...] = ("sit", "hold", "stand", "lean", "carry")


def rotation(axis: str, degrees: float) -> np.ndarray:
    a = np.radians(degrees)
    c, s = np.cos(a), np.sin(a)
    return {"x": np.array([[1, 0, 0], [0, c, -s], [0, s, c]]),
            "y": np.array([[c, 0, s], [0, 1, 0], [-s, 0, c]]),
            "z": np.array([[c, -s, 0], [s, c, 0], [0, 0, 1]])}[axis]


def pose_angles(scenario: str, rng: np.random.Generator) -> dict[str, list[tuple[str, float]]]:
    """Per-bone rotations (axis, degrees), jittered so no two images share a pose."""
    j = lambda spread: float(rng.uniform(-spread, spread))  # noqa: E731
    arms_down = {"upperarm01.L": [("y", j(8))], "upperarm01.R": [("y", j(8))]}
    if scenario == "sit":
        hip = -90 + j(6)
        return {"upperleg01.L": [("x", hip), ("z", j(6))], "upperleg01.R": [("x", hip), ("z", j(6))],
                "lowerleg01.L": [("x", -hip + j(8))], "lowerleg01.R": [("x", -hip + j(8))],
                "upperarm01.L": [("x", -25 + j(10))], "upperarm01.R": [("x", -25 + j(10))]}
    if scenario == "hold":
        return {"upperarm01.R": [("x", -45 + j(15))], "lowerarm01.R": [("x", -30 + j(15))],
                "upperarm01.L": [("y", j(8))], "spine01": [("z", j(10))]}
    if scenario == "stand":
        return {**arms_down, "spine01": [("z", j(15))], "lowerarm01.L": [("x", -float(rng.uniform(0, 60)))],
                "lowerarm01.R": [("x", -float(rng.uniform(0, 60)))]}
    if scenario == "lean":  # the whole-body tilt towards the wall is applied by lean_back()
        return {**arms_down, "lowerarm01.L": [("x", j(20))], "lowerarm01.R": [("x", j(20))]}
    if scenario == "carry":
        return {"upperarm01.L": [("y", j(8))], "upperarm01.R": [("y", -4 + j(4))], "spine01": [("y", j(4))]}
    raise ValueError(f"unknown scenario {scenario!r}; use one of {', '.join(SCENARIOS)}")


@functools.lru_cache(maxsize=1)
def _model():
    import warnings

    import anny

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return anny.Anny()


def random_phenotype(rng: np.random.Generator) -> dict[str, float]:
    """Adult bodies of either sex and varied build (anny's phenotype sliders, 0.5 = default)."""
    return {"gender": float(rng.uniform(0, 1)), "age": float(rng.uniform(0.45, 0.75)),
            "muscle": float(rng.uniform(0.3, 0.7)), "weight": float(rng.uniform(0.3, 0.7)),
            "height": float(rng.uniform(0.35, 0.65))}


def posed_vertices(angles: dict[str, list[tuple[str, float]]], phenotype: dict[str, float] | None = None) -> np.ndarray:
    """(N,3) float64 posed Anny vertices (model frame, not yet grounded); same vertex order for any
    phenotype, so labels still index the canonical mesh."""
    import torch

    model = _model()
    labels = set(model.bone_labels)
    unknown = sorted(set(angles) - labels)
    if unknown:
        raise ValueError(f"unknown Anny bone(s) {unknown}")
    dtype = model.template_vertices.dtype
    params = {}
    for bone, rotations in angles.items():
        matrix = np.eye(3)
        for axis, degrees in rotations:
            matrix = matrix @ rotation(axis, degrees)
        transform = torch.eye(4, dtype=dtype)
        transform[:3, :3] = torch.from_numpy(matrix).to(dtype)
        params[bone] = transform[None]
    with torch.no_grad():
        shape = {k: torch.tensor([v], dtype=dtype) for k, v in (phenotype or {}).items()}
        return model(pose_parameters=params or None, phenotype_kwargs=shape or None)["vertices"][0].double().numpy()


def lean_back(vertices: np.ndarray, degrees: float) -> np.ndarray:
    """Tilt the whole body backwards (+Y) about a horizontal axis at floor level."""
    return vertices @ rotation("x", -degrees).T  # +X rotation would tip the head forward (-Y)
