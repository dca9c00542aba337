"""The Localizer contract: (photo, rendered views, query) -> one soft contact mask per view.

New localizers plug in by implementing this protocol and registering in
backend.localizers.registry; render, lift, the server and the add-on do not change.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, runtime_checkable

import numpy as np

from backend.render import RenderedViews

Task = Literal["human_contact", "semantic_contact", "object_contact"]
TASKS: tuple[str, ...] = ("human_contact", "semantic_contact", "object_contact")


@dataclass(frozen=True)
class Query:
    """What to localize.

    task: human_contact (body vertices touching anything), semantic_contact (body vertices
        touching the object named by `label`), object_contact (object vertices touched).
    label: the object's name, required for semantic_contact, optional otherwise.
    vertex_parts: (N,) int16 body-part ids (backend.bodies.parts) of the rendered surface when
        it is a body; None for objects and unlabelled meshes.
    body_vertices: for object_contact, the body (M,3) in the object's frame when known, else None.
    """

    task: Task
    label: str | None = None
    vertex_parts: np.ndarray | None = None
    body_vertices: np.ndarray | None = None

    def __post_init__(self) -> None:
        if self.task not in TASKS:
            raise ValueError(f"unknown task {self.task!r}; use one of {', '.join(TASKS)}")
        if self.task == "semantic_contact" and not (self.label and self.label.strip()):
            raise ValueError("semantic_contact needs an object label, e.g. label='bicycle'")


@dataclass
class LocalizerOutput:
    """masks: (n_views,H,W) float32 in [0,1]; report: what the localizer saw (JSON-able)."""

    masks: np.ndarray
    report: dict[str, Any] = field(default_factory=dict)


@runtime_checkable
class Localizer(Protocol):
    name: str

    def load(self, device: str) -> None:
        """Load weights once; later calls are no-ops. device is 'cpu' or 'cuda'."""

    def localize(self, image_rgb: np.ndarray, views: RenderedViews, query: Query) -> LocalizerOutput:
        """image_rgb: (H,W,3) uint8 photo. Returns masks matching views' (n_views,H,W)."""

    # Optional: `cameras(query, vertices, size) -> list[Camera]`. A localizer trained on a particular
    # rig (the official InteractVLM model) declares it so the pipeline renders the views it expects;
    # without it the pipeline uses backend.cameras' body or object rig.
