"""Image-blind baselines that give the accuracy numbers context (they never look at the photo).

Each is a real Localizer: it projects a fixed per-vertex prior into the rendered views (so the
pipeline lifts it back), which means a baseline runs through exactly the same render/lift path
as a learned localizer.
  baseline-below-hips: every vertex lower than the lowest buttocks vertex (feet, shins, knees);
  baseline-soles: the soles of both feet (the most frequent contact in everyday photos).
"""
from __future__ import annotations

import numpy as np

from backend.bodies.parts import PART_ID
from backend.localizers.base import NO_STEPS, Localizer, LocalizerOutput, Query, Steps
from backend.render import RenderedViews

BASELINES: tuple[str, ...] = ("baseline-below-hips", "baseline-soles")


def prior_labels(name: str, canonical_vertices: np.ndarray, parts: np.ndarray) -> np.ndarray:
    """(N,) float32 0/1 prior of the named baseline on a body."""
    if name == "baseline-soles":
        return np.isin(parts, [PART_ID["left_sole"], PART_ID["right_sole"]]).astype(np.float32)
    if name == "baseline-below-hips":
        buttocks = parts == PART_ID["buttocks"]
        if not buttocks.any():
            raise ValueError("the body has no buttocks vertices; baseline-below-hips needs body parts")
        return (canonical_vertices[:, 2] < canonical_vertices[buttocks, 2].min()).astype(np.float32)
    raise ValueError(f"unknown baseline {name!r}; use one of {', '.join(BASELINES)}")


class PriorLocalizer(Localizer):
    """A fixed per-vertex prior, drawn into the views (the photo is ignored)."""

    def __init__(self, name: str, labels: np.ndarray) -> None:
        self.name = name
        self.labels = np.asarray(labels, dtype=np.float32)

    def load(self, device: str) -> None:
        return None

    def localize(self, image_rgb: np.ndarray, views: RenderedViews, query: Query,
                 steps: Steps = NO_STEPS) -> LocalizerOutput:
        from backend.lift import project

        return LocalizerOutput(masks=np.clip(project(views, self.labels), 0.0, 1.0),
                               report={"baseline": self.name, "image_used": False})
