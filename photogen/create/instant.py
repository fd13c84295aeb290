"""Instant styles: classical non-photorealistic filters that need no model.

This is what a fresh install, an offline machine or a CPU-only Space can make from real photos
before any diffusion model is downloaded. Everything here is OpenCV and numpy; the results are
labeled "instant" (filtered, not AI-generated) and feed the same templates as AI images.

Faces are kept faithful: after the filter, the original face is blended back through a feathered
ellipse around each face box, because a filter that smears a grandmother's face into a blob defeats
the point of a personal picture.

Person masks: a caller with a real segmentation passes it in; otherwise `person_mask_from_faces`
builds one with OpenCV's GrabCut, seeded by a head-and-shoulders model under each face box. Why
GrabCut: it needs no weights and no network (the segmentation packages on PyPI, rembg and the like,
download their networks at run time, and mediapipe's bundled selfie model needs a legacy runtime
that clashes with numpy 2), it is deterministic, and the face boxes we already have are exactly the
seed it wants. It is weakest on hair and on arms far from the body, so the mask is feathered.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import cv2
import numpy as np
from PIL import Image

from photogen.box import Box
from photogen.create.layout import cover
from photogen.errors import PhotogenError

logger = logging.getLogger(__name__)

BackgroundMode = Literal["keep", "blur", "replace"]
FaceMode = Literal["color", "gray"]

INSTANT_LABEL = "instant"  # what the UI and provenance call these: filtered, not AI-generated
DEFAULT_MAX_SIDE = 1600  # the filters cost O(pixels); a card needs no more before upscaling


@dataclass(frozen=True)
class InstantStyle:
    """One instant style as plain data: `method` names the filter, `params` are its knobs."""

    name: str
    label: str
    description: str
    method: str
    params: dict[str, float] = field(default_factory=dict)
    face_mode: FaceMode = "color"  # monochrome styles put back a gray face, not a color cut-out

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


INSTANT_STYLES: tuple[InstantStyle, ...] = (
    InstantStyle(
        name="watercolor",
        label="Watercolor",
        description="Soft flat washes with gentle edges on paper.",
        method="watercolor",
        params={"sigma_s": 60.0, "sigma_r": 0.45, "wash": 0.35, "paper": 6.0},
    ),
    InstantStyle(
        name="pencil-sketch",
        label="Pencil sketch",
        description="Graphite lines and shading on white paper.",
        method="pencil",
        params={"sigma_s": 50.0, "sigma_r": 0.08, "shade_factor": 0.04, "color": 0.0},
        face_mode="gray",
    ),
    InstantStyle(
        name="colored-pencil",
        label="Colored pencil",
        description="Pencil lines with a light wash of the photo's colors.",
        method="pencil",
        params={"sigma_s": 50.0, "sigma_r": 0.08, "shade_factor": 0.04, "color": 1.0},
    ),
    InstantStyle(
        name="cartoon",
        label="Cartoon",
        description="Flat colors and bold outlines.",
        method="cartoon",
        params={"colors": 9.0, "bilateral_passes": 5.0, "edge_block": 9.0, "edge_c": 4.0},
    ),
    InstantStyle(
        name="oil-painting",
        label="Oil painting",
        description="Painterly strokes and rich, slightly simplified color.",
        method="painterly",
        params={"sigma_s": 45.0, "sigma_r": 0.35, "colors": 24.0, "stroke": 5.0, "detail": 0.15},
    ),
)


@dataclass(frozen=True)
class InstantResult:
    image: Image.Image
    style: str
    label: str  # always INSTANT_LABEL
    face_boxes: tuple[Box, ...]  # in `image`'s pixels (after any working downscale)
    background: BackgroundMode
    scale: float  # output size / input size


def list_instant_styles() -> list[dict[str, Any]]:
    return [s.to_dict() for s in INSTANT_STYLES]


def get_instant_style(name: str) -> InstantStyle:
    for style in INSTANT_STYLES:
        if style.name == name.strip().lower().replace(" ", "-").replace("_", "-"):
            return style
    names = ", ".join(s.name for s in INSTANT_STYLES)
    raise PhotogenError(f"Unknown instant style {name!r}. Choose one of: {names}.")


# --- the filters: uint8 RGB in, uint8 RGB out ---------------------------------------------------


def _quantize(rgb: np.ndarray, k: int, seed: int = 0) -> np.ndarray:
    """k-means color quantization; fits on a sample because cv2.kmeans on every pixel is slow."""
    pixels = rgb.reshape(-1, 3).astype(np.float32)
    rng = np.random.default_rng(seed)
    sample = pixels[rng.choice(len(pixels), size=min(len(pixels), 20_000), replace=False)]
    criteria = (cv2.TERM_CRITERIA_EPS + cv2.TERM_CRITERIA_MAX_ITER, 20, 1.0)
    cv2.setRNGSeed(seed)  # kmeans++ init draws from OpenCV's RNG: seed it so a style is reproducible
    _, _, centers = cv2.kmeans(sample, k, None, criteria, 2, cv2.KMEANS_PP_CENTERS)
    # nearest center per pixel, in chunks to bound memory on large images
    labels = np.empty(len(pixels), dtype=np.int32)
    for start in range(0, len(pixels), 262_144):
        chunk = pixels[start : start + 262_144]
        labels[start : start + len(chunk)] = np.argmin(((chunk[:, None, :] - centers[None]) ** 2).sum(-1), axis=1)
    return centers[labels].reshape(rgb.shape).clip(0, 255).astype(np.uint8)


def _paper_texture(shape: tuple[int, int], strength: float, seed: int = 7) -> np.ndarray:
    noise = np.random.default_rng(seed).normal(0.0, 1.0, shape).astype(np.float32)
    noise = cv2.GaussianBlur(noise, (0, 0), 1.2)
    return noise / (noise.std() + 1e-6) * strength


def _watercolor(rgb: np.ndarray, p: dict[str, float]) -> np.ndarray:
    bgr = cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)
    styl = cv2.stylization(bgr, sigma_s=p["sigma_s"], sigma_r=p["sigma_r"])
    # a wash: blend in a heavily smoothed copy so color pools into flat areas like wet paint
    wash = cv2.edgePreservingFilter(styl, flags=cv2.RECURS_FILTER, sigma_s=90, sigma_r=0.6)
    out = cv2.addWeighted(styl, 1 - p["wash"], wash, p["wash"], 0).astype(np.float32)
    out = out * 0.92 + 255 * 0.08  # lighter, like pigment on white paper
    out += _paper_texture(out.shape[:2], p["paper"])[:, :, None]
    return cv2.cvtColor(out.clip(0, 255).astype(np.uint8), cv2.COLOR_BGR2RGB)


def _pencil(rgb: np.ndarray, p: dict[str, float]) -> np.ndarray:
    bgr = cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)
    gray, color = cv2.pencilSketch(bgr, sigma_s=p["sigma_s"], sigma_r=p["sigma_r"], shade_factor=p["shade_factor"])
    if p.get("color", 0.0) > 0:
        return cv2.cvtColor(color, cv2.COLOR_BGR2RGB)
    return cv2.cvtColor(gray, cv2.COLOR_GRAY2RGB)


def _cartoon(rgb: np.ndarray, p: dict[str, float]) -> np.ndarray:
    h, w = rgb.shape[:2]
    # bilateral passes at half size: same flattening, a quarter of the cost
    small = cv2.resize(rgb, (max(1, w // 2), max(1, h // 2)), interpolation=cv2.INTER_AREA)
    for _ in range(int(p["bilateral_passes"])):
        small = cv2.bilateralFilter(small, d=9, sigmaColor=40, sigmaSpace=7)
    smooth = cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)
    flat = _quantize(smooth, int(p["colors"]))
    gray = cv2.medianBlur(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY), 7)
    block = int(p["edge_block"]) | 1
    edges = cv2.adaptiveThreshold(gray, 255, cv2.ADAPTIVE_THRESH_MEAN_C, cv2.THRESH_BINARY, block, p["edge_c"])
    return cv2.bitwise_and(flat, flat, mask=edges)


def _painterly(rgb: np.ndarray, p: dict[str, float]) -> np.ndarray:
    bgr = cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)
    smooth = cv2.edgePreservingFilter(bgr, flags=cv2.NORMCONV_FILTER, sigma_s=p["sigma_s"], sigma_r=p["sigma_r"])
    flat = _quantize(cv2.cvtColor(smooth, cv2.COLOR_BGR2RGB), int(p["colors"]))
    # a morphological open with an elliptical brush leaves stroke-like blobs of color
    brush = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (int(p["stroke"]), int(p["stroke"])))
    strokes = cv2.morphologyEx(flat, cv2.MORPH_OPEN, brush)
    strokes_bgr = cv2.cvtColor(strokes, cv2.COLOR_RGB2BGR)
    out = cv2.detailEnhance(strokes_bgr, sigma_s=10, sigma_r=p["detail"])
    return cv2.cvtColor(out, cv2.COLOR_BGR2RGB)


_METHODS: dict[str, Callable[[np.ndarray, dict[str, float]], np.ndarray]] = {
    "watercolor": _watercolor,
    "pencil": _pencil,
    "cartoon": _cartoon,
    "painterly": _painterly,
}


# --- faces and person masks ---------------------------------------------------------------------


def _clip_boxes(boxes: Sequence[Box], width: int, height: int) -> list[Box]:
    """The part of each box inside the image, in whole pixels; boxes wholly outside are dropped."""
    clipped = []
    for box in boxes:
        x0, y0, x1, y1 = (int(v) for v in Box.of(box).clipped(width, height).corners())
        if x1 > x0 and y1 > y0:
            clipped.append(Box.from_corners(x0, y0, x1, y1))
    return clipped


def face_mask(size: tuple[int, int], face_boxes: Sequence[Box], margin: float = 0.3) -> np.ndarray:
    """float32 HxW in [0, 1]: a feathered ellipse around each face box (detector boxes are tight,
    so `margin` grows them to take in the hairline and chin)."""
    width, height = size
    mask = np.zeros((height, width), dtype=np.float32)
    for x, y, w, h in face_boxes:
        center = (int(round(x + w / 2)), int(round(y + h * 0.45)))  # boxes sit low on the forehead
        axes = (max(1, int(w / 2 * (1 + margin))), max(1, int(h / 2 * (1 + margin) * 1.15)))
        face = np.zeros_like(mask)
        cv2.ellipse(face, center, axes, 0, 0, 360, 1.0, thickness=-1)
        # feather width scales with the face so small and large faces blend alike
        sigma = max(1.0, 0.12 * min(w, h))
        face = cv2.GaussianBlur(face, (0, 0), sigma)
        mask = np.maximum(mask, face)
    return mask


def keep_faces(
    original: np.ndarray, styled: np.ndarray, face_boxes: Sequence[Box], *, fidelity: float = 0.9, mode: FaceMode = "color"
) -> np.ndarray:
    """Blend the original faces back into a styled image (both uint8 RGB, same size)."""
    if not face_boxes:
        return styled
    source = original
    if mode == "gray":
        source = cv2.cvtColor(cv2.cvtColor(original, cv2.COLOR_RGB2GRAY), cv2.COLOR_GRAY2RGB)
    mask = face_mask((original.shape[1], original.shape[0]), face_boxes)[:, :, None] * float(fidelity)
    out = styled.astype(np.float32) * (1 - mask) + source.astype(np.float32) * mask
    return out.clip(0, 255).astype(np.uint8)


def _person_prior(width: int, height: int, face_boxes: Sequence[Box]) -> np.ndarray:
    """GrabCut labels from a head-and-shoulders model: face core is certain, body and hair probable."""
    prior = np.full((height, width), cv2.GC_PR_BGD, dtype=np.uint8)
    border = max(2, min(width, height) // 40)
    prior[:border, :] = cv2.GC_BGD
    prior[:, :border] = cv2.GC_BGD
    prior[:, width - border :] = cv2.GC_BGD
    for x, y, w, h in face_boxes:
        cx = x + w / 2
        # torso: about three face widths wide, from the chin to the bottom of the frame
        bx0, bx1 = int(max(0, cx - 1.6 * w)), int(min(width, cx + 1.6 * w))
        prior[int(min(height, y + 0.9 * h)) :, bx0:bx1] = cv2.GC_PR_FGD
        # neck and upper chest, certain: without it GrabCut drops a dark suit on a dark backdrop
        # and leaves floating heads
        nx0, nx1 = int(max(0, cx - 0.6 * w)), int(min(width, cx + 0.6 * w))
        prior[int(min(height, y + h)) : int(min(height, y + 2.6 * h)), nx0:nx1] = cv2.GC_FGD
        # hair above and around the face: probable
        hx0, hx1 = int(max(0, x - 0.25 * w)), int(min(width, x + 1.25 * w))
        prior[int(max(0, y - 0.5 * h)) : int(min(height, y + h)), hx0:hx1] = cv2.GC_PR_FGD
        # the inner face, certain
        fx0, fx1 = int(x + 0.2 * w), int(x + 0.8 * w)
        prior[int(y + 0.2 * h) : int(y + 0.85 * h), fx0:fx1] = cv2.GC_FGD
    return prior


def person_mask_from_faces(
    image: Image.Image | np.ndarray, face_boxes: Sequence[Box], *, iterations: int = 4, work_side: int = 512
) -> np.ndarray:
    """float32 HxW in [0, 1]: the people around `face_boxes`, found with GrabCut (see module doc)."""
    rgb = np.asarray(image.convert("RGB")) if isinstance(image, Image.Image) else image
    height, width = rgb.shape[:2]
    boxes = _clip_boxes(face_boxes, width, height)
    if not boxes:
        raise PhotogenError("A background effect needs the people in the photo: no face was found in it. Pick a photo with a visible face, or choose 'keep background'.")
    # GrabCut costs O(pixels) per iteration: run on a copy at most `work_side` on its long side
    scale = min(1.0, work_side / max(width, height))
    sw, sh = max(1, round(width * scale)), max(1, round(height * scale))
    small = cv2.resize(rgb, (sw, sh), interpolation=cv2.INTER_AREA) if scale < 1 else rgb
    scaled = [Box(int(x * scale), int(y * scale), max(1, int(w * scale)), max(1, int(h * scale))) for x, y, w, h in boxes]
    labels = _person_prior(sw, sh, scaled)
    bgd, fgd = np.zeros((1, 65), np.float64), np.zeros((1, 65), np.float64)
    try:
        cv2.grabCut(cv2.cvtColor(small, cv2.COLOR_RGB2BGR), labels, None, bgd, fgd, iterations, cv2.GC_INIT_WITH_MASK)
    except cv2.error:
        # GrabCut refuses when one side has no samples (e.g. the face fills the frame): keep the prior
        logger.warning("GrabCut failed on this photo; using the head-and-shoulders prior as the person mask")
    mask = np.isin(labels, (cv2.GC_FGD, cv2.GC_PR_FGD)).astype(np.uint8)
    # keep only the connected parts that touch a face: GrabCut leaves islands of similar color
    count, components = cv2.connectedComponents(mask)
    keep = np.zeros(count, dtype=bool)
    for x, y, w, h in scaled:
        keep[np.unique(components[y : y + h, x : x + w])] = True
    keep[0] = False
    mask = keep[components].astype(np.float32)
    mask = cv2.resize(mask, (width, height), interpolation=cv2.INTER_LINEAR)
    return cv2.GaussianBlur(mask, (0, 0), max(1.0, min(width, height) / 300))


def _as_mask(mask: Image.Image | np.ndarray, width: int, height: int) -> np.ndarray:
    arr = np.asarray(mask.convert("L")) if isinstance(mask, Image.Image) else np.asarray(mask)
    if arr.ndim == 3:
        arr = arr[:, :, 0]
    arr = arr.astype(np.float32)
    if arr.max(initial=0) > 1.0:
        arr /= 255.0
    if arr.shape != (height, width):
        arr = cv2.resize(arr, (width, height), interpolation=cv2.INTER_LINEAR)
    return arr.clip(0, 1)


def blur_background(rgb: np.ndarray, person: np.ndarray, strength: float = 0.02) -> np.ndarray:
    """Portrait-mode blur: `strength` is the blur sigma as a fraction of the short side."""
    sigma = max(1.0, strength * min(rgb.shape[:2]))
    blurred = cv2.GaussianBlur(rgb, (0, 0), sigma)
    m = person[:, :, None]
    return (rgb.astype(np.float32) * m + blurred.astype(np.float32) * (1 - m)).clip(0, 255).astype(np.uint8)


def replace_background(
    rgb: np.ndarray, person: np.ndarray, background: Image.Image | tuple[int, int, int]
) -> np.ndarray:
    height, width = rgb.shape[:2]
    if isinstance(background, Image.Image):
        back = np.asarray(cover(background.convert("RGB"), (width, height)), dtype=np.float32)
    else:
        back = np.empty((height, width, 3), dtype=np.float32)
        back[:] = background
    m = person[:, :, None]
    return (rgb.astype(np.float32) * m + back * (1 - m)).clip(0, 255).astype(np.uint8)


# --- the one call the CLI and UI make -----------------------------------------------------------


def apply_instant_style(
    image: Image.Image,
    style: str | InstantStyle,
    face_boxes: Sequence[Box] = (),
    *,
    face_fidelity: float = 0.9,
    background: BackgroundMode = "keep",
    person_mask: Image.Image | np.ndarray | None = None,
    background_image: Image.Image | tuple[int, int, int] | None = None,
    blur_strength: float = 0.02,
    max_side: int = DEFAULT_MAX_SIDE,
) -> InstantResult:
    """Restyle a photo with a classical filter, faces kept, background optionally blurred or replaced.

    `face_boxes` and `person_mask` are in `image`'s pixels. The output is at most `max_side` on its
    long side; its face boxes are returned scaled to match.
    """
    # 1. Check inputs
    preset = style if isinstance(style, InstantStyle) else get_instant_style(style)
    if not 0.0 <= face_fidelity <= 1.0:
        raise PhotogenError(f"face_fidelity must be between 0 and 1, got {face_fidelity}.")
    if background == "replace" and background_image is None:
        raise PhotogenError("Replacing the background needs a background: pass a picture or a color.")
    if background not in ("keep", "blur", "replace"):
        raise PhotogenError(f"Unknown background mode {background!r}: use keep, blur or replace.")
    rgb_full = np.asarray(image.convert("RGB"))
    height, width = rgb_full.shape[:2]
    boxes = _clip_boxes(face_boxes, width, height)

    # 2. Work at a bounded size: the filters cost O(pixels)
    scale = min(1.0, max_side / max(width, height))
    if scale < 1.0:
        size = (max(1, round(width * scale)), max(1, round(height * scale)))
        rgb = cv2.resize(rgb_full, size, interpolation=cv2.INTER_AREA)
        boxes = [Box(round(x * scale), round(y * scale), max(1, round(w * scale)), max(1, round(h * scale))) for x, y, w, h in boxes]
    else:
        rgb = rgb_full

    # 3. The filter, then the faces put back
    styled = _METHODS[preset.method](rgb, dict(preset.params))
    styled = keep_faces(rgb, styled, boxes, fidelity=face_fidelity, mode=preset.face_mode)

    # 4. Background
    if background != "keep":
        h, w = rgb.shape[:2]
        person = _as_mask(person_mask, w, h) if person_mask is not None else person_mask_from_faces(rgb, boxes)
        if background == "blur":
            styled = blur_background(styled, person, blur_strength)
        else:
            assert background_image is not None
            styled = replace_background(styled, person, background_image)

    logger.info("instant style %s applied at %dx%d, %d face(s) kept", preset.name, rgb.shape[1], rgb.shape[0], len(boxes))
    return InstantResult(
        image=Image.fromarray(styled, "RGB"),
        style=preset.name,
        label=INSTANT_LABEL,
        face_boxes=tuple(boxes),
        background=background,
        scale=scale,
    )
