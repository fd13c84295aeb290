"""Opening photos safely: format checks, bomb limits, EXIF orientation.

Every image photogen reads goes through `open_photo`, so hostile files (decompression bombs,
truncated data, wrong extensions) fail here with a reason instead of deep inside a pipeline.
"""

from __future__ import annotations

import io
import warnings
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from photogen.errors import PhotogenError

try:  # HEIC/HEIF from phones; optional at import so a broken wheel only loses that format
    import pillow_heif

    pillow_heif.register_heif_opener()
except ImportError:  # pragma: no cover - pillow-heif is a declared dependency
    pillow_heif = None

SUPPORTED_FORMATS = {"JPEG", "PNG", "WEBP", "HEIF", "HEIC", "TIFF", "MPO"}
MAX_SIDE = 65_000


class UnreadablePhoto(PhotogenError):
    """A file that is not a photo photogen can read; the message is the reason shown to the user."""


def open_photo(source: Path | bytes, max_pixels: int) -> Image.Image:
    """Open an image header-first and check it before any pixel is decoded."""
    if isinstance(source, (bytes, bytearray)):
        if not source:
            raise UnreadablePhoto("empty file")
        fp: io.BytesIO | Path = io.BytesIO(source)
    else:
        if source.stat().st_size == 0:
            raise UnreadablePhoto("empty file")
        fp = source
    with warnings.catch_warnings():
        # Pillow only warns between 1x and 2x its limit; we treat any excess as a bomb
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            img = Image.open(fp)
        except UnidentifiedImageError as exc:
            raise UnreadablePhoto("not an image, or a format photogen does not support") from exc
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
            raise UnreadablePhoto("decompression bomb: too many pixels") from exc
        except (OSError, ValueError, SyntaxError) as exc:
            raise UnreadablePhoto(f"corrupt image header ({exc})") from exc
    fmt = (img.format or "").upper()
    if fmt not in SUPPORTED_FORMATS:
        raise UnreadablePhoto(f"unsupported format {fmt or 'unknown'}")
    width, height = img.size
    if width <= 0 or height <= 0 or width > MAX_SIDE or height > MAX_SIDE:
        raise UnreadablePhoto(f"absurd dimensions {width}x{height}")
    if width * height > max_pixels:
        raise UnreadablePhoto(f"decompression bomb: {width}x{height} exceeds the {max_pixels:,} pixel limit")
    return img


def decode(img: Image.Image, max_side: int | None = None) -> Image.Image:
    """Decode pixels (optionally at reduced size), apply EXIF orientation, return RGB."""
    try:
        if max_side is not None and img.format == "JPEG":
            # JPEG can decode at 1/2, 1/4, 1/8 scale directly: much faster for thumbnails
            img.draft("RGB", (max_side, max_side))
        img.load()
        img = ImageOps.exif_transpose(img) or img
        if getattr(img, "n_frames", 1) > 1:
            img.seek(0)
        if img.mode not in ("RGB",):
            img = _to_rgb(img)
        if max_side is not None:
            img.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
    except PhotogenError:
        raise
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError, EOFError) as exc:
        raise UnreadablePhoto(f"truncated or corrupt image data ({exc})") from exc
    return img


def _to_rgb(img: Image.Image) -> Image.Image:
    if img.mode in ("I;16", "I;16B", "I;16L", "I"):
        arr = np.asarray(img, dtype=np.float64)
        top = arr.max() or 1.0
        return Image.fromarray((arr * (255.0 / top)).clip(0, 255).astype(np.uint8)).convert("RGB")
    if img.mode in ("RGBA", "LA", "P", "PA"):
        rgba = img.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    return img.convert("RGB")


def load_rgb(source: Path | bytes, max_pixels: int, max_side: int | None = None) -> np.ndarray:
    """An oriented RGB uint8 array of a photo, ready for analysis."""
    return np.asarray(decode(open_photo(source, max_pixels), max_side))


def to_jpeg(img: Image.Image, quality: int = 85) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format="JPEG", quality=quality, optimize=False)
    return buf.getvalue()
