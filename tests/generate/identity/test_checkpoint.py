"""The published IP-Adapter key layout: what is accepted, and the errors for what is not."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from photogen.errors import PhotogenError
from photogen.generate.identity.adapters import get_adapter_spec
from photogen.generate.identity.checkpoint import (
    check_layout_fits_unet,
    read_state_dict,
    validate_layout,
    write_state_dict,
    write_torch_bin,
)
from photogen.generate.identity.tiny import tiny_adapter_state_dict


@pytest.fixture(scope="module")
def unet(tiny_dir: Path):  # noqa: ANN201 - diffusers' UNet type
    from diffusers import UNet2DConditionModel

    return UNet2DConditionModel.from_pretrained(tiny_dir / "unet")


def test_faceid_layout_read_from_bin_and_safetensors_alike(unet, tmp_path: Path) -> None:  # noqa: ANN001
    groups = tiny_adapter_state_dict(unet, "faceid", seed=0)
    write_torch_bin(groups, tmp_path / "ip-adapter-faceid_sd15.bin")
    write_state_dict(groups, tmp_path / "ip-adapter-faceid_sd15.safetensors")
    nested = read_state_dict(tmp_path / "ip-adapter-faceid_sd15.bin")
    flat = read_state_dict(tmp_path / "ip-adapter-faceid_sd15.safetensors")
    assert nested.keys() == flat.keys() == {"image_proj", "ip_adapter"}
    for group in nested:
        assert nested[group].keys() == flat[group].keys()
        assert all(torch.equal(nested[group][k], flat[group][k]) for k in nested[group])
    layout = validate_layout(nested, get_adapter_spec("tiny-faceid"))
    # the tiny UNet: 12 attention processors, the cross-attention ones are the odd indices
    assert layout.cross_layers == {1: 64, 3: 64, 5: 64, 7: 64, 9: 64, 11: 64}
    assert (layout.family, layout.input_dim, layout.num_tokens, layout.lora_rank) == ("faceid", 128, 4, 4)
    check_layout_fits_unet(layout, unet, get_adapter_spec("tiny-faceid"), "tiny-test")


def test_missing_key_is_named(unet, tmp_path: Path) -> None:  # noqa: ANN001
    groups = tiny_adapter_state_dict(unet, "faceid")
    del groups["ip_adapter"]["3.to_q_lora.up.weight"]
    with pytest.raises(PhotogenError, match=r"3\.to_q_lora\.up\.weight"):
        validate_layout(groups, get_adapter_spec("tiny-faceid"))
    groups = tiny_adapter_state_dict(unet, "clip-image", input_dim=32)
    del groups["image_proj"]["layers.2.0.to_kv.weight"]
    with pytest.raises(PhotogenError, match=r"layers\.2\.0\.to_kv\.weight.*published"):
        validate_layout(groups, get_adapter_spec("tiny-plus-face"))


def test_only_one_of_k_v_is_damaged(unet) -> None:  # noqa: ANN001
    groups = tiny_adapter_state_dict(unet, "faceid", lora_rank=None)
    del groups["ip_adapter"]["5.to_v_ip.weight"]
    with pytest.raises(PhotogenError, match="layer 5"):
        validate_layout(groups, get_adapter_spec("tiny-faceid"))


def test_wrong_family_and_other_ip_adapters_are_refused(unet) -> None:  # noqa: ANN001
    plus = tiny_adapter_state_dict(unet, "clip-image", input_dim=32)
    with pytest.raises(PhotogenError, match="not an insightface-embedding"):
        validate_layout(plus, get_adapter_spec("ip-adapter-faceid"))
    general = {"image_proj": {"proj.weight": torch.zeros(3072, 1024), "norm.weight": torch.zeros(768)},
               "ip_adapter": {"1.to_k_ip.weight": torch.zeros(320, 768)}}  # fmt: skip
    with pytest.raises(PhotogenError, match="general IP-Adapter"):
        validate_layout(general, get_adapter_spec("ip-adapter-faceid"))
    faceid_plus = {"image_proj": {"perceiver_resampler.proj_in.weight": torch.zeros(1, 1)}, "ip_adapter": {}}
    with pytest.raises(PhotogenError, match="FaceID-Plus"):
        validate_layout(faceid_plus, get_adapter_spec("ip-adapter-faceid"))


def test_files_that_are_not_adapters(tmp_path: Path) -> None:
    from safetensors.torch import save_file

    save_file({"conv_in.weight": torch.zeros(2, 2)}, str(tmp_path / "unet.safetensors"))
    with pytest.raises(PhotogenError, match="not an IP-Adapter checkpoint.*conv_in.weight"):
        read_state_dict(tmp_path / "unet.safetensors")
    (tmp_path / "broken.bin").write_bytes(b"not a zip or pickle")
    with pytest.raises(PhotogenError, match="could not be read"):
        read_state_dict(tmp_path / "broken.bin")
    with pytest.raises(PhotogenError, match="not a file"):
        read_state_dict(tmp_path / "missing.bin")


def test_sd15_width_adapter_does_not_fit_the_tiny_unet(unet) -> None:  # noqa: ANN001
    from diffusers import UNet2DConditionModel

    wide = UNet2DConditionModel(**{**unet.config, "cross_attention_dim": 48})
    groups = tiny_adapter_state_dict(wide, "faceid")
    layout = validate_layout(groups, get_adapter_spec("tiny-faceid"))
    with pytest.raises(PhotogenError, match="48-d tokens.*32-d.*does not fit"):
        check_layout_fits_unet(layout, unet, get_adapter_spec("tiny-faceid"), "tiny-test")
