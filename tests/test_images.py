"""Photos in every mode Pillow opens, and oversized ones (backend/images.py): real files written here."""
from __future__ import annotations

import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from backend.images import MAX_PIXELS, ImageError, load_image


def _png(path: Path, width: int, height: int, bit_depth: int, colour_type: int, rows: bytes | None) -> Path:
    """A PNG written byte by byte (Pillow cannot write 16-bit colour); rows=None: all zero."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    channels = {0: 1, 2: 3, 4: 2, 6: 4}[colour_type]
    row_bytes = width * channels * bit_depth // 8
    if rows is None:
        compressor = zlib.compressobj(9)
        line = b"\0" * (row_bytes + 1)
        data = b"".join(compressor.compress(line) for _ in range(height)) + compressor.flush()
    else:
        data = zlib.compress(b"".join(b"\0" + rows[i * row_bytes:(i + 1) * row_bytes] for i in range(height)))
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, bit_depth,
                                                                       colour_type, 0, 0, 0))
                     + chunk(b"IDAT", data) + chunk(b"IEND", b""))
    return path


def _gradient16(shape=(48, 64)) -> np.ndarray:
    return np.linspace(0, 65535, shape[0] * shape[1]).reshape(shape).astype(np.uint16)


def test_16_bit_greyscale_keeps_its_brightness(tmp_path):
    grey = _gradient16()
    Image.fromarray(grey).save(tmp_path / "grey16.png")  # opens as I;16: convert("RGB") made it all white
    Image.fromarray(grey).save(tmp_path / "grey16.tif")
    expected = np.round(grey / 257.0).astype(np.uint8)
    for name in ("grey16.png", "grey16.tif"):
        rgb = load_image(tmp_path / name)
        assert rgb.dtype == np.uint8 and rgb.shape == (48, 64, 3)
        assert np.array_equal(rgb[..., 0], expected) and np.array_equal(rgb[..., 1], rgb[..., 2])


def test_16_bit_colour_and_grey_alpha_pngs(tmp_path):
    rgb16 = np.stack([_gradient16(), _gradient16()[::-1], np.full((48, 64), 32768, np.uint16)], 2)
    _png(tmp_path / "rgb16.png", 64, 48, 16, 2, rgb16.astype(">u2").tobytes())
    rgb = load_image(tmp_path / "rgb16.png")
    assert np.abs(rgb.astype(int) - np.round(rgb16 / 257.0)).max() <= 1
    grey_alpha = np.stack([_gradient16(), np.full((48, 64), 65535, np.uint16)], 2)
    _png(tmp_path / "la16.png", 64, 48, 16, 4, grey_alpha.astype(">u2").tobytes())
    assert np.abs(load_image(tmp_path / "la16.png")[..., 0].astype(int) - np.round(_gradient16() / 257.0)).max() <= 1


def test_float_and_32_bit_integer_images(tmp_path):
    unit = np.linspace(0, 1, 48 * 64, dtype=np.float32).reshape(48, 64)
    Image.fromarray(unit).save(tmp_path / "float.tif")
    assert np.abs(load_image(tmp_path / "float.tif")[..., 0].astype(int) - np.round(unit * 255)).max() <= 1
    Image.fromarray(_gradient16().astype(np.int32)).save(tmp_path / "int32.tif")  # 16-bit data in mode I
    assert np.abs(load_image(tmp_path / "int32.tif")[..., 0].astype(int) - np.round(_gradient16() / 257.0)).max() <= 1


@pytest.mark.parametrize("mode, suffix", [("1", "png"), ("L", "png"), ("LA", "png"), ("P", "png"),
                                          ("RGB", "webp"), ("RGBA", "png"), ("CMYK", "jpg"), ("CMYK", "tif"),
                                          ("YCbCr", "jpg"), ("LAB", "tif"), ("P", "gif"), ("RGB", "bmp")])
def test_8_bit_modes_match_pillows_own_conversion(tmp_path, mode, suffix):
    rng = np.random.default_rng(0)
    base = Image.fromarray(rng.integers(0, 256, (48, 64, 3), dtype=np.uint8))
    image = base.convert(mode)
    path = tmp_path / f"photo.{suffix}"
    image.save(path, **({"lossless": True} if suffix == "webp" else {}))
    with Image.open(path) as reopened:
        expected = np.asarray(reopened.convert("RGB"))
    rgb = load_image(path)
    assert rgb.shape == (48, 64, 3) and rgb.dtype == np.uint8 and np.array_equal(rgb, expected)


def test_an_oversized_png_is_refused_before_it_is_decoded(tmp_path):
    width, height = 10_000, 5_000  # 50 Mpx of zeros: a 50 KB file that inflates to 150 MB as RGB
    path = _png(tmp_path / "huge.png", width, height, 8, 0, None)
    assert path.stat().st_size < 200_000 and width * height > MAX_PIXELS
    with pytest.raises(ImageError, match="50 Mpx") as error:
        load_image(path)
    assert "smaller copy" in str(error.value)


def test_an_oversized_jpeg_is_decoded_reduced(tmp_path):
    width, height = 8_200, 5_000  # 41 Mpx: just above the limit, so Pillow's draft halves it
    Image.new("L", (width, height), 90).save(tmp_path / "big.jpg", quality=50)
    rgb = load_image(tmp_path / "big.jpg")
    assert rgb.shape == (height // 2, width // 2, 3) and abs(int(rgb.mean()) - 90) <= 2


def test_the_result_photo_copy_is_scaled_and_keeps_the_exif_orientation(tmp_path):
    """The estimate's `photo` (backend/images.py thumbnail): <= THUMBNAIL_PX a side, aspect kept, in the
    orientation the localizer saw (a portrait stored sideways with EXIF orientation 6 stands upright)."""
    from backend.images import THUMBNAIL_PX, thumbnail

    stored = np.zeros((300, 800, 3), np.uint8)  # landscape pixels, left half red
    stored[:, :400, 0] = 255
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to display
    Image.fromarray(stored).save(tmp_path / "portrait.jpg", exif=exif, quality=95)
    small = thumbnail(load_image(tmp_path / "portrait.jpg"))
    assert small.dtype == np.uint8 and small.shape == (THUMBNAIL_PX, round(300 * THUMBNAIL_PX / 800), 3)
    assert small[: THUMBNAIL_PX // 2 - 4, :, 0].min() > 200 and small[THUMBNAIL_PX // 2 + 4:, :, 0].max() < 50
    little = np.arange(20 * 30 * 3, dtype=np.uint8).reshape(20, 30, 3)
    np.testing.assert_array_equal(thumbnail(little), little)  # small photos as they are
