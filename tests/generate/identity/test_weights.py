"""Importing an adapter: the license opt-in, the image encoder it needs, and finding it again."""

from __future__ import annotations

from pathlib import Path

import pytest

from photogen.errors import PhotogenError
from photogen.generate.identity.checkpoint import read_state_dict, write_state_dict, write_torch_bin
from photogen.generate.identity.tiny import tiny_adapter_state_dict
from photogen.generate.identity.weights import import_adapter, installed_adapter
from photogen.settings import Settings


@pytest.fixture(scope="module")
def unet(tiny_dir: Path):  # noqa: ANN201 - diffusers' UNet type
    from diffusers import UNet2DConditionModel

    return UNet2DConditionModel.from_pretrained(tiny_dir / "unet")


def test_import_needs_license_opt_in_for_faceid(unet, tmp_path: Path) -> None:  # noqa: ANN001
    from diffusers import UNet2DConditionModel

    settings = Settings(home=tmp_path / "home")
    sd15_like = UNet2DConditionModel(**{**unet.config, "cross_attention_dim": 768})
    path = tmp_path / "ip-adapter-faceid_sd15.bin"
    write_torch_bin(tiny_adapter_state_dict(sd15_like, "faceid", input_dim=512), path)
    with pytest.raises(PhotogenError, match="non-commercial"):
        import_adapter(path, "ip-adapter-faceid", settings)
    with pytest.raises(PhotogenError, match="not installed"):
        installed_adapter("ip-adapter-faceid", settings)
    installed = import_adapter(path, "ip-adapter-faceid", settings, accept_license=True)
    assert installed.layout.input_dim == 512 and installed.layout.cross_attention_dim == 768
    again = installed_adapter("ip-adapter-faceid", settings)
    assert again.weights_sha256 == installed.weights_sha256
    assert set(again.state_dict()["ip_adapter"]) == set(read_state_dict(path)["ip_adapter"])


def test_clip_adapter_needs_a_matching_image_encoder(unet, tmp_path: Path) -> None:  # noqa: ANN001
    from photogen.generate.identity.tiny import write_tiny_image_encoder

    settings = Settings(home=tmp_path / "home")
    path = tmp_path / "plus.safetensors"
    write_state_dict(tiny_adapter_state_dict(unet, "clip-image", input_dim=48), path)
    with pytest.raises(PhotogenError, match="needs its CLIP image encoder"):
        import_adapter(path, "tiny-plus-face", settings)
    encoder = write_tiny_image_encoder(tmp_path / "image_encoder", 32)  # 32-d features, adapter takes 48
    with pytest.raises(PhotogenError, match="32-d features but the adapter takes 48-d"):
        import_adapter(path, "tiny-plus-face", settings, image_encoder=encoder)
