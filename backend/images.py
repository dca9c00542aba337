"""Load a photo as uint8 RGB with Pillow; missing and unreadable files get clear errors."""
from __future__ import annotations

from pathlib import Path

import numpy as np

# Smaller photos carry too little for any localizer; larger ones are refused by Pillow's bomb check.
MIN_SIDE = 16


class ImageError(ValueError):
    """The file exists but is not a usable photo."""

    code = "bad_image"
    hint = "give a PNG or JPEG photo (RGB) that opens in an image viewer"


def load_image(path: str | Path) -> np.ndarray:
    """(H,W,3) uint8 RGB; EXIF orientation applied, alpha dropped, greyscale expanded."""
    from PIL import Image, ImageOps, UnidentifiedImageError

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"image {path} does not exist" + (" (it is a folder)" if path.is_dir() else ""))
    try:
        with Image.open(path) as image:
            image.load()  # decode now so truncated files fail here, not later
            image = ImageOps.exif_transpose(image)
            rgb = np.asarray(image.convert("RGB"), dtype=np.uint8)
    except UnidentifiedImageError as error:
        raise ImageError(f"{path} is not an image Pillow can read (corrupt or unsupported format)") from error
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as error:
        raise ImageError(f"{path} could not be decoded: {error}") from error
    if min(rgb.shape[:2]) < MIN_SIDE:
        raise ImageError(f"{path} is only {rgb.shape[1]}x{rgb.shape[0]} pixels; need at least {MIN_SIDE} per side")
    return rgb
