"""Templates: greeting cards, album pages and social posts, composed from an image and the user's words.

Every template is plain data (`list_templates()`), addressed by an id the CLI takes as it is:
`card:birthday`, `post:4x5`, `album-page`. Rendering takes images that are already made (generated,
restyled or straight from the library) and returns a new RGB image with its DPI set; saving with
provenance is `photogen.create.provenance.save_output`.
"""

from __future__ import annotations

import logging
import math
import random
import zlib
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any, Literal

from PIL import Image, ImageDraw, ImageFilter

from photogen.box import Box
from photogen.create.layout import (
    FontFamily,
    Rect,
    SafeInsets,
    contain,
    cover,
    draw_text,
    ensure_boxes_inside,
    grid_cells,
    render_crop,
    smart_crop,
)
from photogen.create.print_page import ALBUM_8X8, CARD_5X7, PrintSpec
from photogen.errors import PhotogenError

logger = logging.getLogger(__name__)

RGB = tuple[int, int, int]
Decoration = Literal["none", "confetti", "snow", "hearts", "dots", "frame"]


@dataclass(frozen=True)
class CardTheme:
    name: str
    label: str
    description: str
    default_title: str
    default_message: str
    paper: RGB  # background of the text panel; never pure white so the watermark has room to breathe
    title_color: RGB
    text_color: RGB
    accent: tuple[RGB, ...]
    title_family: FontFamily
    decoration: Decoration


CARD_THEMES: tuple[CardTheme, ...] = (
    CardTheme("birthday", "Birthday", "Bright confetti and a big hello.", "Happy Birthday!", "Wishing you a wonderful year ahead.",
              (255, 250, 240), (214, 69, 65), (60, 50, 50), ((244, 180, 0), (219, 68, 55), (66, 133, 244), (15, 157, 88)), "serif-bold", "confetti"),
    CardTheme("holidays", "Holidays", "Deep green and red with falling snow.", "Season's Greetings", "Warm wishes for the holidays and a happy new year.",
              (244, 248, 244), (156, 28, 38), (30, 60, 40), ((200, 210, 220), (255, 255, 255), (190, 200, 215)), "serif-bold", "snow"),
    CardTheme("thank-you", "Thank you", "Quiet sage and an italic title.", "Thank You", "For everything. It meant so much.",
              (246, 248, 242), (86, 115, 84), (60, 66, 58), ((186, 204, 176), (160, 186, 150)), "serif-italic", "dots"),
    CardTheme("wedding", "Wedding", "Ivory and gold with a fine frame.", "Just Married", "With love on your wedding day.",
              (253, 250, 243), (160, 126, 60), (80, 70, 55), ((201, 168, 96),), "serif-italic", "frame"),
    CardTheme("new-baby", "New baby", "Soft pastels and little hearts.", "Welcome, Little One", "So happy to meet you.",
              (248, 250, 255), (104, 140, 196), (70, 80, 100), ((244, 187, 204), (180, 210, 240), (250, 225, 160)), "serif", "hearts"),
    CardTheme("blank", "Blank", "Just the picture and your words.", "", "",
              (252, 252, 250), (40, 40, 40), (60, 60, 60), ((200, 200, 200),), "serif", "none"),
)


@dataclass(frozen=True)
class SocialFormat:
    name: str  # "4x5": the CLI spelling
    label: str  # "4:5"
    size: tuple[int, int]
    safe: SafeInsets
    description: str


# Safe areas: where platform chrome (names, buttons, captions) sits or where feeds crop previews.
# 9:16 stories keep the top 14% and bottom 20% clear; the rest keep a 6% margin.
SOCIAL_FORMATS: tuple[SocialFormat, ...] = (
    SocialFormat("1x1", "1:1", (1080, 1080), SafeInsets(0.06, 0.06, 0.06, 0.06), "Square feed post."),
    SocialFormat("4x5", "4:5", (1080, 1350), SafeInsets(0.06, 0.06, 0.06, 0.06), "Portrait feed post, the tallest most feeds show."),
    SocialFormat("9x16", "9:16", (1080, 1920), SafeInsets(0.06, 0.14, 0.06, 0.20), "Story or reel, full screen on a phone."),
    SocialFormat("16x9", "16:9", (1920, 1080), SafeInsets(0.05, 0.05, 0.05, 0.05), "Landscape: video thumbnails, banners, TVs."),
)


@dataclass(frozen=True)
class TemplateInfo:
    id: str
    kind: Literal["card", "post", "album-page"]
    label: str
    description: str
    size_px: tuple[int, int]
    dpi: int
    print_size_in: tuple[float, float] | None
    exports: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def list_templates() -> list[dict[str, Any]]:
    """Every template as plain data, for `photogen templates list --json` and the UI's picker."""
    out: list[TemplateInfo] = []
    for theme in CARD_THEMES:
        out.append(TemplateInfo(f"card:{theme.name}", "card", f"{theme.label} card", f"5x7 in greeting card. {theme.description}",
                                CARD_5X7.page_px, CARD_5X7.dpi, (CARD_5X7.width_in, CARD_5X7.height_in), ("png", "pdf", "jpeg")))
    for fmt in SOCIAL_FORMATS:
        out.append(TemplateInfo(f"post:{fmt.name}", "post", f"Social post {fmt.label}", fmt.description, fmt.size, 72, None, ("jpeg", "png")))
    out.append(TemplateInfo("album-page", "album-page", "Album page", "8x8 in page: several photos, untouched, on a background or theme color.",
                            ALBUM_8X8.page_px, ALBUM_8X8.dpi, (ALBUM_8X8.width_in, ALBUM_8X8.height_in), ("png", "pdf", "jpeg")))
    return [t.to_dict() for t in out]


@dataclass(frozen=True)
class TemplateRef:
    kind: Literal["card", "post", "album-page"]
    name: str  # theme or format name; "" for the album page


def parse_template_id(template_id: str) -> TemplateRef:
    """`card:birthday`, `post:4x5` (also `post:4:5`), `album-page` -> a reference; errors list the choices."""
    raw = template_id.strip().lower()
    kind, _, name = raw.partition(":")
    if kind == "card":
        name = name.replace("_", "-").replace(" ", "-") or "blank"
        if name in {t.name for t in CARD_THEMES}:
            return TemplateRef("card", name)
    elif kind == "post":
        name = name.replace(":", "x")
        if name in {f.name for f in SOCIAL_FORMATS}:
            return TemplateRef("post", name)
    elif raw in ("album-page", "album", "album_page"):
        return TemplateRef("album-page", "")
    choices = ", ".join(t["id"] for t in list_templates())
    raise PhotogenError(f"Unknown template {template_id!r}. Choose one of: {choices}.")


def get_card_theme(name: str) -> CardTheme:
    for theme in CARD_THEMES:
        if theme.name == name:
            return theme
    raise PhotogenError(f"Unknown card {name!r}. Choose one of: {', '.join(t.name for t in CARD_THEMES)}.")


def get_social_format(name: str) -> SocialFormat:
    key = name.strip().lower().replace(":", "x")
    for fmt in SOCIAL_FORMATS:
        if fmt.name == key:
            return fmt
    raise PhotogenError(f"Unknown post format {name!r}. Choose one of: {', '.join(f.label for f in SOCIAL_FORMATS)}.")


# --- cards -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CardLayout:
    """Where things went, in page pixels: for tests, previews and the UI's overlays."""

    page: tuple[int, int]
    photo_rect: Rect
    title_rect: Rect
    message_rect: Rect
    trim_rect: Rect
    safe_rect: Rect


def card_layout(spec: PrintSpec = CARD_5X7) -> CardLayout:
    w, h = spec.page_px
    sx0, sy0, sx1, sy1 = spec.safe_rect
    # the photo runs off the top and sides (into the bleed); text sits in the lower panel
    photo_bottom = round(h * 0.60)
    pad = round(spec.dpi * 0.15)
    title_rect = (sx0 + pad, photo_bottom + pad, sx1 - pad, photo_bottom + pad + round((sy1 - photo_bottom) * 0.42))
    message_rect = (sx0 + pad, title_rect[3] + pad // 2, sx1 - pad, sy1 - pad)
    return CardLayout((w, h), (0, 0, w, photo_bottom), title_rect, message_rect, spec.trim_rect, spec.safe_rect)


def _decorate(page: Image.Image, theme: CardTheme, panel: Rect, avoid: Sequence[Rect], seed: int) -> None:
    """Theme ornaments drawn in the text panel's margins, never over the text boxes."""
    if theme.decoration == "none":
        return
    draw = ImageDraw.Draw(page)
    x0, y0, x1, y1 = panel
    if theme.decoration == "frame":
        inset = round((x1 - x0) * 0.03)
        for k, width in ((0, 6), (18, 2)):
            draw.rectangle((x0 + inset + k, y0 + inset + k, x1 - inset - k, y1 - inset - k), outline=theme.accent[0], width=width)
        return
    rng = random.Random(seed)  # the same card renders the same every time
    unit = max(6, (x1 - x0) // 90)
    placed = 0
    for _ in range(2000):
        if placed >= 70:
            break
        cx, cy = rng.randint(x0, x1), rng.randint(y0, y1)
        r = rng.randint(unit, unit * 2)
        if any(ax0 - 2 * r < cx < ax1 + 2 * r and ay0 - 2 * r < cy < ay1 + 2 * r for ax0, ay0, ax1, ay1 in avoid):
            continue
        color = rng.choice(theme.accent)
        if theme.decoration == "confetti":
            angle = rng.uniform(0, 3.14)
            dx, dy = r * 1.6 * abs(math.cos(angle)) + 3, r * 0.6 + 2
            draw.rectangle((cx - dx / 2, cy - dy / 2, cx + dx / 2, cy + dy / 2), fill=color)
        elif theme.decoration == "snow":
            draw.ellipse((cx - r / 2, cy - r / 2, cx + r / 2, cy + r / 2), fill=color)
        elif theme.decoration == "hearts":
            s = r
            draw.ellipse((cx - s, cy - s, cx, cy), fill=color)
            draw.ellipse((cx, cy - s, cx + s, cy), fill=color)
            draw.polygon([(cx - s, cy - s / 2), (cx + s, cy - s / 2), (cx, cy + s)], fill=color)
        else:
            draw.ellipse((cx - r / 3, cy - r / 3, cx + r / 3, cy + r / 3), fill=color)
        placed += 1


def render_card(
    image: Image.Image,
    template: str = "blank",
    *,
    title: str | None = None,
    message: str | None = None,
    subject_box: Box | None = None,
    spec: PrintSpec = CARD_5X7,
) -> Image.Image:
    """A print-ready card page (bleed included, DPI set): the image on top, title and message below.

    `template` is a theme name ("birthday") or a full id ("card:birthday"). `title`/`message` None
    take the theme's defaults; "" leaves them out. `subject_box` (x, y, w, h in `image`) is kept in
    the photo area when the image is cropped to fit.
    """
    # 1. Check inputs
    name = parse_template_id(template).name if template.startswith("card:") else template
    theme = get_card_theme(name)
    title = theme.default_title if title is None else title
    message = theme.default_message if message is None else message
    if subject_box is not None:
        ensure_boxes_inside([subject_box], image.size)
    layout = card_layout(spec)

    # 2. Paper and photo
    page = Image.new("RGB", layout.page, theme.paper)
    px0, py0, px1, py1 = layout.photo_rect
    photo_size = (px1 - px0, py1 - py0)
    # keep the subject clear of the bleed that will be cut off: 8% insets cover bleed + a margin
    crop = smart_crop(image.size, photo_size, subject_box, SafeInsets(0.08, 0.08, 0.08, 0.08))
    page.paste(render_crop(image, crop, photo_size), (px0, py0))

    # 3. Ornaments, then text on top
    panel = (layout.trim_rect[0], py1, layout.trim_rect[2], layout.trim_rect[3])
    _decorate(page, theme, panel, [layout.title_rect, layout.message_rect], seed=zlib.crc32(theme.name.encode()))
    draw_text(page, title, layout.title_rect, family=theme.title_family, color=theme.title_color, max_size=round(spec.dpi * 0.6), min_size=24)
    draw_text(page, message, layout.message_rect, family="serif", color=theme.text_color, max_size=round(spec.dpi * 0.28), min_size=18, valign="top")
    page.info["dpi"] = (spec.dpi, spec.dpi)
    logger.info("card %s rendered at %dx%d px", theme.name, *layout.page)
    return page


# --- album pages -------------------------------------------------------------------------------


@dataclass(frozen=True)
class AlbumPage:
    image: Image.Image
    photo_rects: tuple[Rect, ...]  # where each photo landed, unaltered except for scale


def render_album_page(
    photos: Sequence[Image.Image],
    *,
    background: Image.Image | RGB = (246, 242, 234),
    title: str = "",
    spec: PrintSpec = ALBUM_8X8,
    mat: bool = True,
) -> AlbumPage:
    """Several photos on one page over a background picture (e.g. a generated scene) or a color.

    Photos are scaled to fit their cells, never cropped, restyled or regenerated: the people in them
    stay exactly as they were.
    """
    # 1. Check inputs
    if not photos:
        raise PhotogenError("An album page needs at least one photo: pass one or more with --photo.")
    if len(photos) > 12:
        raise PhotogenError(f"{len(photos)} photos are too many for one page; use at most 12 and make more pages.")
    w, h = spec.page_px

    # 2. Background
    if isinstance(background, Image.Image):
        page = cover(background.convert("RGB"), (w, h))
    else:
        page = Image.new("RGB", (w, h), background)

    # 3. Title band, then the grid of photos
    sx0, sy0, sx1, sy1 = spec.safe_rect
    top = sy0
    if title.strip():
        band = (sx0, sy0, sx1, sy0 + round((sy1 - sy0) * 0.1))
        plate = Image.new("RGBA", page.size, (0, 0, 0, 0))
        ImageDraw.Draw(plate).rounded_rectangle(band, radius=24, fill=(255, 255, 255, 200))
        page = Image.alpha_composite(page.convert("RGBA"), plate).convert("RGB")
        draw_text(page, title, (band[0] + 24, band[1] + 8, band[2] - 24, band[3] - 8), family="serif-bold", max_size=160, min_size=20)
        top = band[3] + round(spec.dpi * 0.15)
    gap = round(spec.dpi * 0.15)
    rects: list[Rect] = []
    for photo, (cx0, cy0, cx1, cy1) in zip(photos, grid_cells(len(photos), (sx0, top, sx1, sy1), gap), strict=True):
        border = round(spec.dpi * 0.06) if mat else 0
        fitted = contain(photo.convert("RGB"), (cx1 - cx0 - 2 * border, cy1 - cy0 - 2 * border))
        x = cx0 + (cx1 - cx0 - fitted.width) // 2
        y = cy0 + (cy1 - cy0 - fitted.height) // 2
        if mat:
            # a soft shadow and a white mat, like a print laid on the page
            shadow = Image.new("L", page.size, 0)
            ImageDraw.Draw(shadow).rectangle((x - border + 10, y - border + 14, x + fitted.width + border + 10, y + fitted.height + border + 14), fill=110)
            shadow = shadow.filter(ImageFilter.GaussianBlur(14))
            page.paste((0, 0, 0), (0, 0), shadow)
            ImageDraw.Draw(page).rectangle((x - border, y - border, x + fitted.width + border - 1, y + fitted.height + border - 1), fill=(255, 255, 255))
        page.paste(fitted, (x, y))
        rects.append((x, y, x + fitted.width, y + fitted.height))
    page.info["dpi"] = (spec.dpi, spec.dpi)
    return AlbumPage(page, tuple(rects))


# --- social posts ------------------------------------------------------------------------------


@dataclass(frozen=True)
class SocialPost:
    image: Image.Image
    format: str
    crop: tuple[float, float, float, float]  # in source pixels; may reach past the source's edges
    subject_rect: Rect | None  # where the subject landed in the post
    safe_rect: Rect


def render_social_post(image: Image.Image, fmt: str = "4x5", *, subject_box: Box | None = None) -> SocialPost:
    """Reframe `image` for a social format, the subject box inside the format's safe area."""
    social = get_social_format(fmt.removeprefix("post:"))
    if subject_box is not None:
        ensure_boxes_inside([subject_box], image.size)
    crop = smart_crop(image.size, social.size, subject_box, social.safe)
    out = render_crop(image, crop, social.size)
    out.info["dpi"] = (72, 72)
    subject_rect: Rect | None = None
    if subject_box is not None:
        scale = social.size[0] / (crop[2] - crop[0])
        x, y, w, h = subject_box
        subject_rect = (
            round((x - crop[0]) * scale),
            round((y - crop[1]) * scale),
            round((x + w - crop[0]) * scale),
            round((y + h - crop[1]) * scale),
        )
    return SocialPost(out, social.name, crop, subject_rect, social.safe.rect(social.size))
