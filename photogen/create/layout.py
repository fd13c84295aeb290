"""Laying out a page: fonts, auto-fitting text, smart crops and grids (print sizes are `print_page`).

Fonts: nothing is downloaded. The main faces are DejaVu Sans/Serif from `matplotlib` (found on
disk, never imported): Pillow's own scalable face (Aileron, `ImageFont.load_default(size=...)`,
Pillow >= 10.1) and the KaTeX faces inside `gradio` have no accented letters, so "Zoë" or "Joyeux
Noël" would print with boxes. KaTeX Main Italic (SIL OFL) is kept for italic titles when the text
is plain ASCII, and Aileron is the last resort when matplotlib is absent.
"""

from __future__ import annotations

import functools
import importlib.util
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from PIL import Image, ImageDraw, ImageFilter, ImageFont

from photogen.box import Box
from photogen.errors import PhotogenError

logger = logging.getLogger(__name__)

FontFamily = Literal["sans", "sans-bold", "serif", "serif-bold", "serif-italic"]
# a page area in the corner form Pillow draws, pastes and crops with (a subject in a picture is a `Box`)
Rect = tuple[int, int, int, int]  # x0, y0, x1, y1 (exclusive)

# --- fonts -------------------------------------------------------------------------------------

# Each family is a chain of faces from installed packages, best first; a text takes the first face
# that has all its glyphs. DejaVu (matplotlib) covers Latin, Greek and Cyrillic with accents, which
# names on cards need ("Zoë", "José"); KaTeX (gradio) and Pillow's Aileron cover ASCII only.
_FONT_CHAINS: dict[str, tuple[tuple[str, str], ...]] = {
    "sans": (("matplotlib", "DejaVuSans.ttf"),),
    "sans-bold": (("matplotlib", "DejaVuSans-Bold.ttf"),),
    "serif": (("matplotlib", "DejaVuSerif.ttf"), ("gradio", "KaTeX_Main-Regular")),
    "serif-bold": (("matplotlib", "DejaVuSerif-Bold.ttf"), ("gradio", "KaTeX_Main-Bold")),
    "serif-italic": (("gradio", "KaTeX_Main-Italic"), ("matplotlib", "DejaVuSerif-Italic.ttf")),
}


def _package_dirs(package: str) -> list[str]:
    # find_spec locates a package without importing it (importing matplotlib costs ~0.5 s)
    spec = importlib.util.find_spec(package)
    return list(spec.submodule_search_locations or []) if spec else []


@functools.lru_cache(maxsize=32)
def font_files(family: FontFamily) -> tuple[Path, ...]:
    """The TTFs installed for `family`, best first; empty means only Pillow's built-in face."""
    found: list[Path] = []
    for package, name in _FONT_CHAINS.get(family, ()):
        for root in _package_dirs(package):
            if package == "matplotlib":
                candidate = Path(root, "mpl-data", "fonts", "ttf", name)
                if candidate.is_file():
                    found.append(candidate)
            else:
                # gradio ships hashed copies (KaTeX_Main-Regular-<hash>.ttf); any one will do
                found.extend(sorted(Path(root, "templates").glob(f"**/{name}[-.]*.ttf"))[:1])
    return tuple(found)


@functools.lru_cache(maxsize=512)
def _load(path: Path | None, size: int) -> ImageFont.FreeTypeFont:
    if path is not None:
        try:
            return ImageFont.truetype(str(path), size)
        except OSError:
            logger.warning("font %s unreadable; using Pillow's built-in face", path)
    font = ImageFont.load_default(size=size)
    if not isinstance(font, ImageFont.FreeTypeFont):  # Pillow built without FreeType: bitmap only
        raise PhotogenError("This Pillow was built without FreeType, so text cannot be drawn. Reinstall Pillow from PyPI.")
    return font


def covers(font: ImageFont.FreeTypeFont, text: str) -> bool:
    """Whether `font` has a real glyph for every visible character of `text`."""
    notdef = bytes(font.getmask("\uffff"))  # a noncharacter: every font draws it as .notdef
    return all(ch.isspace() or bytes(font.getmask(ch)) != notdef for ch in set(text))


def load_font(family: FontFamily, size: int, text: str = "") -> ImageFont.FreeTypeFont:
    """A face of `family` at `size` px that can draw `text`: the family's chain, then any sans,
    then Pillow's built-in face (which may show boxes for letters it lacks)."""
    chain = [*font_files(family), *font_files("sans"), None]
    for path in chain:
        font = _load(path, size)
        if not text or covers(font, text):
            return font
    logger.warning("no installed font covers %r; some letters will show as boxes", text)
    return _load(chain[0], size)


# --- text fitting ------------------------------------------------------------------------------


@dataclass(frozen=True)
class FittedText:
    lines: tuple[str, ...]
    font: ImageFont.FreeTypeFont
    size: int
    line_height: int
    block: tuple[int, int]  # width, height of the whole block


def _wrap(text: str, font: ImageFont.FreeTypeFont, max_width: int) -> list[str] | None:
    """Greedy word wrap; None when one word alone is wider than the box."""
    lines: list[str] = []
    for paragraph in text.splitlines() or [""]:
        words = paragraph.split()
        current = ""
        for word in words:
            trial = f"{current} {word}".strip()
            if font.getlength(trial) <= max_width:
                current = trial
                continue
            if not current or font.getlength(word) > max_width:
                return None
            lines.append(current)
            current = word
        lines.append(current)
    return lines


def fit_text(text: str, box: tuple[int, int], family: FontFamily, *, max_size: int, min_size: int = 12, line_spacing: float = 1.2) -> FittedText:
    """The largest font size (binary search) at which `text`, word-wrapped, fits in `box` (w, h)."""
    width, height = box
    if width <= 0 or height <= 0:
        raise PhotogenError("The text box is empty; choose a layout with room for text.")
    best: FittedText | None = None
    lo, hi = min_size, max(min_size, max_size)
    while lo <= hi:
        size = (lo + hi) // 2
        font = load_font(family, size, text)
        lines = _wrap(text, font, width)
        line_height = round(size * line_spacing)
        if lines is not None and line_height * len(lines) <= height:
            block_w = max((round(font.getlength(line)) for line in lines), default=0)
            best = FittedText(tuple(lines), font, size, line_height, (block_w, line_height * len(lines)))
            lo = size + 1
        else:
            hi = size - 1
    if best is None:
        raise PhotogenError(
            f"The text does not fit its box even at {min_size} px ({len(text)} characters). Shorten it or split it into the title and the message."
        )
    return best


def draw_text(
    image: Image.Image,
    text: str,
    rect: Rect,
    *,
    family: FontFamily = "sans",
    color: tuple[int, int, int] = (40, 40, 40),
    max_size: int = 200,
    min_size: int = 12,
    align: Literal["left", "center", "right"] = "center",
    valign: Literal["top", "middle", "bottom"] = "middle",
) -> Rect | None:
    """Draw `text` auto-fitted into `rect`; returns the rectangle the text occupies (None if empty)."""
    if not text.strip():
        return None
    x0, y0, x1, y1 = rect
    fitted = fit_text(text, (x1 - x0, y1 - y0), family, max_size=max_size, min_size=min_size)
    draw = ImageDraw.Draw(image)
    block_h = fitted.block[1]
    top = {"top": y0, "middle": y0 + (y1 - y0 - block_h) // 2, "bottom": y1 - block_h}[valign]
    for i, line in enumerate(fitted.lines):
        line_w = round(fitted.font.getlength(line))
        left = {"left": x0, "center": x0 + (x1 - x0 - line_w) // 2, "right": x1 - line_w}[align]
        # anchor "ls" (left, baseline) keeps lines evenly spaced whatever their ascenders
        baseline = top + i * fitted.line_height + round(fitted.size * 0.9)
        draw.text((left, baseline), line, font=fitted.font, fill=color, anchor="ls")
    bx0 = x0 + (x1 - x0 - fitted.block[0]) // 2 if align == "center" else x0
    return (bx0, top, bx0 + fitted.block[0], top + block_h)


# --- crops -------------------------------------------------------------------------------------


def cover(image: Image.Image, size: tuple[int, int]) -> Image.Image:
    """Scale to fill `size`, cropping the overflow evenly (CSS object-fit: cover)."""
    scale = max(size[0] / image.width, size[1] / image.height)
    new = (max(size[0], round(image.width * scale)), max(size[1], round(image.height * scale)))
    resized = image.resize(new, Image.LANCZOS)
    left, top = (new[0] - size[0]) // 2, (new[1] - size[1]) // 2
    return resized.crop((left, top, left + size[0], top + size[1]))


def contain(image: Image.Image, size: tuple[int, int]) -> Image.Image:
    """Scale to fit inside `size` without cropping (object-fit: contain)."""
    scale = min(size[0] / image.width, size[1] / image.height)
    return image.resize((max(1, round(image.width * scale)), max(1, round(image.height * scale))), Image.LANCZOS)


@dataclass(frozen=True)
class SafeInsets:
    """Fractions of the output's width/height that platform UI covers (or that cropping may eat)."""

    left: float
    top: float
    right: float
    bottom: float

    def rect(self, size: tuple[int, int]) -> Rect:
        w, h = size
        return (round(w * self.left), round(h * self.top), w - round(w * self.right), h - round(h * self.bottom))


def smart_crop(image_size: tuple[int, int], out_size: tuple[int, int], subject: Box | None, safe: SafeInsets) -> tuple[float, float, float, float]:
    """The crop (x0, y0, x1, y1, in source pixels, may reach past the image) of aspect `out_size`
    that keeps as much of the image as it can while `subject` lands inside the safe area.

    When the subject is too big for the safe area of the largest crop inside the image, the crop
    grows past the image's edges; the caller fills that margin (see `render_crop`).
    """
    width, height = image_size
    aspect = out_size[0] / out_size[1]
    max_w = min(width, height * aspect)
    if subject is None:
        cw = max_w
        return ((width - cw) / 2, (height - cw / aspect) / 2, (width + cw) / 2, (height + cw / aspect) / 2)
    sx, sy, sw, sh = subject
    frac_w, frac_h = 1 - safe.left - safe.right, 1 - safe.top - safe.bottom
    min_w = max(sw / frac_w, sh * aspect / frac_h)
    cw = max(max_w, min_w)
    ch = cw / aspect

    def place(length: float, lo_frac: float, hi_frac: float, s0: float, s1: float, limit: float) -> float:
        # where the crop may start so that [s0, s1] stays inside its safe band
        lo = s1 - (1 - hi_frac) * length
        hi = s0 - lo_frac * length
        # the subject centered in the safe band, then pulled inside the image where possible
        center = (s0 + s1) / 2 - (lo_frac + (1 - lo_frac - hi_frac) / 2) * length
        pos = min(max(center, lo), hi)
        if length <= limit:
            pos = min(max(pos, 0.0), limit - length)
            pos = min(max(pos, lo), hi)
        return pos

    x0 = place(cw, safe.left, safe.right, sx, sx + sw, width)
    y0 = place(ch, safe.top, safe.bottom, sy, sy + sh, height)
    return (x0, y0, x0 + cw, y0 + ch)


def render_crop(image: Image.Image, crop: tuple[float, float, float, float], out_size: tuple[int, int]) -> Image.Image:
    """Cut `crop` out of `image` at `out_size`; any part outside the image is a blurred fill."""
    x0, y0, x1, y1 = crop
    rgb = image.convert("RGB")
    inside = x0 >= -0.5 and y0 >= -0.5 and x1 <= image.width + 0.5 and y1 <= image.height + 0.5
    scaled = rgb.resize(out_size, Image.LANCZOS, box=(max(0.0, x0), max(0.0, y0), min(image.width, x1), min(image.height, y1)))
    if inside:
        return scaled
    sx, sy = out_size[0] / (x1 - x0), out_size[1] / (y1 - y0)
    fill = cover(rgb, out_size).filter(ImageFilter.GaussianBlur(max(out_size) / 30))
    part_w, part_h = round(image.width * sx), round(image.height * sy)
    part = rgb.resize((part_w, part_h), Image.LANCZOS)
    fill.paste(part, (round(-x0 * sx), round(-y0 * sy)))
    return fill


def grid_cells(count: int, rect: Rect, gap: int) -> list[Rect]:
    """`count` cells filling `rect` in the most even grid (rows x cols closest to the rect's shape)."""
    if count <= 0:
        return []
    x0, y0, x1, y1 = rect
    width, height = x1 - x0, y1 - y0
    best: tuple[float, int, int] | None = None
    for cols in range(1, count + 1):
        rows = -(-count // cols)
        cw, ch = (width - gap * (cols - 1)) / cols, (height - gap * (rows - 1)) / rows
        if cw <= 0 or ch <= 0:
            continue
        # prefer cells near 4:3 (most photos) and no empty cells
        score = abs((cw / ch) - 4 / 3) + (rows * cols - count) * 0.5
        if best is None or score < best[0]:
            best = (score, rows, cols)
    if best is None:
        raise PhotogenError(f"{count} photos do not fit on one page; use fewer photos per page.")
    _, rows, cols = best
    cw, ch = (width - gap * (cols - 1)) / cols, (height - gap * (rows - 1)) / rows
    cells: list[Rect] = []
    for i in range(count):
        r, c = divmod(i, cols)
        # center a short last row
        in_row = min(cols, count - r * cols)
        offset = (cols - in_row) * (cw + gap) / 2
        cx = x0 + offset + c * (cw + gap)
        cy = y0 + r * (ch + gap)
        cells.append((round(cx), round(cy), round(cx + cw), round(cy + ch)))
    return cells


def ensure_boxes_inside(boxes: Sequence[Box], size: tuple[int, int]) -> None:
    for x, y, w, h in boxes:
        if w <= 0 or h <= 0 or x < 0 or y < 0 or x + w > size[0] or y + h > size[1]:
            raise PhotogenError(f"The subject box {(x, y, w, h)} is outside the {size[0]}x{size[1]} image; pass a box inside it.")
