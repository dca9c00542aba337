"""Ground-truth contact from mesh proximity: distance <= 2 cm or penetration (backend.scene_contact)."""
from __future__ import annotations

import numpy as np

from backend.eval.synth.props import Prop
from backend.scene_contact import scene_contact

THRESHOLD = 0.02  # metres


def ground_contact(vertices: np.ndarray) -> np.ndarray:
    """Vertices within the threshold of the floor z = 0 or below it."""
    return vertices[:, 2] <= THRESHOLD


def prop_contact(body_vertices: np.ndarray, body_faces: np.ndarray, prop: Prop) -> tuple[np.ndarray, np.ndarray]:
    """(body (N,) bool, prop (M,) bool) contact between the posed body and one prop."""
    contact = scene_contact(body_vertices, body_faces, prop.vertices, prop.faces, contact_distance=THRESHOLD)
    body = (contact.body.distance <= THRESHOLD) | contact.body.penetrating
    obj = (contact.object.distance <= THRESHOLD) | contact.object.penetrating
    return body, obj
