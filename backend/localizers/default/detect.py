"""Read a photo with MediaPipe's bundled CPU models: body pose (33 keypoints, image + metric world
coordinates, visibility, person mask) and hands (21 keypoints each, handedness).

mediapipe==0.10.21 ships these TFLite files inside its wheel (pose_landmark_full, pose_detection,
hand_landmark_lite/full, palm_detection_lite/full), so nothing is downloaded at run time. Only the
model complexities whose files are in the wheel are used (pose 1, hands 0).
"""
from __future__ import annotations

import os
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np

from backend.localizers.default.priors import DETECT

# MediaPipe pose keypoint indices (BlazePose topology) used by the cues.
NOSE, L_SHOULDER, R_SHOULDER, L_ELBOW, R_ELBOW, L_WRIST, R_WRIST = 0, 11, 12, 13, 14, 15, 16
L_HIP, R_HIP, L_KNEE, R_KNEE, L_ANKLE, R_ANKLE, L_HEEL, R_HEEL, L_TOE, R_TOE = 23, 24, 25, 26, 27, 28, 29, 30, 31, 32
# Body-core keypoints: shoulders, elbows, wrists, hips, knees, ankles.
_CORE = [L_SHOULDER, R_SHOULDER, L_ELBOW, R_ELBOW, L_WRIST, R_WRIST, L_HIP, R_HIP, L_KNEE, R_KNEE, L_ANKLE, R_ANKLE]
KEYPOINT_NAMES: dict[str, int] = {
    "nose": NOSE, "left_shoulder": L_SHOULDER, "right_shoulder": R_SHOULDER, "left_elbow": L_ELBOW,
    "right_elbow": R_ELBOW, "left_wrist": L_WRIST, "right_wrist": R_WRIST, "left_hip": L_HIP,
    "right_hip": R_HIP, "left_knee": L_KNEE, "right_knee": R_KNEE, "left_ankle": L_ANKLE,
    "right_ankle": R_ANKLE, "left_heel": L_HEEL, "right_heel": R_HEEL, "left_toe": L_TOE, "right_toe": R_TOE,
}
# The bones drawn between KEYPOINT_NAMES (BlazePose's connections among them), for the report's picture.
SKELETON: tuple[tuple[str, str], ...] = tuple(
    (f"{side}_{a}", f"{side}_{b}") for side in ("left", "right")
    for a, b in (("shoulder", "elbow"), ("elbow", "wrist"), ("shoulder", "hip"), ("hip", "knee"), ("knee", "ankle"),
                 ("ankle", "heel"), ("heel", "toe"), ("ankle", "toe"))
) + (("left_shoulder", "right_shoulder"), ("left_hip", "right_hip"))


class NoPersonFound(ValueError):
    """The photo shows no person the pose model can find (protocol error code no_person)."""

    code = "no_person"

    def __init__(self, message: str, hint: str) -> None:
        super().__init__(message)
        self.hint = hint


@dataclass
class Hand:
    side: str  # the person's own "left"/"right" by MediaPipe's handedness (flipped: see _hands); cues.py
    # matches hands to the pose wrists by position instead, which does not depend on this label
    score: float
    image: np.ndarray  # (21,3) x,y in pixels of the analysed image, z relative depth
    world: np.ndarray  # (21,3) metres, origin at the hand's centre


@dataclass
class Observation:
    rgb: np.ndarray  # (H,W,3) uint8, the analysed image (the photo, downscaled to DETECT["max_side"])
    image: np.ndarray  # (33,3) pose keypoints: x,y in pixels, z relative depth (pixels scale)
    visibility: np.ndarray  # (33,) in [0,1]
    world: np.ndarray  # (33,3) metres, hip-centred, MediaPipe axes: x right, y down, z away from the camera
    mask: np.ndarray | None  # (H,W) float32 person probability
    hands: list[Hand] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    confidence: float = 0.5  # the pose detection confidence at which the person was found
    stretched: bool = False  # found only in the contrast-stretched photo (then `rgb` is that photo)

    @property
    def size(self) -> tuple[int, int]:
        """(height, width) of the analysed image."""
        return int(self.rgb.shape[0]), int(self.rgb.shape[1])

    def detections(self) -> dict:
        """What was found in the photo, for the report (the add-on draws it over the photo).

        Coordinates are normalised to the photo: x = column / width, y = row / height, both in
        [0, 1], origin at the top-left corner (clipped: MediaPipe places keypoints slightly outside
        the frame). Boxes are [x0, y0, x1, y1].
        - person: `box`, the person mask's extent (mask >= 0.5) united with the seen keypoints'
          (a heel on the floor falls ~1% outside the mask), or the keypoints' alone without a mask;
          `box_from` ("mask" | "keypoints"); `confidence`, the pose detection confidence that found them;
          `contrast_stretched`, found only once the photo's contrast was stretched (stretched_contrast).
        - keypoints: name -> [x, y] of the seen KEYPOINT_NAMES (visibility >= DETECT["visible"]),
          the ones the pose fit trusts; skeleton: the [name, name] bones between them (SKELETON).
        - hands: one per hand the hand model found: `box` (its 21 landmarks' extent), `side` (the
          side of the nearest pose wrist, as the contact cues match hands), `score` (the hand model's).
        """
        height, width = self.size
        scale = np.array([width, height], np.float64)
        names = [n for n, i in KEYPOINT_NAMES.items() if self.visibility[i] >= DETECT["visible"]]
        points = np.clip(self.image[[KEYPOINT_NAMES[n] for n in names], :2] / scale, 0.0, 1.0).reshape(-1, 2)
        box, box_from = _extent(points), "keypoints"
        if self.mask is not None and (self.mask >= 0.5).any():
            on = self.mask >= 0.5
            rows, cols = np.flatnonzero(on.any(axis=1)), np.flatnonzero(on.any(axis=0))
            mask_box = np.array([cols[0] / width, rows[0] / height, (cols[-1] + 1) / width, (rows[-1] + 1) / height])
            box = mask_box if box is None else np.concatenate([np.minimum(box[:2], mask_box[:2]),
                                                               np.maximum(box[2:], mask_box[2:])])
            box_from = "mask"
        wrists = self.image[[L_WRIST, R_WRIST], :2]
        hands = [{"side": ("left", "right")[int(np.argmin(np.linalg.norm(wrists - hand.image[0, :2], axis=1)))],
                  "score": round(hand.score, 3),
                  "box": _rounded(_extent(np.clip(hand.image[:, :2] / scale, 0.0, 1.0)))} for hand in self.hands]
        return {"person": {"box": _rounded(box), "box_from": box_from, "confidence": self.confidence,
                           "contrast_stretched": self.stretched},
                "keypoints": {n: _rounded(p) for n, p in zip(names, points)},
                "skeleton": [list(bone) for bone in SKELETON if bone[0] in names and bone[1] in names],
                "hands": hands}


def _extent(points: np.ndarray) -> np.ndarray | None:
    """[x0, y0, x1, y1] of (P,2) points, None for none."""
    return np.concatenate([points.min(axis=0), points.max(axis=0)]) if len(points) else None


def _rounded(values: np.ndarray | None) -> list[float] | None:
    return None if values is None else [round(float(v), 4) for v in values]


def _quiet() -> None:
    """MediaPipe/TFLite log through glog/absl to stderr (never stdout); keep them to errors where the
    flags still apply (some C++ warnings are printed before absl reads its flags)."""
    os.environ.setdefault("GLOG_minloglevel", "2")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    try:
        from absl import logging as absl_logging

        absl_logging.set_verbosity(absl_logging.ERROR)
    except ImportError:
        pass


class Detector:
    """Pose + hands models, loaded once and reused for every photo (static-image mode)."""

    def __init__(self, retry: bool = True) -> None:
        _quiet()
        self.retry = retry  # False: one try at pose_min_confidence (the template localizer, as it was)
        from mediapipe.python.solutions import hands, pose

        self._pose_module = pose
        self._pose = pose.Pose(static_image_mode=True, model_complexity=1, enable_segmentation=True,
                               min_detection_confidence=DETECT["pose_min_confidence"])
        self._retries: dict[float, object] = {}  # lower-confidence pose models, made on first need
        self._hands = hands.Hands(static_image_mode=True, max_num_hands=2, model_complexity=0,
                                  min_detection_confidence=DETECT["hand_min_confidence"])

    def close(self) -> None:
        self._pose.close()
        self._hands.close()
        for retry in self._retries.values():
            retry.close()

    def _pose_at(self, confidence: float):
        if confidence == DETECT["pose_min_confidence"]:
            return self._pose
        if confidence not in self._retries:
            self._retries[confidence] = self._pose_module.Pose(
                static_image_mode=True, model_complexity=1, enable_segmentation=True,
                min_detection_confidence=confidence)
        return self._retries[confidence]

    def detect(self, image_rgb: np.ndarray) -> Observation:
        """Pose (retried at DETECT['pose_retry_confidences'], then on the contrast-stretched photo, before
        no_person) and hands; the observation's `confidence` and `stretched` say which try found the person."""
        image = _prepare(image_rgb)
        height, width = image.shape[:2]
        start = time.perf_counter()
        confidences = (DETECT["pose_min_confidence"], *(DETECT["pose_retry_confidences"] if self.retry else ()))
        stretched = False
        for photo in _photos_to_try(image, self.retry):
            for confidence in confidences:
                result = self._pose_at(confidence).process(photo)
                if result.pose_landmarks is not None:
                    break
            if result.pose_landmarks is not None:
                stretched, image = photo is not image, photo  # mask, hands and colours see what the pose saw
                break
        t_pose = time.perf_counter() - start
        if result.pose_landmarks is None:
            raise NoPersonFound("no person found in the photo",
                                "use a photo where the person's body (at least head, shoulders and hips) is visible")
        marks = result.pose_landmarks.landmark
        xyz = np.array([[m.x * width, m.y * height, m.z * width] for m in marks], dtype=np.float64)
        visibility = np.array([m.visibility for m in marks], dtype=np.float64)
        core = int((visibility[_CORE] >= DETECT["visible"]).sum())
        if core < DETECT["min_core_visible"]:
            raise NoPersonFound(f"no usable person found in the photo (only {core} of 12 body keypoints are visible)",
                                "use a photo that shows the person's body, not only a face or a hand")
        world = np.array([[m.x, m.y, m.z] for m in result.pose_world_landmarks.landmark], dtype=np.float64)
        mask = None if result.segmentation_mask is None else np.asarray(result.segmentation_mask, np.float32)
        start = time.perf_counter()
        hands = _hands(self._hands.process(image), width, height)
        t_hands = time.perf_counter() - start
        return Observation(rgb=image, image=xyz, visibility=visibility, world=world, mask=mask,
                           hands=hands, timings={"pose": t_pose, "hands": t_hands}, confidence=confidence,
                           stretched=stretched)


def _photos_to_try(image: np.ndarray, retry: bool) -> Iterator[np.ndarray]:
    """The photo, then (with `retry`) its contrast-stretched copy, made only when asked for."""
    yield image
    if retry:
        yield stretched_contrast(image)


def stretched_contrast(image: np.ndarray) -> np.ndarray:
    """(H,W,3) uint8 with each channel's 1st..99th percentile stretched to 0..255. MediaPipe's person detector
    misses a body whose colours are close to the background's (skin against a pink wall: dev seed 3017 #138,
    found at 0.5 once stretched); the stretch is tried only after every confidence failed on the photo."""
    low, high = np.percentile(image.reshape(-1, 3), [1.0, 99.0], axis=0)
    scale = 255.0 / np.maximum(high - low, 1.0)
    return np.clip((image.astype(np.float32) - low) * scale, 0, 255).astype(np.uint8)


def _prepare(image_rgb: np.ndarray) -> np.ndarray:
    """Contiguous uint8 RGB, downscaled so the longest side is at most DETECT['max_side'] pixels."""
    image = np.asarray(image_rgb)
    if image.ndim == 2:
        image = np.repeat(image[:, :, None], 3, axis=2)
    if image.ndim != 3 or image.shape[2] not in (3, 4):
        raise ValueError(f"the photo must be an (H,W,3) RGB array, got shape {image.shape}")
    image = image[:, :, :3]
    if image.dtype != np.uint8:
        image = np.clip(image, 0, 255).astype(np.uint8)
    longest = max(image.shape[:2])
    if longest > DETECT["max_side"]:
        from PIL import Image

        scale = DETECT["max_side"] / longest
        size = (max(1, round(image.shape[1] * scale)), max(1, round(image.shape[0] * scale)))
        image = np.asarray(Image.fromarray(image).resize(size, Image.BILINEAR))
    return np.ascontiguousarray(image)


def _hands(result, width: int, height: int) -> list[Hand]:
    if not result.multi_hand_landmarks:
        return []
    hands = []
    worlds = result.multi_hand_world_landmarks or [None] * len(result.multi_hand_landmarks)
    for marks, world, handed in zip(result.multi_hand_landmarks, worlds, result.multi_handedness):
        label = handed.classification[0]
        image = np.array([[m.x * width, m.y * height, m.z * width] for m in marks.landmark], dtype=np.float64)
        metric = np.zeros((21, 3)) if world is None else np.array([[m.x, m.y, m.z] for m in world.landmark])
        # MediaPipe Hands labels assume a mirrored (selfie) image; on a normal photo its "Left" is
        # the person's right hand. The side is re-decided from the pose wrists in cues.py anyway.
        side = "right" if label.label == "Left" else "left"
        hands.append(Hand(side=side, score=float(label.score), image=image, world=metric))
    return hands
