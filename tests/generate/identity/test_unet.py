"""The torch identity UNet: faithful to diffusers' IP-Adapter, and regional where we made it so."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import torch

from photogen.generate.identity.adapters import get_adapter_spec
from photogen.generate.identity.checkpoint import validate_layout
from photogen.generate.identity.tiny import tiny_adapter_state_dict
from photogen.generate.identity.unet import (
    IdentityUNet,
    RegionalIdentityAttnProcessor,
    apply_identity_adapter,
    example_inputs,
)

FAMILIES = {"faceid": ("tiny-faceid", (128,)), "clip-image": ("tiny-plus-face", (17, 32))}


@pytest.fixture(scope="module")
def unet(tiny_dir: Path):  # noqa: ANN201
    from diffusers import UNet2DConditionModel

    return UNet2DConditionModel.from_pretrained(tiny_dir / "unet").eval()


@pytest.mark.parametrize("family", list(FAMILIES))
def test_one_person_equals_diffusers_ip_adapter(unet, family: str) -> None:  # noqa: ANN001
    """Our processors, one person with an all-ones mask, against diffusers' IPAdapterAttnProcessor2_0."""
    adapter_id, features = FAMILIES[family]
    groups = tiny_adapter_state_dict(unet, family, seed=3, input_dim=features[-1], lora_rank=None)
    layout = validate_layout(groups, get_adapter_spec(adapter_id))
    reference = copy.deepcopy(unet)
    reference._load_ip_adapter_weights([groups])  # noqa: SLF001
    ours = copy.deepcopy(unet)
    model = IdentityUNet(ours, apply_identity_adapter(ours, groups, layout)).eval()
    inputs = example_inputs(unet.config, features, people=1)
    inputs["identity_masks"] = torch.ones_like(inputs["identity_masks"])
    with torch.no_grad():
        out = model(**inputs)
        expected = reference(inputs["sample"], inputs["timestep"], inputs["encoder_hidden_states"],
                             added_cond_kwargs={"image_embeds": [inputs["identity_embeds"]]}).sample  # fmt: skip
        plain = unet(inputs["sample"], inputs["timestep"], inputs["encoder_hidden_states"]).sample
    assert (out - expected).abs().max().item() < 1e-5
    assert (out - plain).abs().max().item() > 1e-2  # the adapter does something


def test_scale_zero_is_the_plain_unet_when_there_is_no_lora(unet) -> None:  # noqa: ANN001
    groups = tiny_adapter_state_dict(unet, "faceid", lora_rank=None)
    ours = copy.deepcopy(unet)
    model = IdentityUNet(
        ours, apply_identity_adapter(ours, groups, validate_layout(groups, get_adapter_spec("tiny-faceid")))
    )
    inputs = example_inputs(unet.config, (128,)) | {"identity_scale": torch.tensor(0.0)}
    with torch.no_grad():
        out = model(**inputs)
        plain = unet(inputs["sample"], inputs["timestep"], inputs["encoder_hidden_states"]).sample
    assert (out - plain).abs().max().item() < 1e-6


def test_faceid_lora_is_fused_into_the_attention_weights(unet) -> None:  # noqa: ANN001
    groups = tiny_adapter_state_dict(unet, "faceid", lora_rank=4)
    ours = copy.deepcopy(unet)
    apply_identity_adapter(ours, groups, validate_layout(groups, get_adapter_spec("tiny-faceid")))
    name = list(unet.attn_processors)[2].removesuffix(".processor")  # index 2: a self-attention layer
    ip = groups["ip_adapter"]
    delta = ip["2.to_q_lora.up.weight"] @ ip["2.to_q_lora.down.weight"]
    fused = ours.get_submodule(name).to_q.weight - unet.get_submodule(name).to_q.weight
    assert torch.allclose(fused, delta, atol=1e-6) and delta.abs().max() > 0


def test_person_tokens_reach_only_their_region() -> None:
    """At the processor: changing B's tokens leaves every position of A's region exactly as it was."""
    from diffusers.models.attention_processor import Attention

    torch.manual_seed(0)
    attn = Attention(query_dim=16, cross_attention_dim=8, heads=2, dim_head=8).eval()
    proc = RegionalIdentityAttnProcessor(torch.nn.Linear(8, 16, bias=False), torch.nn.Linear(8, 16, bias=False), 2)
    attn.set_processor(proc)
    hidden = torch.randn(1, 4 * 4, 16)  # a layer at 2x downsampling of an 8x8 latent
    text = torch.randn(1, 5, 8)
    masks = torch.zeros(2, 8, 8)
    masks[0, :, :4], masks[1, :, 4:] = 1, 1  # A left, B right
    tokens = torch.randn(2, 3, 8)
    changed = tokens.clone()
    changed[1] = torch.randn(3, 8)
    kwargs = {"identity_masks": masks, "identity_scale": torch.tensor(1.0)}
    with torch.no_grad():
        before = attn(hidden, text, identity_tokens=tokens, **kwargs).reshape(4, 4, 16)
        after = attn(hidden, text, identity_tokens=changed, **kwargs).reshape(4, 4, 16)
    diff = (before - after).abs().amax(dim=-1)
    assert diff[:, :2].max().item() == 0.0  # A's columns: untouched
    assert diff[:, 2:].min().item() > 1e-3  # B's columns: every position changed


def test_every_adapted_layer_keeps_each_person_to_their_region(tiny_dir: Path, unet) -> None:  # noqa: ANN001
    """Each cross-attention layer of the real UNet, at its own resolution, with its own pooling factor."""
    groups = tiny_adapter_state_dict(unet, "faceid", lora_rank=None)
    ours = copy.deepcopy(unet)
    model = IdentityUNet(
        ours, apply_identity_adapter(ours, groups, validate_layout(groups, get_adapter_spec("tiny-faceid")))
    )
    inputs = example_inputs(unet.config, (128,), people=2, side=16)
    masks = torch.zeros(2, 16, 16)
    masks[0, :, :8], masks[1, :, 8:] = 1, 1
    inputs["identity_masks"] = masks
    seen: dict[str, tuple[torch.Tensor, torch.Tensor]] = {}

    def grab(name: str):  # noqa: ANN202
        def hook(module: torch.nn.Module, args: tuple, kwargs: dict) -> None:
            seen.setdefault(name, (args[0], kwargs.get("encoder_hidden_states", args[1] if len(args) > 1 else None)))

        return hook

    for name, module in ours.named_modules():
        if name.endswith("attn2"):
            module.register_forward_pre_hook(grab(name), with_kwargs=True)
    with torch.no_grad():
        model(**inputs)
        tokens = model.identity_tokens(inputs["identity_embeds"])
        changed = tokens.clone()
        changed[1] = torch.randn_like(changed[1])
        assert len(seen) == 6
        for name, (hidden, text) in seen.items():
            attn = ours.get_submodule(name)
            side = int(hidden.shape[1] ** 0.5)
            kw = {"identity_masks": masks, "identity_scale": torch.tensor(1.0)}
            a = attn(hidden, text, identity_tokens=tokens, **kw).reshape(side, side, -1)
            b = attn(hidden, text, identity_tokens=changed, **kw).reshape(side, side, -1)
            diff = (a - b).abs().amax(dim=-1)
            assert diff[:, : side // 2].max().item() == 0.0, name
            assert diff[:, side // 2 :].min().item() > 0.0, name
