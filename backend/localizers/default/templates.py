"""The template localizer (the default until issue 17, kept for the benchmark's comparison).

MediaPipe keypoints -> pose class -> per-part contact scores -> soft masks per view."""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from backend.bodies.parts import PART_ID, PARTS
from backend.localizers.base import NO_STEPS, Localizer, LocalizerOutput, Query, Steps
from backend.localizers.default.cues import Cues, read_cues
from backend.localizers.default.detect import KEYPOINT_NAMES, Detector, Observation
from backend.localizers.default.object_rule import object_masks
from backend.localizers.default.paint import paint_parts, pixel_vertices, refine_regions
from backend.localizers.default.priors import REGIONS, SEAT_LABELS
from backend.localizers.default.semantic import normalise_label, semantic_scores
from backend.render import RenderedViews

NAME = "default-templates"


class TemplateLocalizer(Localizer):
    """Runs on the CPU with the models inside the mediapipe wheel; `device` is accepted and ignored."""

    name = NAME

    def __init__(self) -> None:
        self._detector: Detector | None = None
        self.device: str | None = None

    def load(self, device: str) -> None:
        if self._detector is None:
            self._detector = Detector(retry=False)
        self.device = device

    def localize(self, image_rgb: np.ndarray, views: RenderedViews, query: Query,
                 steps: Steps = NO_STEPS) -> LocalizerOutput:
        self.load(self.device or "cpu")
        timings: dict[str, float] = {}
        obs = self._detector.detect(image_rgb)
        timings.update(obs.timings)
        start = time.perf_counter()
        cues = read_cues(obs)
        scores, label_key = cues.scores, None
        if query.task == "semantic_contact":
            scores, label_key = semantic_scores(query.label or "", cues.scores, cues.pose_class)
        timings["cues"] = time.perf_counter() - start
        start = time.perf_counter()
        if query.task == "object_contact":
            label_key = normalise_label(query.label) if query.label else None
            masks, rule = object_masks(views, query.body_vertices, label_key, cues.pose_class, float(scores.max()))
        else:
            if query.vertex_parts is None:
                raise ValueError(f"{query.task} paints body parts, so it needs the body's per-vertex part "
                                 "labels (Query.vertex_parts); render a body, or use task object_contact for an object")
            nearest = pixel_vertices(views)
            masks = paint_parts(views, query.vertex_parts, scores, nearest)
            refine_regions(views, query.vertex_parts, masks, _regions(scores, cues.pose_class, label_key), nearest)
            rule = "body parts (feet: rim below foot_rim_m; seated thighs, lying head/legs: back only)"
        timings["masks"] = time.perf_counter() - start
        report = self._report(obs, cues, scores, query, label_key, rule, timings)
        return LocalizerOutput(masks=masks.astype(np.float32), report=report)


    @staticmethod
    def _report(obs: Observation, cues: Cues, scores: np.ndarray, query: Query, label_key: str | None, rule: str,
                timings: dict[str, float]) -> dict[str, Any]:
        order = np.argsort(-scores, kind="stable")
        return {
            "model": "mediapipe pose_landmark_full + hand_landmark_lite (CPU, bundled in the wheel)",
            "pose_class": cues.pose_class,
            "pose_angles": cues.angles,
            "keypoint_visibility": {n: round(float(obs.visibility[i]), 3) for n, i in KEYPOINT_NAMES.items()},
            "hands_detected": len(obs.hands),
            "hands": cues.hands,
            "label_prior": label_key,
            "part_scores": {PARTS[i]: round(float(scores[i]), 3) for i in order if scores[i] > 0},
            "parts_in_contact": [PARTS[i] for i in order if scores[i] >= 0.5],
            "rule": rule,
            "timings": {k: round(v, 4) for k, v in timings.items()},
        }


def _regions(scores: np.ndarray, pose_class: str, label_key: str | None) -> dict[str, tuple[str, float, float]]:
    """Within-part rules (paint.refine_regions) implied by the answer: foot rims; only the back of
    a seated thigh; only the back of the head, thighs and shins of a body lying on its back."""
    regions: dict[str, tuple[str, float, float]] = {}
    for side in ("left", "right"):
        sole = float(scores[PART_ID[f"{side}_sole"]])
        if sole >= 0.5:
            regions[f"{side}_foot"] = ("below", REGIONS["foot_rim_m"], sole)
        seated = pose_class in ("sitting", "sitting_on_ground") or (label_key in SEAT_LABELS)
        if seated or pose_class == "lying":
            regions[f"{side}_thigh"] = ("facing_back", REGIONS["back_min_ny"], 0.0)
        if pose_class == "lying":
            regions[f"{side}_shin"] = ("facing_back", REGIONS["back_min_ny"], 0.0)
    if pose_class == "lying":
        regions["head"] = ("facing_back", REGIONS["back_min_ny"], 0.0)
    return regions


def create() -> "TemplateLocalizer":
    return TemplateLocalizer()


# Registered only where asked for (bench/accuracy.py sets INTERACTVLM_EXTRA_LOCALIZERS to this module),
# so today's localizer runs beside the new one through the same pipeline.
LOCALIZERS = {NAME: lambda checkpoint_dir=None: TemplateLocalizer()}
