"""Camera rigs as data: where the views of Render-Localize-Lift are taken from.

Frame: Z up, metres; a body in its canonical pose faces -Y, so its own left side is at +X.
Cameras are perspective pinholes in the OpenCV convention (x right, y down, looking along +z).
"""
from __future__ import annotations

import numpy as np

from backend.geometry import unit
from backend.render import Camera

BODY_VIEW_NAMES: tuple[str, ...] = ("front", "back", "left", "right")
# Camera directions (from the target towards the camera) for the body rig, in the canonical frame.
# "left" looks at the body's left side (+X), as the official rig's side views do.
_BODY_DIRECTIONS = {
    "front": (0.0, -1.0, 0.0),
    "back": (0.0, 1.0, 0.0),
    "left": (1.0, 0.0, 0.0),
    "right": (-1.0, 0.0, 0.0),
}
# A 40 degree field of view keeps perspective mild (bodies look as in a photo taken from a few
# metres) while the framing below still fills the image.
FIELD_OF_VIEW_DEG = 40.0
# Fraction of the half-image left empty around the mesh, so silhouettes never touch the border.
MARGIN = 0.06
# Object views look down at 30 degrees so that top surfaces (seats, tables, handles) are visible.
OBJECT_ELEVATION_DEG = 30.0
OBJECT_VIEW_NAMES: tuple[str, ...] = ("front", "back", "left", "right")


def look_at(name: str, target: np.ndarray, direction: np.ndarray, distance: float, size: int,
            fov_deg: float = FIELD_OF_VIEW_DEG) -> Camera:
    """A camera `distance` from `target` along unit `direction`, looking back at the target, Z up."""
    direction = np.asarray(direction, dtype=np.float64)
    direction = unit(direction)
    forward = -direction
    right = np.cross(forward, (0.0, 0.0, 1.0))
    if np.linalg.norm(right) < 1e-8:  # looking straight down/up: any horizontal right works
        right = np.array([1.0, 0.0, 0.0])
    right = unit(right)
    down = np.cross(forward, right)
    rotation = np.stack([right, down, forward])
    centre = np.asarray(target, dtype=np.float64) + direction * distance
    focal = (size / 2.0) / np.tan(np.radians(fov_deg) / 2.0)
    return Camera(name=name, rotation=rotation, translation=-rotation @ centre, focal=float(focal),
                  width=int(size), height=int(size))


def framing_distance(vertices: np.ndarray, target: np.ndarray, direction: np.ndarray,
                     fov_deg: float = FIELD_OF_VIEW_DEG, margin: float = MARGIN) -> float:
    """Smallest distance at which every vertex projects inside the image, less the margin."""
    probe = look_at("probe", target, direction, 0.0, 2)
    local = (np.asarray(vertices, dtype=np.float64) - target) @ probe.rotation.T
    slope = np.tan(np.radians(fov_deg) / 2.0) * (1.0 - margin)
    lateral = np.maximum(np.abs(local[:, 0]), np.abs(local[:, 1]))
    # Camera at depth -d along its axis: a vertex is inside when lateral / (z + d) <= slope.
    return float(np.max(lateral / slope - local[:, 2]))


def _rig(vertices: np.ndarray, directions: dict[str, np.ndarray], size: int) -> list[Camera]:
    vertices = np.asarray(vertices, dtype=np.float64)
    if vertices.ndim != 2 or vertices.shape[1] != 3 or len(vertices) == 0:
        raise ValueError(f"a camera rig needs vertices of shape (N, 3), got {vertices.shape}")
    if size < 8:
        raise ValueError(f"render size must be at least 8 pixels, got {size}")
    target = (vertices.min(axis=0) + vertices.max(axis=0)) / 2.0
    cameras = []
    for name, direction in directions.items():
        direction = unit(np.asarray(direction, dtype=np.float64))  # a new array: the caller's stays as it is
        distance = framing_distance(vertices, target, direction)
        cameras.append(look_at(name, target, direction, distance, size))
    return cameras


def body_rig(canonical_vertices: np.ndarray, size: int = 1024) -> list[Camera]:
    """The canonical 4-view body rig: front, back, left, right around the vertical axis."""
    return _rig(canonical_vertices, {n: np.array(_BODY_DIRECTIONS[n]) for n in BODY_VIEW_NAMES}, size)


def object_rig(vertices: np.ndarray, size: int = 1024) -> list[Camera]:
    """Four views around an object, raised by OBJECT_ELEVATION_DEG to show its top surfaces."""
    lift = np.tan(np.radians(OBJECT_ELEVATION_DEG))
    directions = {n: np.array(_BODY_DIRECTIONS[n]) + (0.0, 0.0, lift) for n in OBJECT_VIEW_NAMES}
    return _rig(vertices, directions, size)
