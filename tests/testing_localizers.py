"""A tests-only localizer (never shipped): contact = the lowest surface points in the rendered frame.

The server loads it only when INTERACTVLM_EXTRA_LOCALIZERS=tests.testing_localizers is set. Masks are
derived from the views themselves: every covered pixel is unprojected with its camera and depth,
and pixels whose world height lies in the lowest LOW_FRACTION of the surface's height range are
contact (the soles for a standing body, the base for an object). Deterministic, so tests can
predict which vertices score >= 0.5.

`LOADS` counts load() calls across the process (reported as `loads` in the localizer report),
so tests can check that a warm server does not reload. Query labels drive test scenarios:
"sleep:<seconds>" sleeps first in slices it reports through `steps` (so a cancel arrives mid-job and
takes effect inside the stage), "block:<seconds>" sleeps without reporting (a step that cannot be
interrupted), "raise" raises RuntimeError (an internal job failure), "print" writes noise to stdout from
Python and from fd 1 (as C libraries do).
"""
from __future__ import annotations

import os
import sys
import time

import numpy as np

from backend.localizers.base import NO_STEPS, Localizer, LocalizerOutput, Query, Steps
from backend.render import RenderedViews

NAME = "testing-lowest"
LOW_FRACTION = 0.1
LOADS = 0


def world_points(views: RenderedViews, index: int) -> tuple[np.ndarray, np.ndarray]:
    """Flat covered pixel indices of one view and their (P,3) world positions."""
    camera = views.cameras[index]
    height, width = views.size
    pixels = np.flatnonzero(views.tri_ids[index].reshape(-1) >= 0)
    z = views.depth[index].reshape(-1)[pixels].astype(np.float64)
    u = pixels % width + 0.5
    v = pixels // width + 0.5
    cx, cy = camera.principal
    cam = np.stack([(u - cx) / camera.focal * z, (v - cy) / camera.focal * z, z], 1)
    return pixels, (cam - camera.translation) @ np.asarray(camera.rotation)  # R^T (x - t)


class LowestLocalizer(Localizer):
    name = NAME

    def __init__(self) -> None:
        self.device: str | None = None

    def load(self, device: str) -> None:
        global LOADS
        if self.device is None:
            LOADS += 1
        self.device = device

    def localize(self, image_rgb: np.ndarray, views: RenderedViews, query: Query,
                 steps: Steps = NO_STEPS) -> LocalizerOutput:
        if query.label and query.label.startswith("block:"):
            time.sleep(float(query.label.split(":", 1)[1]))
        if query.label and query.label.startswith("sleep:"):
            # Sleep in short slices and report each one, as a real localizer reports its steps, so a
            # cancel takes effect inside the stage.
            seconds = float(query.label.split(":", 1)[1])
            slices = max(1, int(seconds / 0.05))
            for i in range(slices):
                time.sleep(seconds / slices)
                steps((i + 1) / slices, "sleeping")
        if query.label == "raise":
            raise RuntimeError("testing localizer failed on purpose")
        if query.label == "print":
            print("stray print from a library")
            sys.stdout.flush()
            os.write(1, b"stray bytes on fd 1\n")
        height, width = views.size
        per_view = [world_points(views, i) for i in range(views.n_views)]
        heights = np.concatenate([p[:, 2] for _, p in per_view])
        low, high = heights.min(), heights.max()
        cut = low + LOW_FRACTION * (high - low)
        masks = np.zeros((views.n_views, height * width), dtype=np.float32)
        for i, (pixels, points) in enumerate(per_view):
            masks[i, pixels[points[:, 2] <= cut]] = 1.0
        report = {"loads": LOADS, "device": self.device, "cut_height": float(cut), "image_shape": list(image_rgb.shape)}
        return LocalizerOutput(masks=masks.reshape(views.n_views, height, width), report=report)


LOCALIZERS = {NAME: lambda checkpoint_dir=None: LowestLocalizer()}
