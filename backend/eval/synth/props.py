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


def handle(vertices: np.ndarray, parts: np.ndarray, rng: np.random.Generator, name: str = "handle",
           radius_m: tuple[float, float] = (0.015, 0.03), length_m: tuple[float, float] = (0.2, 0.35)) -> Prop:
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
    radius = rng.uniform(*radius_m)
    centre = palm + normal * (radius - SINK) + along * 0.02
    length = rng.uniform(*length_m)
    transform = np.eye(4)
    z = axis / np.linalg.norm(axis)
    x = normal
    transform[:3, :3] = np.stack([x, np.cross(z, x), z], 1)
    transform[:3, 3] = centre
    return _finish(name, trimesh.creation.cylinder(radius=radius, height=length, sections=24, transform=transform))


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


def cup(vertices: np.ndarray, parts: np.ndarray, rng: np.random.Generator) -> Prop:
    """A small cylinder (a cup or can) in the right palm: a one-handed hold of a small object."""
    return handle(vertices, parts, rng, name="cup", radius_m=(0.03, 0.04), length_m=(0.08, 0.12))


def bed(vertices: np.ndarray, parts: np.ndarray, rng: np.random.Generator) -> Prop:
    """A bed-sized box whose top meets the lowest point of a body lying on it."""
    low, high = vertices.min(0), vertices.max(0)
    margin = rng.uniform(0.1, 0.25, 4)
    top = low[2] + SINK
    return _finish("bed", _box([low[0] - margin[0] - 0.2, low[1] - margin[1], 0.0],
                               [high[0] + margin[2] + 0.2, high[1] + margin[3], top]), max_edge=0.06)


def table(vertices: np.ndarray, parts: np.ndarray, rng: np.random.Generator) -> Prop:
    """A table top (a slab) under both forearms, from the hands to just short of the elbows."""
    arms = _part_vertices(vertices, parts, "left_forearm", "right_forearm")
    hands = _part_vertices(vertices, parts, "left_hand", "right_hand", "left_palm", "right_palm",
                           "left_fingers", "right_fingers")
    top = arms[:, 2].min() + SINK  # hanging fingers that reach below the top rest on (sink into) it
    half = rng.uniform(0.5, 0.7)
    near = arms[:, 1].max() - rng.uniform(0.03, 0.08)  # the table edge under the forearms, before the elbows
    far = hands[:, 1].min() - rng.uniform(0.15, 0.35)
    return _finish("table", _box([-half, far, top - 0.035], [half, near, top]))


def backpack(vertices: np.ndarray, parts: np.ndarray, rng: np.random.Generator) -> Prop:
    """A backpack-sized box against the upper back (shoulder blades to the waist)."""
    back = _part_vertices(vertices, parts, "back")
    low_z, high_z = np.percentile(back[:, 2], [30, 90])
    band = back[(back[:, 2] >= low_z) & (back[:, 2] <= high_z)]
    face = band[:, 1].max() - SINK
    half = rng.uniform(0.13, 0.18)
    depth = rng.uniform(0.12, 0.2)
    centre_x = float(np.median(band[:, 0]))
    return _finish("backpack", _box([centre_x - half, face, low_z], [centre_x + half, face + depth, high_z]))


def occluder(vertices: np.ndarray, parts: np.ndarray, rng: np.random.Generator) -> Prop:
    """A crate in front of the shins (not touching the body) that hides part of the legs from the camera."""
    legs = _part_vertices(vertices, parts, "left_shin", "right_shin", "left_foot", "right_foot")
    front = vertices[:, 1].min() - rng.uniform(0.04, 0.1)
    height = legs[:, 2].max() * rng.uniform(0.7, 1.0)
    half = rng.uniform(0.3, 0.45)
    return _finish("crate", _box([-half, front - rng.uniform(0.25, 0.4), 0.0], [half, front, height]))


# Per scenario: the props that touch the body, the object (the label) first; 'stand' and 'kneel'
# and the other floor scenarios have none (their only contact is the ground).
PROP_OF = {"sit": (seat,), "hold": (handle,), "lean": (wall,), "carry": (bag,), "lie_raised": (bed,),
           "table": (table, seat), "backpack": (backpack,), "sit_cropped": (seat,), "behind": (handle,),
           "occluded": (seat,), "hold_small": (cup,)}
# Props seen in the photo that touch nothing (an occluder between the camera and the body).
SCENERY_OF = {"occluded": (occluder,)}


def props_for(scenario: str, vertices: np.ndarray, parts: np.ndarray, rng: np.random.Generator) -> list[Prop]:
    """The scenario's props touching the body, its object first ('stand' has none)."""
    return [make(vertices, parts, rng) for make in PROP_OF.get(scenario, ())]


def scenery_for(scenario: str, vertices: np.ndarray, parts: np.ndarray, rng: np.random.Generator) -> list[Prop]:
    """Props rendered but not in contact (occluders)."""
    return [make(vertices, parts, rng) for make in SCENERY_OF.get(scenario, ())]
