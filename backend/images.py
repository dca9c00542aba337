"""Load a photo as uint8 RGB with Pillow; missing, unreadable and oversized files get clear errors.

Every Pillow mode a photo file can open in ends as 8-bit RGB with its brightness kept: 16-bit greyscale
(PNG/TIFF open as I;16, which Pillow's convert("RGB") clips to white) is scaled by 255/65535, 32-bit integer
(I) by the bit depth its largest value needs (8, 16 or 32 bits), float (F) from [0, 1] (or [0, 255] when its
values exceed 1); palette, alpha, CMYK, YCbCr and LAB images go through Pillow's own conversion, alpha dropped.

Size: the header is read first. A photo of at most MAX_PIXELS reaches the localizer pixel for pixel (the
official model's preprocessing must see what the user gave). A larger JPEG is decoded already reduced
(Pillow's draft: by 2, 4 or 8, so the pixels are never all in memory); any other larger format is refused
before it is decoded. 40 Mpx (e.g. 7700x5200) is 120 MB as 8-bit RGB; the case it stops is a 0.54 MB PNG of
179 Mpx (just under Pillow's own bomb limit) that cost 3.6 GB to load.
"""
from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)

# Smaller photos carry too little for any localizer.
MIN_SIDE = 16
# Longest side of the photo copy in an estimate's result (`photo`): what the add-on draws the localizer's
# detections over, in the orientation the backend read (Blender ignores EXIF orientation), ~0.3 MB, and
# no full-size decode on Blender's main thread (a 12 Mpx JPEG costs ~0.4 s there).
THUMBNAIL_PX = 384
MAX_PIXELS = 40_000_000
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".bmp", ".tif", ".tiff", ".gif", ".avif")
FORMATS_TEXT = "PNG, JPEG, WebP, BMP, TIFF, GIF or AVIF (8- or 16-bit, greyscale, colour or palette; alpha ignored)"


class ImageError(ValueError):
    """The file exists but is not a usable photo."""

    code = "bad_image"
    hint = f"give a photo that opens in an image viewer: {FORMATS_TEXT}"


def _to_rgb8(image) -> np.ndarray:
    """(H,W,3) uint8 of any Pillow mode (see the module docstring for the scaling of each)."""
    mode = image.mode
    if mode.startswith("I;16") or mode in ("I", "F"):
        values = np.asarray(image).astype(np.float64)
        values = np.nan_to_num(values, nan=0.0, posinf=0.0, neginf=0.0).clip(min=0.0)
        top = float(values.max()) if values.size else 0.0
        if mode.startswith("I;16"):
            scale = 65535.0
        elif mode == "F":
            scale = 1.0 if top <= 1.0 else 255.0 if top <= 255.0 else top
        else:
            scale = next(float(2 ** bits - 1) for bits in (8, 16, 32, 64) if top <= 2 ** bits - 1)
        grey = np.round(values * (255.0 / scale)).clip(0, 255).astype(np.uint8)
        return np.repeat(grey[..., None], 3, axis=2)
    try:
        return np.asarray(image.convert("RGB"), dtype=np.uint8)
    except ValueError:  # a mode without a direct conversion (e.g. premultiplied La)
        return np.asarray(image.convert("RGBA").convert("RGB"), dtype=np.uint8)


def _fit_size(image, path: Path) -> None:
    """Refuse, or (JPEG) decode reduced, a photo above MAX_PIXELS; only the header has been read."""
    width, height = image.size
    if width * height <= MAX_PIXELS:
        return
    if image.format == "JPEG":
        factor = 1
        while factor < 8 and width * height / (factor * factor) > MAX_PIXELS:
            factor *= 2
        image.draft(image.mode, (width // factor, height // factor))
        if image.size[0] * image.size[1] <= MAX_PIXELS:
            log.info("%s is %dx%d: decoded at %dx%d (limit %d Mpx)", path, width, height, *image.size,
                     MAX_PIXELS // 1_000_000)
            return
    raise ImageError(f"{path} is {width}x{height} pixels ({width * height / 1e6:.0f} Mpx), more than the "
                     f"{MAX_PIXELS // 1_000_000} Mpx this backend decodes; save a smaller copy (e.g. 4000 px on the "
                     "long side) and use that")


def load_image(path: str | Path) -> np.ndarray:
    """(H,W,3) uint8 RGB; EXIF orientation applied, alpha dropped, greyscale expanded, high bit depths scaled."""
    from PIL import Image, ImageOps, UnidentifiedImageError

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"image {path} does not exist" + (" (it is a folder)" if path.is_dir() else ""))
    try:
        with Image.open(path) as image:  # reads the header only
            _fit_size(image, path)
            image.load()  # decode now so truncated files fail here, not later
            image = ImageOps.exif_transpose(image)
            rgb = _to_rgb8(image)
    except UnidentifiedImageError as error:
        raise ImageError(f"{path} is not an image Pillow can read (corrupt or unsupported format)") from error
    except ImageError:
        raise
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as error:
        raise ImageError(f"{path} could not be decoded: {error}") from error
    if min(rgb.shape[:2]) < MIN_SIDE:
        raise ImageError(f"{path} is only {rgb.shape[1]}x{rgb.shape[0]} pixels; need at least {MIN_SIDE} per side")
    return rgb


def thumbnail(rgb: np.ndarray, longest: int = THUMBNAIL_PX) -> np.ndarray:
    """(h,w,3) uint8: the photo scaled (area-averaged) so its longest side is at most `longest`."""
    height, width = rgb.shape[:2]
    scale = longest / max(height, width)
    if scale >= 1.0:
        return np.ascontiguousarray(rgb)
    from PIL import Image

    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    return np.asarray(Image.fromarray(rgb).resize(size, Image.BOX))
