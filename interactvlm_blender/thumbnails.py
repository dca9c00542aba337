"""The pictures of a result the panel shows (the photo with the localizer's detections, then each view
mask) and one strip of them as pixels (the demo writes it beside preview.png), so both show the very
same images.

All are ours, tagged and named by naming.image_names and recorded in the result's record (results.py):
the mask images under `images` (results.write_mask_image), the photo with its detections under
`detection_image` (write_detection_image: the person box, the pose skeleton and each hand's box drawn
into the pixels of the result's `photo`, the backend's own copy of the photo at <= 384 px, so the
detections sit where the localizer saw them: EXIF orientation applied, no full-size decode on the main
thread). Only localizers that report `detections` (backend/PROTOCOL.md; the default one) get that
picture; Remove Results removes it with the masks; imported batch results get it from their sidecar.
Measured at 384 px on the 2-core machine: drawing 1.5 ms, the whole main-thread step (draw + image) 7 ms.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import bpy
import numpy as np

from . import naming, protocol, results

THUMB_PX = 128  # the strip's cell size; the panel scales icons itself
# Drawing colours (RGB, 0..1). Lines are LINE_FRACTION of the longest side thick (3 px at 384), so they
# survive the strip's nearest-neighbour scaling to THUMB_PX (every 3rd pixel kept).
PERSON_COLOUR = (1.0, 0.85, 0.1)
SKELETON_COLOUR = (0.1, 0.9, 1.0)
HAND_COLOURS = {"left": (0.3, 1.0, 0.3), "right": (1.0, 0.3, 0.8)}
LINE_FRACTION = 1 / 128


def mask_images(obj: bpy.types.Object, key: str = "") -> list[bpy.types.Image]:
    """Our mask images of result `key` on obj, in view order (the ones still present)."""
    entry = results.read_record(obj).get(key)
    names = entry.get("images", []) if isinstance(entry, dict) else []
    return [bpy.data.images[name] for name in names if name in bpy.data.images]


def detection_image(obj: bpy.types.Object, key: str = "") -> bpy.types.Image | None:
    """Our photo-with-detections image of result `key` on obj, None when it has none."""
    entry = results.read_record(obj).get(key)
    name = entry.get("detection_image") if isinstance(entry, dict) else None
    return bpy.data.images.get(name) if isinstance(name, str) else None


def result_images(obj: bpy.types.Object, key: str = "") -> list[bpy.types.Image]:
    """What the panel shows of a result, in order: the photo with its detections (where there is one),
    then the view masks."""
    first = detection_image(obj, key)
    return ([first] if first is not None else []) + mask_images(obj, key)


def photo_image(path: str) -> bpy.types.Image | None:
    """The photo file as an image datablock (loaded once; Blender reuses an image of the same path)."""
    full = bpy.path.abspath(path) if path else ""
    if not full or not Path(full).is_file():
        return None
    return bpy.data.images.load(full, check_existing=True)


def icon_id(image: bpy.types.Image) -> int:
    """The image's preview icon for template_icon (made on first use)."""
    image.preview_ensure()
    return image.preview.icon_id


def _draw_segments(pixels: np.ndarray, starts: np.ndarray, ends: np.ndarray, colour: tuple, width: int) -> None:
    """Draw (S,2) -> (S,2) segments (x, y normalised to the image, origin top-left) into (H,W,4) pixels
    (top row first) with a square brush `width` pixels wide: every segment sampled at one point per
    pixel of the longest one, all stamped at once."""
    if len(starts) == 0:
        return
    height, width_px = pixels.shape[:2]
    size = np.array([width_px, height], np.float64)
    a, b = np.asarray(starts, np.float64) * size, np.asarray(ends, np.float64) * size
    steps = int(np.ceil(np.abs(b - a).max())) + 1
    t = np.linspace(0.0, 1.0, steps)[None, :, None]
    points = (a[:, None] + (b - a)[:, None] * t).reshape(-1, 2)  # (S*steps, 2)
    offsets = np.arange(width) - (width - 1) / 2
    brush = np.stack(np.meshgrid(offsets, offsets), axis=-1).reshape(-1, 2)
    stamped = (points[:, None] + brush[None]).reshape(-1, 2)
    cols = np.clip(np.floor(stamped[:, 0]).astype(np.int64), 0, width_px - 1)
    rows = np.clip(np.floor(stamped[:, 1]).astype(np.int64), 0, height - 1)
    pixels[rows, cols, :3] = colour


def _box_edges(box: list[float]) -> tuple[np.ndarray, np.ndarray]:
    x0, y0, x1, y1 = box
    corners = np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]])
    return corners, np.roll(corners, -1, axis=0)


def draw_detections(pixels: np.ndarray, detections: dict[str, Any]) -> np.ndarray:
    """A copy of (H,W,4) pixels (top row first) with the person box, the skeleton (bones and keypoints)
    and the hands' boxes of protocol.read_detections drawn in."""
    out = np.array(pixels, np.float32, copy=True)
    width = max(2, round(max(out.shape[:2]) * LINE_FRACTION))
    _draw_segments(out, *_box_edges(detections["person"]["box"]), PERSON_COLOUR, width)
    points = detections["keypoints"]
    bones = detections["skeleton"]
    if bones:
        _draw_segments(out, np.array([points[a] for a, _ in bones]), np.array([points[b] for _, b in bones]),
                       SKELETON_COLOUR, width)
    if points:
        dots = np.array(list(points.values()))
        _draw_segments(out, dots, dots, (1.0, 1.0, 1.0), width + 2)  # a keypoint: a dot over its bones
    for hand in detections["hands"]:
        _draw_segments(out, *_box_edges(hand["box"]), HAND_COLOURS.get(hand["side"], PERSON_COLOUR), width)
    return out


def write_detection_image(obj: bpy.types.Object, key: str, photo: np.ndarray, detections: dict[str, Any]) -> str:
    """Our image of the photo with its detections drawn in (results.write_image, what =
    naming.DETECTIONS_IMAGE); `photo` is the result's (h,w,3) uint8 copy of it, top row first; not
    recorded (update_detection_image records it). Returns the image's name."""
    photo = np.asarray(photo)
    if photo.ndim != 3 or photo.shape[2] != 3 or min(photo.shape[:2]) == 0:
        raise ValueError(f"the result's photo has shape {photo.shape}, expected (h, w, 3)")
    pixels = np.ones((*photo.shape[:2], 4), np.float32)
    pixels[..., :3] = photo / np.float32(255.0)
    return results.write_image(obj, key, naming.DETECTIONS_IMAGE, draw_detections(pixels, detections)[::-1])


def result_detections(summary: dict[str, Any]) -> tuple[dict[str, Any] | None, list[str]]:
    """The detections of a result's summary (protocol.read_detections) and the notes for the report: a
    malformed one is left out, with a note, the result itself is still written."""
    try:
        return protocol.read_detections(summary), []
    except protocol.ResultError as error:
        return None, [f"the detection picture was left out: {error}"]


def update_detection_image(obj: bpy.types.Object, key: str, found: dict[str, Any] | None,
                           photo: np.ndarray | None) -> list[str]:
    """Write and record our photo-with-detections image of result `key` (found: result_detections;
    photo: the result npz's `photo`), or take an older one of ours away when this result has none (it
    would show another photo). Returns notes for the report."""
    name, notes = None, []
    if found is not None and photo is None:
        notes.append("the detection picture was left out: the result has no photo (update the backend)")
    elif found is not None:
        try:
            name = write_detection_image(obj, key, photo, found)
        except ValueError as error:
            notes.append(f"the detection picture was left out: {error}")
    if name is None:
        results.remove_image(obj, key, naming.DETECTIONS_IMAGE)
    results.record_detection_image(obj, key, name)
    return notes


def _cell(image: bpy.types.Image, size: int) -> np.ndarray:
    """(size,size,4) float32 pixels of the image fitted into a square cell (letterboxed, grey)."""
    width, height = image.size
    pixels = np.empty(width * height * 4, np.float32)
    image.pixels.foreach_get(pixels)
    pixels = pixels.reshape(height, width, 4)
    scale = size / max(width, height)
    h, w = max(1, round(height * scale)), max(1, round(width * scale))
    rows = np.minimum((np.arange(h) / scale).astype(np.int64), height - 1)  # nearest: masks stay crisp
    cols = np.minimum((np.arange(w) / scale).astype(np.int64), width - 1)
    cell = np.full((size, size, 4), (0.2, 0.2, 0.2, 1.0), np.float32)
    top, left = (size - h) // 2, (size - w) // 2
    cell[top:top + h, left:left + w] = pixels[rows][:, cols]
    return cell


def strip(images: list[bpy.types.Image], size: int = THUMB_PX) -> np.ndarray:
    """The images side by side, one square cell each, as (size, n*size, 4) pixels (bottom row first,
    as Blender stores them)."""
    if not images:
        raise ValueError("no images to put in the strip")
    return np.concatenate([_cell(image, size) for image in images], axis=1)
