from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from photogen.create.watermark import (
    WatermarkKind,
    WatermarkPayload,
    bit_accuracy,
    creation_fingerprint,
    decode_payload,
    embed_watermark,
    encode_payload,
    read_watermark,
)

from .conftest import faces_dir, synthetic_photo

PAYLOAD = WatermarkPayload(WatermarkKind.AI_GENERATED, creation_fingerprint("creation-42"))


def _jpeg(image: Image.Image, quality: int = 85) -> Image.Image:
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=quality)
    return Image.open(io.BytesIO(buffer.getvalue()))


def _half(image: Image.Image) -> Image.Image:
    return image.resize((image.width // 2, image.height // 2), Image.LANCZOS)


def test_payload_round_trips_and_rejects_noise() -> None:
    assert decode_payload(encode_payload(PAYLOAD)) == PAYLOAD
    rng = np.random.default_rng(0)
    # random words must not pass magic + CRC (2^-32 per word)
    assert all(decode_payload(rng.integers(0, 2, 64)) is None for _ in range(2000))


@pytest.mark.parametrize("attack", ["none", "jpeg85", "half", "half+jpeg85"])
def test_watermark_survives_resave_and_resize(attack: str) -> None:
    marked = embed_watermark(synthetic_photo((900, 700), seed=3), PAYLOAD)
    attacked = {"none": marked, "jpeg85": _jpeg(marked), "half": _half(marked), "half+jpeg85": _jpeg(_half(marked))}[attack]
    reading = read_watermark(attacked)
    assert reading.payload == PAYLOAD
    assert bit_accuracy(reading, PAYLOAD) == 1.0


def test_watermark_on_real_photos_is_invisible_and_robust() -> None:
    photos = sorted((faces_dir() / "groups").glob("*.jpg"))[:4]
    for path in photos:
        original = Image.open(path).convert("RGB")
        marked = embed_watermark(original, PAYLOAD)
        a, b = np.asarray(original, np.float64), np.asarray(marked, np.float64)
        psnr = 10 * np.log10(255**2 / np.mean((a - b) ** 2))
        assert psnr > 38, f"{path.name}: watermark too visible (PSNR {psnr:.1f} dB)"
        assert read_watermark(_jpeg(_half(marked))).payload == PAYLOAD, path.name


def test_plain_photos_carry_no_watermark() -> None:
    for path in sorted((faces_dir() / "noface").glob("*.jpg")) + sorted((faces_dir() / "groups").glob("*.jpg")):
        assert not read_watermark(Image.open(path)).found, path.name


def test_flat_page_still_carries_the_mark() -> None:
    # a card is mostly paper color; clipping near white must not erase the mark
    for color in [(255, 255, 255), (0, 0, 0), (252, 250, 240)]:
        marked = embed_watermark(Image.new("RGB", (800, 1100), color), PAYLOAD)
        assert read_watermark(_jpeg(_half(marked))).payload == PAYLOAD, color
