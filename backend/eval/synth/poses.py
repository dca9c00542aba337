"""Posing the Anny body by per-bone rotations (anny's default 'local-ref' parameterisation).

In 'local-ref' a bone's delta rotation is expressed in its reference frame, which for Anny's
default rig is aligned with the world axes (Z up, body facing -Y): a rotation of -a about X swings
a limb forward. Posed vertices keep the canonical vertex order, so labels computed on them index
the canonical mesh the views are rendered from.
"""
from __future__ import annotations

import functools

import numpy as np

# The frozen scenario list (issue 17): the first five are the original set; image i shows
# SCENARIOS[i % len(SCENARIOS)]. Changing this list changes the benchmark: do not tune against it.
SCENARIOS: tuple[str, ...] = ("sit", "hold", "stand", "lean", "carry", "kneel", "squat", "sit_ground",
                              "lie_raised", "table", "backpack", "sit_cropped", "behind", "occluded",
                              "hold_small")
# Scenarios whose lowest point (not the soles) rests on the ground or the prop below.
GROUND_LOWEST = frozenset({"kneel", "squat", "sit_ground", "lie_raised"})


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
    if scenario in ("sit", "sit_cropped", "occluded"):  # the same seat pose, framed or hidden differently
        return pose_angles("sit", rng)
    if scenario == "behind":  # holding a handle, seen from behind (the camera does the rest)
        return pose_angles("hold", rng)
    if scenario == "kneel":  # thighs near vertical, shins folded back onto the floor
        return {**arms_down, "upperleg01.L": [("x", j(10))], "upperleg01.R": [("x", j(10))],
                "lowerleg01.L": [("x", 96 + j(3))], "lowerleg01.R": [("x", 96 + j(3))],
                "foot.L": [("x", 80 + j(8))], "foot.R": [("x", 80 + j(8))]}
    if scenario == "squat":  # deep knee bend, heels down, torso forward, arms forward for balance
        hip, knee = -105 + j(8), 125 + j(8)
        return {"upperleg01.L": [("x", hip), ("z", -10 + j(5))], "upperleg01.R": [("x", hip), ("z", 10 + j(5))],
                "lowerleg01.L": [("x", knee)], "lowerleg01.R": [("x", knee)],
                "foot.L": [("x", -(hip + knee))], "foot.R": [("x", -(hip + knee))],
                "spine03": [("x", -20 + j(8))], "upperarm01.L": [("x", -50 + j(15))],
                "upperarm01.R": [("x", -50 + j(15))]}
    if scenario == "sit_ground":  # on the floor, legs forward, knees a little bent
        return {
            "upperleg01.L": [("x", -87 + j(2))],
            "upperleg01.R": [("x", -87 + j(2))],
            "lowerleg01.L": [("x", float(rng.uniform(0, 6)))],
            "lowerleg01.R": [("x", float(rng.uniform(0, 6)))],
            "spine03": [("x", 8 + j(6))],
            "upperarm01.L": [("x", -10 + j(10))],
            "upperarm01.R": [("x", -10 + j(10))],
        }
    if scenario == "lie_raised":  # on the back (lie_down() tilts the body), head and legs raised
        return {
            "upperleg01.L": [("x", -float(rng.uniform(15, 50)))],
            "upperleg01.R": [("x", -float(rng.uniform(15, 50)))],
            "lowerleg01.L": [("x", float(rng.uniform(0, 30)))],
            "lowerleg01.R": [("x", float(rng.uniform(0, 30)))],
            "neck01": [("x", float(rng.uniform(15, 35)))],
            **arms_down,
        }  # +x lifts the head off the bed
    if scenario == "table":  # seated, forearms resting on a table top in front
        seat = pose_angles("sit", rng)
        return {**seat, "upperarm01.L": [("x", -30 + j(8)), ("y", 10)], "upperarm01.R": [("x", -30 + j(8)), ("y", -10)],
                "lowerarm01.L": [("x", -15 + j(5))], "lowerarm01.R": [("x", -15 + j(5))]}  # forearms ~level
    if scenario == "backpack":  # standing, a backpack on the back
        return {**arms_down, "lowerarm01.L": [("x", -float(rng.uniform(0, 40)))],
                "lowerarm01.R": [("x", -float(rng.uniform(0, 40)))]}
    if scenario == "hold_small":  # one hand raised in front, holding a small object (a cup)
        return {"upperarm01.R": [("x", -40 + j(12))], "lowerarm01.R": [("x", -55 + j(12))],
                "upperarm01.L": [("y", j(8))], "spine01": [("z", j(10))]}
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
