"""Watermark robustness: bit accuracy and detection after the re-saves and resizes photos go through.

Run: python bench/create_watermark.py [FOLDER_OF_JPEGS]   (default: ../shared/faces)
"""

from __future__ import annotations

import io
import logging
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image

from photogen.create.watermark import (
    WatermarkKind,
    WatermarkPayload,
    bit_accuracy,
    creation_fingerprint,
    embed_watermark,
    read_watermark,
)

logger = logging.getLogger("bench.create_watermark")


def _jpeg(image: Image.Image, quality: int) -> Image.Image:
    buffer = io.BytesIO()
    image.convert("RGB").save(buffer, "JPEG", quality=quality)
    return Image.open(io.BytesIO(buffer.getvalue()))


def _scale(image: Image.Image, factor: float) -> Image.Image:
    return image.resize((max(1, round(image.width * factor)), max(1, round(image.height * factor))), Image.LANCZOS)


ATTACKS: dict[str, Callable[[Image.Image], Image.Image]] = {
    "none": lambda im: im,
    "jpeg q85": lambda im: _jpeg(im, 85),
    "jpeg q70": lambda im: _jpeg(im, 70),
    "resize 50%": lambda im: _scale(im, 0.5),
    "resize 50% + jpeg q85": lambda im: _jpeg(_scale(im, 0.5), 85),
    "resize 33% + jpeg q85": lambda im: _jpeg(_scale(im, 1 / 3), 85),
    "resize 200%": lambda im: _scale(im, 2.0),
}


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    root = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parents[1].parent / "shared" / "faces"
    every = sorted(root.rglob("*.jpg"))
    if not every:
        logger.error("no JPEGs under %s", root)
        return
    # the canonical grid is 256 px: below 512 px a 50% resize leaves fewer pixels than the grid holds,
    # so small images are reported apart (photogen's outputs are 512 px and up)
    for label, group in (("min side >= 512 px", [p for p in every if min(Image.open(p).size) >= 512]), ("min side < 512 px", [p for p in every if min(Image.open(p).size) < 512])):
        if group:
            logger.info("\n== %s", label)
            _run(group[:40], root)


def _run(photos: list[Path], root: Path) -> None:
    payload = WatermarkPayload(WatermarkKind.AI_GENERATED, creation_fingerprint("bench"))
    accuracy: dict[str, list[float]] = {name: [] for name in ATTACKS}
    found: dict[str, int] = dict.fromkeys(ATTACKS, 0)
    psnrs, embed_s, false_positives = [], [], 0
    for path in photos:
        original = Image.open(path).convert("RGB")
        false_positives += read_watermark(original).found
        start = time.perf_counter()
        marked = embed_watermark(original, payload)
        embed_s.append(time.perf_counter() - start)
        diff = np.asarray(original, np.float64) - np.asarray(marked, np.float64)
        psnrs.append(10 * np.log10(255**2 / max(1e-9, float(np.mean(diff**2)))))
        for name, attack in ATTACKS.items():
            reading = read_watermark(attack(marked))
            accuracy[name].append(bit_accuracy(reading, payload))
            found[name] += reading.payload == payload
    logger.info("%d photos from %s; PSNR min %.1f / median %.1f dB; embed %.0f ms median", len(photos), root, min(psnrs), float(np.median(psnrs)), 1000 * float(np.median(embed_s)))
    logger.info("false positives on the unmarked originals: %d / %d", false_positives, len(photos))
    logger.info("%-24s %12s %12s %8s", "attack", "mean bits", "min bits", "found")
    for name in ATTACKS:
        logger.info("%-24s %11.2f%% %11.2f%% %4d/%d", name, 100 * float(np.mean(accuracy[name])), 100 * min(accuracy[name]), found[name], len(photos))


if __name__ == "__main__":
    main()
