"""Props placed analytically against the posed body so they touch the intended parts.

Every prop is a closed, outward-oriented triangle mesh (so penetration tests work), subdivided to
edges <= 3 cm so object-side contact labels have a usable resolution. The ground (z = 0) is not a
prop: the renderer draws it as a plane and its contact is z <= threshold.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from backend.bodies.parts import part_ids

SINK = 0.005  # props overlap the surface they support by 5 mm, as a real seat or grip would
MAX_EDGE = 0.03


@dataclass(frozen=True)
class Prop:
    name: str  # the object label ("chair", "handle", "wall", "bag")
    vertices: np.ndarray  # (M,3) float64, world (Z up, metres)
    faces: np.ndarray  # (K,3) int32


def _part_vertices(vertices: np.ndarray, parts: np.ndarray, *names: str) -> np.ndarray:
    return vertices[np.isin(parts, part_ids(names))]


def _finish(name: str, mesh, max_edge: float = MAX_EDGE) -> Prop:
    import trimesh

    v, f = trimesh.remesh.subdivide_to_size(mesh.vertices, mesh.faces, max_edge=max_edge)
    return Prop(name, np.asarray(v, np.float64), np.asarray(f, np.int32))


def _box(low: np.ndarray, high: np.ndarray):
    import trimesh

    low, high = np.asarray(low, float), np.asarray(high, float)
    centre = trimesh.transformations.translation_matrix((low + high) / 2)
    return trimesh.creation.box(extents=high - low, transform=centre)


def seat(vertices: np.ndarray, parts: np.ndarray, rng: np.random.Generator) -> Prop:
    """A box whose top is at the posed buttocks' lowest point, under the buttocks and upper thighs."""
    butt = _part_vertices(vertices, parts, "buttocks")
    thighs = _part_vertices(vertices, parts, "left_thigh", "right_thigh")
    top = butt[:, 2].min() + SINK
    width = rng.uniform(0.45, 0.6)
    back = butt[:, 1].max() + rng.uniform(0.03, 0.1)
    legs = _part_vertices(vertices, parts, "left_shin", "right_shin", "left_foot", "right_foot",
                          "left_sole", "right_sole")
    # stop short of the knees, and behind the calves and heels
    front = max(thighs[:, 1].min() + rng.uniform(0.12, 0.2), legs[:, 1].max() + 0.04)
    return _finish("chair", _box([-width / 2, front, 0.0], [width / 2, back, top]))


def handle(vertices: np.ndarray, parts: np.ndarray, rng: np.random.Generator) -> Prop:
    """A cylinder across the right palm: axis perpendicular to the palm normal and the fingers."""
    import trimesh

    palm = _part_vertices(vertices, parts, "right_palm").mean(0)
    back = _part_vertices(vertices, parts, "right_hand").mean(0)
    fingers = _part_vertices(vertices, parts, "right_fingers").mean(0)
    normal = palm - back
    normal /= np.linalg.norm(normal)
    along = fingers - palm
    along -= normal * (along @ normal)
    along /= np.linalg.norm(along)
    axis = np.cross(normal, along)
    radius = rng.uniform(0.015, 0.03)
    centre = palm + normal * (radius - SINK) + along * 0.02
    length = rng.uniform(0.2, 0.35)
    transform = np.eye(4)
    z = axis / np.linalg.norm(axis)
    x = normal
    transform[:3, :3] = np.stack([x, np.cross(z, x), z], 1)
    transform[:3, 3] = centre
    return _finish("handle", trimesh.creation.cylinder(radius=radius, height=length, sections=24, transform=transform))


def wall(vertices: np.ndarray, parts: np.ndarray, rng: np.random.Generator) -> Prop:
    """A wall behind the body touching the most backward point of the back or buttocks."""
    torso = _part_vertices(vertices, parts, "back", "buttocks")
    face = torso[:, 1].max() - SINK
    half = rng.uniform(0.8, 1.2)
    return _finish("wall", _box([-half, face, 0.0], [half, face + 0.1, 2.2]), max_edge=0.08)


def bag(vertices: np.ndarray, parts: np.ndarray, rng: np.random.Generator) -> Prop:
    """A bag-like box hanging from the right hand: its top meets the lowest fingertips."""
    hand = _part_vertices(vertices, parts, "right_fingers", "right_palm")
    bottom = hand[hand[:, 2] <= hand[:, 2].min() + 0.02]
    centre = bottom.mean(0)
    top = hand[:, 2].min() + SINK
    height = rng.uniform(0.2, 0.35)
    dx, dy = rng.uniform(0.08, 0.14), rng.uniform(0.25, 0.4)
    low = [centre[0] - dx / 2, centre[1] - dy / 2, max(top - height, 0.05)]
    return _finish("bag", _box(low, [centre[0] + dx / 2, centre[1] + dy / 2, top]))


PROP_OF = {"sit": seat, "hold": handle, "lean": wall, "carry": bag}


def props_for(scenario: str, vertices: np.ndarray, parts: np.ndarray, rng: np.random.Generator) -> list[Prop]:
    """The scenario's prop ('stand' has none: its only contact is the ground)."""
    make = PROP_OF.get(scenario)
    return [make(vertices, parts, rng)] if make else []
