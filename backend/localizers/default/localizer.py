"""The default localizer: MediaPipe landmarks -> Anny's pose fitted to them -> contact from the
fitted body and its supports, per vertex -> scores on Anny (the pipeline transfers them onto the
user's body with backend.bodies.correspondence) and the posed Anny for 'Add Fitted Body'.
"""
from __future__ import annotations

import time
from typing import Any

import numpy as np

from backend.bodies.parts import PART_ID, PARTS, part_ids
from backend.geometry import unit
from backend.localizers.base import NO_STEPS, FittedBody, Localizer, LocalizerOutput, Query, Steps, SurfaceScores
from backend.localizers.default import detect as K
from backend.localizers.default.carried import carried_scores
from backend.localizers.default.cues import (classify_pose, feet_in_frame, heel_image_distance, lap_image_cover,
                                             thigh_image_drop)
from backend.localizers.default.detect import KEYPOINT_NAMES, Detector, Observation
from backend.localizers.default.facing import mirrored_reading, unmirrored
from backend.localizers.default.fit import Fit, fit_pose, rest_feet_on_floor, rest_shins_on_floor
from backend.localizers.default.folded_shins import fold_short_shins
from backend.localizers.default.folded_thighs import seat_folded_kneel
from backend.localizers.default.hand_claims import claimed_hands
from backend.localizers.default.hidden_legs import hang_hidden_shins
from backend.localizers.default.lying import head_flexion_deg, neck_image_bend_deg
from backend.localizers.default.object_rule import object_masks
from backend.localizers.default.priors import DETECT, LABEL_PARTS, SEMANTIC, SEAT_LABELS
from backend.localizers.default.semantic import normalise_label
from backend.localizers.default.stretched_legs import on_buttocks, stretch_legs_on_floor
from backend.localizers.default.supports import (Supports, find_supports, foot_vertices, surest_hint_claimed,
                                                  vertex_areas)
from backend.render import RenderedViews

NAME = "default"


class DefaultLocalizer(Localizer):
    """Runs on the CPU with the models inside the mediapipe wheel and anny; `device` is ignored."""

    name = NAME

    def __init__(self) -> None:
        self._detector: Detector | None = None
        self._surface = None
        self._feet: dict[str, np.ndarray] = {}
        self.device: str | None = None

    def load(self, device: str) -> None:
        if self._detector is None:
            from backend.bodies import load_body
            from backend.bodies.correspondence import surface_of

            self._detector = Detector()
            self._surface = surface_of(load_body({"source": "anny"}))
            self._feet = {side: foot_vertices(self._surface.parts, side) for side in "LR"}
        self.device = device

    def localize(self, image_rgb: np.ndarray, views: RenderedViews, query: Query,
                 steps: Steps = NO_STEPS) -> LocalizerOutput:
        self.load(self.device or "cpu")
        timings: dict[str, float] = {}
        steps(0.0, "finding the person")
        obs = self._detector.detect(image_rgb)
        timings.update(obs.timings)
        pose_class, angles = classify_pose(obs)
        swapped = mirrored_reading(obs, pose_class)  # the feet say MediaPipe mirrored the person (facing.py)
        if swapped:
            obs = unmirrored(obs, upper_only=swapped == "upper body")
        label_key = normalise_label(query.label) if query.label else None
        if query.task == "object_contact":  # object surfaces: the photo's rule, as before
            start = time.perf_counter()
            masks, rule = object_masks(views, query.body_vertices, label_key, pose_class, 0.9)
            timings["masks"] = time.perf_counter() - start
            report = {"model": _MODEL, "pose_class": pose_class, "pose_angles": angles,
                      "detection_confidence": obs.confidence, "detections": obs.detections(),
                      "label_prior": label_key, "rule": rule, "timings": _rounded(timings)}
            return LocalizerOutput(masks=masks.astype(np.float32), report=report)

        steps(0.3, "fitting the body's pose")
        start = time.perf_counter()
        fit = fit_pose(obs.world, obs.visibility)
        timings["fit"] = time.perf_counter() - start
        steps(0.7, "finding the supports")
        start = time.perf_counter()
        parts = self._surface.parts
        visible = obs.visibility
        areas = vertex_areas(fit.vertices, self._surface.faces)
        seen = {"legs_seen": bool(visible[[K.L_KNEE, K.R_KNEE]].mean() >= DETECT["visible"]),
                "feet_seen": {"L": bool(visible[K.L_ANKLE] >= DETECT["visible"]),
                              "R": bool(visible[K.R_ANKLE] >= DETECT["visible"])},
                "thigh_drop": thigh_image_drop(obs), "heel_distance": heel_image_distance(obs),
                "lap_cover": lap_image_cover(obs), "head_flex": head_flexion_deg(obs.world, visible),
                "neck_bend": neck_image_bend_deg(obs.image, visible),
                "feet_in_frame": feet_in_frame(obs),
                "wrists_seen": {"L": bool(visible[K.L_WRIST] >= DETECT["visible"]),
                                "R": bool(visible[K.R_WRIST] >= DETECT["visible"])}}
        supports = find_supports(fit.vertices, parts, fit.joints, areas=areas, **seen)
        fit = fold_short_shins(fit, obs.image, visible, supports.up)  # a kneeling shin the fit left straight
        fit = seat_folded_kneel(fit, supports.up, seen["thigh_drop"], seen["feet_seen"])  # a seat, not the knees
        fit = stretch_legs_on_floor(fit, supports.up, supports.found, visible, parts)
        fit = rest_shins_on_floor(fit, supports.up)
        rested = fit
        if not fit.stretched and any(f["name"] == "seat" for f in supports.found):  # hidden shins hang to the floor
            fit = hang_hidden_shins(fit, supports.up, tuple(s for s in "LR" if not seen["feet_seen"][s]))
        hung = fit is not rested
        fit = rest_feet_on_floor(fit, supports.up, self._feet)
        if fit.rested or fit.levelled or hung or fit.stretched:  # legs moved: the supports of the settled body
            supports = find_supports(fit.vertices, parts, fit.joints, areas=areas, flat_feet=tuple(fit.levelled),
                                     kneeling_feet=tuple(fit.rested), up=supports.up if fit.stretched else None, **seen)
        if fit.stretched:  # sitting on the floor: on its buttocks
            supports.scores = on_buttocks(supports.scores, fit.vertices, parts, supports.up)
        hands, hand_contact = claimed_hands(obs, fit, parts, self._surface.faces, supports)
        scores = np.maximum(supports.scores, hand_contact)
        if not (scores >= 0.5).any():
            supports = surest_hint_claimed(supports)
            scores = np.maximum(supports.scores, hand_contact)
        contact, strap_on = scores, None
        if query.task == "semantic_contact":
            contact = semantic_vertex_scores(label_key, scores, supports, parts)
            straps = carried_scores(label_key, fit.vertices, parts, fit.joints, supports.up)
            if straps is not None:
                contact = np.maximum(contact, straps)
                strap_on = (straps >= 0.5) & (supports.scores < 0.5)
        timings["contact"] = time.perf_counter() - start
        contact = np.clip(contact, 0.0, 1.0).astype(np.float32)
        masks = None
        if views.n_vertices == self._surface.n_vertices:  # the views show Anny: show the scores in them
            from backend.lift import project

            masks = np.clip(project(views, contact), 0.0, 1.0)
        steps(1.0, "contact found")
        report = self._report(obs, fit, supports, hands, contact, parts, pose_class, angles, label_key, timings,
                              strap_on)
        report["left_right_swapped_by_feet"] = swapped or False
        return LocalizerOutput(masks=masks, report=report, surface_scores=SurfaceScores(self._surface, contact),
                               fitted_body=FittedBody(_upright(fit.vertices, supports.up), self._surface.faces))


    @staticmethod
    def _report(obs: Observation, fit: Fit, supports: Supports, hands: dict, contact: np.ndarray,
                parts: np.ndarray, pose_class: str, angles: dict, label_key: str | None,
                timings: dict[str, float], strap_on: np.ndarray | None = None) -> dict[str, Any]:
        on = contact >= 0.5
        strap_parts = set(parts[on & strap_on].tolist()) if strap_on is not None else set()
        counts = np.bincount(parts[on], minlength=len(PARTS))
        order = np.argsort(-counts, kind="stable")
        evidence = {}
        for i in order:
            if counts[i] == 0:
                continue
            name = PARTS[i]
            hand_part = name.endswith(("palm", "fingers", "_hand"))
            why = "hand evidence" if hand_part and not (supports.scores[on & (parts == i)] >= 0.5).any() else "support"
            if i in strap_parts:
                why = f"{label_key} straps (named by the label)"
            evidence[name] = {"vertices": int(counts[i]), "why": why,
                              "uncertain": name in fit.uncertain}
        return {
            "model": _MODEL,
            "detection_confidence": obs.confidence,
            "detections": obs.detections(),  # boxes and keypoints in the photo (detect.Observation.detections)
            "pose_class": pose_class,
            "pose_angles": angles,
            "fit_residual_deg": round(fit.residual_deg, 2),
            "uncertain_parts": fit.uncertain,
            "shins_rested_on_floor": fit.rested,
            "feet_levelled_on_floor": fit.levelled,
            "legs_stretched_on_floor": fit.stretched,
            "supports": supports.found,
            "keypoint_visibility": {n: round(float(obs.visibility[i]), 3) for n, i in KEYPOINT_NAMES.items()},
            "hands_detected": len(obs.hands),
            "hands": hands,
            "label_prior": label_key,
            "part_evidence": evidence,
            "part_scores": {PARTS[i]: round(float(contact[parts == i].max()), 3) for i in order if counts[i] > 0},
            "parts_in_contact": [PARTS[i] for i in order if counts[i] > 0],
            "rule": "per vertex: fitted Anny within band_m of a support (floor or the bed under a lying torso, seat, "
                    "table, wall or backrest behind), hands by evidence",
            "timings": _rounded(timings),
        }


_MODEL = "mediapipe pose_landmark_full + hand_landmark_lite (CPU, bundled in the wheel) + Anny pose fit"


def _rounded(timings: dict[str, float]) -> dict[str, float]:
    return {k: round(v, 4) for k, v in timings.items()}


def semantic_vertex_scores(label_key: str | None, scores: np.ndarray, supports: Supports,
                           parts: np.ndarray) -> np.ndarray:
    """Contact with the named object: the label's prior parts, kept where the fitted geometry shows
    contact (a prior may add a part the photo does not contradict, never one it contradicts).

    Known label: vertices of the prior's parts keep their geometric score; seat labels need the
    seat support (a body standing on a bench is not sitting on it); a prior part with no
    geometric contact that the photo cannot see (the back, for a backpack or wall) is added at
    prior x prior_floor. Unknown label: the geometric contact without the floor's share.
    """
    names = {s["name"] for s in supports.found}
    if label_key is None:
        out = scores * SEMANTIC["unknown_scale"]
        if "seat" not in names:  # standing/kneeling: the floor explains the support, not the object
            out[supports.scores > 0] = 0.0
        return out
    prior = np.zeros(len(PARTS))
    for name, value in LABEL_PARTS[label_key].items():
        prior[PART_ID[name]] = value
    vertex_prior = prior[parts]
    out = np.where(vertex_prior > 0, scores, 0.0)
    if label_key in SEAT_LABELS and "seat" not in names:  # the photo contradicts sitting on it
        out[np.isin(parts, part_ids(("buttocks", "left_thigh", "right_thigh")))] = 0.0
    for part in ("back",):  # parts a photo from the front cannot contradict
        i = PART_ID[part]
        if prior[i] > 0 and not (out[parts == i] >= 0.5).any():
            out[parts == i] = np.maximum(out[parts == i], prior[i] * SEMANTIC["prior_floor"])
    return out


def _upright(vertices: np.ndarray, up: np.ndarray) -> np.ndarray:
    """The fitted body turned so gravity is -Z, standing on z = 0 (the canonical frame, metres)."""
    z = unit(up)
    x = np.array([1.0, 0.0, 0.0]) - z[0] * z
    x = unit(x)
    frame = np.stack([x, np.cross(z, x), z])
    out = vertices @ frame.T
    out[:, 2] -= out[:, 2].min()
    return out.astype(np.float32)


def create() -> DefaultLocalizer:
    return DefaultLocalizer()
