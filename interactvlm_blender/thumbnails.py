"""The pictures of a result the panel shows (the photo and each view mask) and one strip of them as
pixels (the demo writes it beside preview.png), so both show the very same images.

The mask images are ours (results.write_mask_image, named in the record's `images`); the photo is
the panel's reference photo. Detections on the photo (person, hands) are not drawn yet: the result
carries no detection boxes (see issue 18).
"""
from __future__ import annotations

from pathlib import Path

import bpy
import numpy as np

from . import results

THUMB_PX = 128  # the strip's cell size; the panel scales icons itself


def mask_images(obj: bpy.types.Object, key: str = "") -> list[bpy.types.Image]:
    """Our mask images of result `key` on obj, in view order (the ones still present)."""
    entry = results.read_record(obj).get(key)
    names = entry.get("images", []) if isinstance(entry, dict) else []
    return [bpy.data.images[name] for name in names if name in bpy.data.images]


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
