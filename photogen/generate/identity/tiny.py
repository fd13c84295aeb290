"""Random-weight identity adapters in the published layout, for tests and the tiny test model.

The same loading code reads them as a user's download: `create_tiny_adapter` imports them like one.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from photogen.errors import PhotogenError
from photogen.generate.identity.adapters import get_adapter_spec
from photogen.generate.identity.checkpoint import PLUS_DEPTH, StateDict, unet_attention_layout, write_state_dict
from photogen.generate.identity.weights import InstalledAdapter, import_adapter
from photogen.settings import Settings

_TINY_CLIP_HIDDEN = 32


def tiny_adapter_state_dict(unet: Any, family: str, seed: int = 0, *, input_dim: int = 128, num_tokens: int = 4,
                            lora_rank: int | None = 4) -> StateDict:  # fmt: skip
    """Random weights in the published layout for `unet` (tests): the same loading code reads them."""
    import torch

    g = torch.Generator().manual_seed(seed)

    def rand(*shape: int, scale: float | None = None) -> Any:
        std = scale if scale is not None else shape[-1] ** -0.5
        return torch.randn(*shape, generator=g) * std

    def norm(dim: int) -> tuple[Any, Any]:
        return 1.0 + rand(dim, scale=0.1), rand(dim, scale=0.1)

    cross = int(unet.config.cross_attention_dim)
    proj: dict[str, Any] = {}
    if family == "faceid":
        hidden = input_dim * 2
        proj["proj.0.weight"], proj["proj.0.bias"] = rand(hidden, input_dim), rand(hidden, scale=0.1)
        proj["proj.2.weight"], proj["proj.2.bias"] = (
            rand(cross * num_tokens, hidden),
            rand(cross * num_tokens, scale=0.1),
        )
        proj["norm.weight"], proj["norm.bias"] = norm(cross)
    elif family == "clip-image":
        hidden = 64  # one 64-d head: diffusers reads heads as to_q rows // 64
        proj["latents"] = rand(1, num_tokens, hidden, scale=hidden**-0.5)
        proj["proj_in.weight"], proj["proj_in.bias"] = rand(hidden, input_dim), rand(hidden, scale=0.1)
        proj["proj_out.weight"], proj["proj_out.bias"] = rand(cross, hidden), rand(cross, scale=0.1)
        proj["norm_out.weight"], proj["norm_out.bias"] = norm(cross)
        for i in range(PLUS_DEPTH):
            p = f"layers.{i}."
            proj[p + "0.norm1.weight"], proj[p + "0.norm1.bias"] = norm(hidden)
            proj[p + "0.norm2.weight"], proj[p + "0.norm2.bias"] = norm(hidden)
            proj[p + "0.to_q.weight"] = rand(hidden, hidden)
            proj[p + "0.to_kv.weight"] = rand(2 * hidden, hidden)
            proj[p + "0.to_out.weight"] = rand(hidden, hidden)
            proj[p + "1.0.weight"], proj[p + "1.0.bias"] = norm(hidden)
            proj[p + "1.1.weight"] = rand(4 * hidden, hidden)
            proj[p + "1.3.weight"] = rand(hidden, 4 * hidden)
    else:
        raise ValueError(family)
    ip: dict[str, Any] = {}
    for k, (_, width, cross_dim) in enumerate(unet_attention_layout(unet)):
        if cross_dim is not None:
            ip[f"{k}.to_k_ip.weight"] = rand(width, cross)
            ip[f"{k}.to_v_ip.weight"] = rand(width, cross)
        if lora_rank and family == "faceid":
            in_kv = cross_dim or width
            for part, fan_in in (
                ("to_q_lora", width),
                ("to_k_lora", in_kv),
                ("to_v_lora", in_kv),
                ("to_out_lora", width),
            ):
                ip[f"{k}.{part}.down.weight"] = rand(lora_rank, fan_in)
                ip[f"{k}.{part}.up.weight"] = rand(width, lora_rank, scale=0.05)
    return {"image_proj": proj, "ip_adapter": ip}


def create_tiny_adapter(adapter_id: str, model_dir: Path, settings: Settings, seed: int = 0) -> InstalledAdapter:
    """Random weights in the published layout for the tiny test model, imported like a user's download."""
    import tempfile

    from diffusers import UNet2DConditionModel

    spec = get_adapter_spec(adapter_id)
    if not spec.test_model:
        raise PhotogenError(f"'{adapter_id}' is a published adapter: import the real weights instead.")
    unet = UNet2DConditionModel.from_pretrained(model_dir / "unet")
    with tempfile.TemporaryDirectory() as tmp:
        encoder = None
        input_dim = 128  # SFace's embedding
        if spec.family == "clip-image":
            encoder = write_tiny_image_encoder(Path(tmp) / "image_encoder", spec.image_size or 32, seed)
            input_dim = _TINY_CLIP_HIDDEN
        groups = tiny_adapter_state_dict(unet, spec.family, seed, input_dim=input_dim)
        write_state_dict(groups, Path(tmp) / "adapter.safetensors")
        return import_adapter(Path(tmp) / "adapter.safetensors", adapter_id, settings, image_encoder=encoder)


def write_tiny_image_encoder(out: Path, image_size: int, seed: int = 0) -> Path:
    """A tiny random CLIPVisionModelWithProjection in the published encoder's folder layout."""
    import torch
    from transformers import CLIPVisionConfig, CLIPVisionModelWithProjection

    torch.manual_seed(seed)
    config = CLIPVisionConfig(hidden_size=_TINY_CLIP_HIDDEN, intermediate_size=37, num_hidden_layers=2,
                              num_attention_heads=4, image_size=image_size, patch_size=8, projection_dim=16)  # fmt: skip
    CLIPVisionModelWithProjection(config).save_pretrained(out)
    return out
