"""The Localizer contract: (photo, views, query) -> contact, as per-view masks or per-vertex scores.

New localizers subclass `Localizer`, implement `load` and `localize`, and register in
backend.localizers.registry; render, lift, the server and the add-on do not change. The optional
parts of the contract are methods with defaults here, so the pipeline calls them directly:

- `cameras(query, vertices, size)`: the rig the localizer was trained on (None: the pipeline's rig).
- `canonical_views(query)`: fixed views the localizer brings itself (e.g. the official InteractVLM
  renders of SMPL-H in its 'Vitruvian' pose, with their pixel->vertex maps). The pipeline then skips
  the render, lifts the masks onto that canonical surface and transfers the scores onto the user's
  body with backend.bodies.correspondence (None: render the user's body).
- `steps` (argument of `localize`): progress inside the localize stage and the cancel check.
- `LocalizerOutput.surface_scores`: per-vertex scores on a canonical surface instead of masks, for a
  localizer that reasons in 3D; transferred onto the user's body the same way.
- `LocalizerOutput.fitted_body`: the posed body the localizer reasoned on, returned to the user.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Literal

import numpy as np

from backend.render import Camera, RenderedViews

if TYPE_CHECKING:
    from backend.bodies.correspondence import Surface

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
    labels: for human_contact, the objects in the photo (backend.labels names): binary contact is the union of
        their semantic predictions, each thresholded at 0.5 (the official evaluation); empty: one `label` query.
    body_name: the rendered body's source ("anny", "smplx", "mesh"), or None for objects.
    """

    task: Task
    label: str | None = None
    vertex_parts: np.ndarray | None = None
    body_vertices: np.ndarray | None = None
    labels: tuple[str, ...] = ()
    body_name: str | None = None

    def __post_init__(self) -> None:
        if self.task not in TASKS:
            raise ValueError(f"unknown task {self.task!r}; use one of {', '.join(TASKS)}")
        if self.task == "semantic_contact" and not (self.label and self.label.strip()):
            raise ValueError("semantic_contact needs an object label, e.g. label='bicycle'")


StepReport = Callable[[float, "str | None"], None]


def _no_report(fraction: float, message: str | None = None) -> None:
    return None


@dataclass(frozen=True)
class Steps:
    """Progress inside one stage, and the job's cancel check, for long work (a localize call, a render).

    Call `steps(fraction, message)` between units of work (per view, per model step): fraction in
    [0,1] of the current stage. The call raises the job's cancellation exception when the job should
    stop; let it propagate (nothing is written by a cancelled job).
    """

    report: StepReport = _no_report

    def __call__(self, fraction: float, message: str | None = None) -> None:
        self.report(min(max(float(fraction), 0.0), 1.0), message)


NO_STEPS = Steps()


@dataclass(frozen=True)
class CanonicalViews:
    """Fixed views a localizer brings itself, on a named canonical surface.

    surface: the canonical surface the views show (name, vertices, faces, parts); the lifted scores
        live on its vertices and reach the user's body through backend.bodies.correspondence.
    views: RenderedViews whose tri_ids/bary index `surface.faces` (n_vertices = the surface's count),
        e.g. built from the official pixel->vertex and barycentric maps.
    images: (V,H,W,3) uint8, exactly the images the model is fed for those views.
    """

    surface: "Surface"
    views: RenderedViews
    images: np.ndarray


@dataclass(frozen=True)
class SurfaceScores:
    """Per-vertex contact scores on a canonical surface (a localizer that reasons in 3D).

    surface: the surface scored (e.g. the fitted Anny in its canonical pose).
    scores: (N,) float32 in [0,1], one per surface vertex.
    """

    surface: "Surface"
    scores: np.ndarray


@dataclass(frozen=True)
class FittedBody:
    """The posed body a localizer reasoned on, handed back to the user ('Add Fitted Body').

    vertices: (M,3) float32, metres, Z up, the body's canonical facing (-Y) unless `frame` says else.
    faces: (F,3) int32.
    frame: what the coordinates are relative to, e.g. "canonical" or "camera".
    """

    vertices: np.ndarray
    faces: np.ndarray
    frame: str = "canonical"


@dataclass
class LocalizerOutput:
    """What one localize call returns.

    masks: (n_views,H,W) float32 in [0,1] over the views it was given, or None when the localizer
        scores vertices directly (then `surface_scores` is set).
    report: what the localizer saw (JSON-able), copied into the result summary.
    surface_scores: per-vertex scores on a canonical surface, transferred onto the user's body.
    fitted_body: the posed body the localizer reasoned on, if any.
    """

    masks: np.ndarray | None
    report: dict[str, Any] = field(default_factory=dict)
    surface_scores: SurfaceScores | None = None
    fitted_body: FittedBody | None = None

    def __post_init__(self) -> None:
        if self.masks is None and self.surface_scores is None:
            raise ValueError("a LocalizerOutput needs masks (one per view) or surface_scores")


class Localizer(ABC):
    """Base class of every localizer: `load` once, then `localize` per photo."""

    name: str = ""

    @abstractmethod
    def load(self, device: str) -> None:
        """Load weights once; later calls are no-ops. device is 'cpu' or 'cuda'."""

    @abstractmethod
    def localize(self, image_rgb: np.ndarray, views: RenderedViews, query: Query,
                 steps: Steps = NO_STEPS) -> LocalizerOutput:
        """image_rgb: (H,W,3) uint8 photo; views: the rendered (or canonical) views.

        Returns masks matching views' (n_views,H,W), or surface_scores. Calls `steps` between units
        of work so progress moves and a cancel takes effect inside the stage."""

    def cameras(self, query: Query, vertices: np.ndarray, size: int) -> list[Camera] | None:
        """The rig this localizer was trained on for `query` (None: the pipeline's body/object rig)."""
        return None

    def canonical_views(self, query: Query) -> CanonicalViews | None:
        """Fixed views of a canonical surface to use instead of rendering the user's mesh (None: render)."""
        return None
