"""The identity-conditioned UNet in torch: diffusers' IP-Adapter loading and our regional attention (export.py traces it).

Loading: diffusers' own `UNet2DConditionModel._load_ip_adapter_weights` converts a published checkpoint
into its `IPAdapterAttnProcessor2_0` layers and image-projection module (so key mapping and shapes are
diffusers'), FaceID's LoRA is fused into the base attention weights (as LCM-LoRA is), and then each
cross-attention processor is swapped for `RegionalIdentityAttnProcessor`, which reuses diffusers'
`to_k_ip`/`to_v_ip` layers and computes the same decoupled attention with two differences that the
exported graph needs:

- Several people, each with their own identity tokens, attend in one batched op, and each person's
  result is multiplied by that person's region mask before the sum: person A's tokens change only
  the positions of A's region. The masks are a graph input at latent resolution; each layer average-
  pools it by its own fixed factor (2**level), so any image size exports and no shape arithmetic runs
  in the graph. With one person and an all-ones mask it is exactly diffusers' processor.
- The tokens, masks and scale come in through `cross_attention_kwargs`, i.e. graph inputs, so the
  identity, the layout and the strength change per call without re-export.

`IdentityUNet` wraps the UNet and the projection so the exported graph takes the raw face input:
`identity_embeds` (people, references, *feature) is projected to tokens inside the graph.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from photogen.errors import PhotogenError
from photogen.generate.identity.checkpoint import AdapterLayout, StateDict, check_layout_fits_unet, validate_layout
from photogen.generate.identity.weights import InstalledAdapter

logger = logging.getLogger(__name__)

# graph input names: the pipelines feed them by name (see stable_diffusion._feed)
IDENTITY_EMBEDS = "identity_embeds"
IDENTITY_MASKS = "identity_masks"
IDENTITY_SCALE = "identity_scale"
IMAGE_ENCODER_COMPONENT = "identity_image_encoder"
_LORA_TARGETS = {"to_q_lora": "to_q", "to_k_lora": "to_k", "to_v_lora": "to_v", "to_out_lora": "to_out.0"}


class IdentityPassThroughProcessor(nn.Module):
    """Self-attention: diffusers' own processor, accepting (and ignoring) the identity kwargs."""

    def __init__(self) -> None:
        super().__init__()
        from diffusers.models.attention_processor import AttnProcessor2_0

        self.inner = AttnProcessor2_0()

    def __call__(self, attn: Any, hidden_states: torch.Tensor, encoder_hidden_states: torch.Tensor | None = None,
                 attention_mask: torch.Tensor | None = None, temb: torch.Tensor | None = None,
                 identity_tokens: torch.Tensor | None = None, identity_masks: torch.Tensor | None = None,
                 identity_scale: torch.Tensor | None = None) -> torch.Tensor:  # fmt: skip
        return self.inner(attn, hidden_states, encoder_hidden_states, attention_mask, temb)


class RegionalIdentityAttnProcessor(nn.Module):
    """Text cross-attention plus, per person, decoupled attention on that person's identity tokens in their region."""

    def __init__(self, to_k_ip: nn.Linear, to_v_ip: nn.Linear, downsample: int) -> None:
        super().__init__()
        self.to_k_ip = to_k_ip
        self.to_v_ip = to_v_ip
        # how many latent pixels one position of this layer covers per side (2 ** UNet level)
        self.downsample = downsample

    def __call__(self, attn: Any, hidden_states: torch.Tensor, encoder_hidden_states: torch.Tensor | None = None,
                 attention_mask: torch.Tensor | None = None, temb: torch.Tensor | None = None,
                 identity_tokens: torch.Tensor | None = None, identity_masks: torch.Tensor | None = None,
                 identity_scale: torch.Tensor | None = None) -> torch.Tensor:  # fmt: skip
        if hidden_states.ndim != 3 or attn.spatial_norm is not None or attn.group_norm is not None:
            raise NotImplementedError("identity attention expects SD-style (batch, positions, channels) attention")
        batch = hidden_states.shape[0]
        residual = hidden_states
        context = hidden_states if encoder_hidden_states is None else encoder_hidden_states
        if attn.norm_cross and encoder_hidden_states is not None:
            context = attn.norm_encoder_hidden_states(context)
        if attention_mask is not None:
            attention_mask = attn.prepare_attention_mask(attention_mask, context.shape[1], batch)
            attention_mask = attention_mask.view(batch, attn.heads, -1, attention_mask.shape[-1])

        # 1. Text cross-attention, as diffusers' AttnProcessor2_0
        query = attn.to_q(hidden_states)
        key, value = attn.to_k(context), attn.to_v(context)
        head_dim = key.shape[-1] // attn.heads
        q = query.view(batch, -1, attn.heads, head_dim).transpose(1, 2)
        k = key.view(batch, -1, attn.heads, head_dim).transpose(1, 2)
        v = value.view(batch, -1, attn.heads, head_dim).transpose(1, 2)
        out = F.scaled_dot_product_attention(q, k, v, attn_mask=attention_mask, dropout_p=0.0, is_causal=False)

        # 2. Identity attention: every person's tokens at once, each kept to its region
        if identity_tokens is not None and identity_masks is not None and identity_scale is not None:
            people = identity_tokens.shape[0]
            ik = self.to_k_ip(identity_tokens).view(people, -1, attn.heads, head_dim).permute(2, 0, 3, 1)
            iv = self.to_v_ip(identity_tokens).view(people, -1, attn.heads, head_dim).permute(2, 0, 1, 3)
            # (B, H, 1, N, d) @ (H, P, d, T) -> (B, H, P, N, T)
            scores = torch.matmul(q.unsqueeze(2), ik.unsqueeze(0)) * (head_dim**-0.5)
            per_person = torch.matmul(scores.softmax(dim=-1), iv.unsqueeze(0))  # (B, H, P, N, d)
            masks = identity_masks.unsqueeze(0)
            if self.downsample > 1:
                masks = F.avg_pool2d(masks, self.downsample)
            weights = masks.flatten(2).reshape(1, 1, people, -1, 1)  # (1, 1, P, N, 1)
            out = out + identity_scale * (per_person * weights).sum(dim=2)

        hidden = out.transpose(1, 2).reshape(batch, -1, attn.heads * head_dim).to(query.dtype)
        hidden = attn.to_out[1](attn.to_out[0](hidden))
        if attn.residual_connection:
            hidden = hidden + residual
        return hidden / attn.rescale_output_factor


def _level_of(name: str, levels: int) -> int:
    if name.startswith("mid_block"):
        return levels - 1
    index = int(name.split(".")[1])
    return index if name.startswith("down_blocks") else levels - 1 - index


def fuse_adapter_lora(unet: Any, ip: dict[str, Any], scale: float = 1.0) -> int:
    """Fold FaceID's per-layer LoRA into the attention weights; returns the layers changed."""
    fused = 0
    with torch.no_grad():
        for k, name in enumerate(unet.attn_processors):
            if f"{k}.to_q_lora.down.weight" not in ip:
                continue
            attn = unet.get_submodule(name.removesuffix(".processor"))
            for part, target in _LORA_TARGETS.items():
                linear = attn.get_submodule(target)
                delta = ip[f"{k}.{part}.up.weight"].float() @ ip[f"{k}.{part}.down.weight"].float()
                linear.weight += scale * delta.to(linear.weight.dtype)
            fused += 1
    return fused


def apply_identity_adapter(unet: Any, groups: StateDict, layout: AdapterLayout) -> nn.Module:
    """Load the adapter into `unet` in place (diffusers' loader, then our processors); return the projection."""
    from diffusers.models.attention_processor import IPAdapterAttnProcessor, IPAdapterAttnProcessor2_0

    unet._load_ip_adapter_weights([groups])  # noqa: SLF001 - diffusers' own published-checkpoint converter
    projection = unet.encoder_hid_proj.image_projection_layers[0]
    # the wrapper calls the projection itself; the UNet must not look for `image_embeds`
    unet.encoder_hid_proj = None
    unet.register_to_config(encoder_hid_dim_type=None)
    if layout.lora_rank:
        fuse_adapter_lora(unet, groups["ip_adapter"])
    levels = len(unet.config.block_out_channels)
    processors: dict[str, nn.Module] = {}
    for name, proc in unet.attn_processors.items():
        if isinstance(proc, (IPAdapterAttnProcessor, IPAdapterAttnProcessor2_0)):
            processors[name] = RegionalIdentityAttnProcessor(
                proc.to_k_ip[0], proc.to_v_ip[0], 2 ** _level_of(name, levels)
            )
        else:
            processors[name] = IdentityPassThroughProcessor()
    unet.set_attn_processor(processors)
    return projection


class IdentityUNet(nn.Module):
    """The UNet with the identity projection in front: the module the identity export traces."""

    def __init__(self, unet: Any, projection: nn.Module) -> None:
        super().__init__()
        self.unet = unet
        self.projection = projection

    def identity_tokens(self, identity_embeds: torch.Tensor) -> torch.Tensor:
        """(people, refs, *feature) -> (people, refs x tokens, width): each reference adds its tokens."""
        people = identity_embeds.shape[0]
        tokens = self.projection(identity_embeds.flatten(0, 1))
        return tokens.reshape(people, -1, tokens.shape[-1])

    def forward(self, sample: torch.Tensor, timestep: torch.Tensor, encoder_hidden_states: torch.Tensor,
                identity_embeds: torch.Tensor, identity_masks: torch.Tensor, identity_scale: torch.Tensor,
                timestep_cond: torch.Tensor | None = None) -> torch.Tensor:  # fmt: skip
        kwargs = {
            "identity_tokens": self.identity_tokens(identity_embeds),
            "identity_masks": identity_masks,
            "identity_scale": identity_scale,
        }
        return self.unet(sample, timestep, encoder_hidden_states, timestep_cond=timestep_cond,
                         cross_attention_kwargs=kwargs, return_dict=False)[0]  # fmt: skip


def load_identity_unet(unet_dir: Path, adapter: InstalledAdapter, model_id: str) -> IdentityUNet:
    """The fp32 torch identity UNet of a diffusers `unet/` folder with `adapter` loaded."""
    from diffusers import UNet2DConditionModel

    unet = UNet2DConditionModel.from_pretrained(unet_dir, torch_dtype=torch.float32)
    groups = adapter.state_dict()
    layout = validate_layout(groups, adapter.spec)
    check_layout_fits_unet(layout, unet, adapter.spec, model_id)
    projection = apply_identity_adapter(unet, groups, layout)
    return IdentityUNet(unet, projection).eval()


def feature_shape(adapter: InstalledAdapter, image_encoder_config: dict[str, Any] | None = None) -> tuple[int, ...]:
    """The per-reference input shape the graph takes: (dim,) for FaceID, (tokens, dim) for CLIP features."""
    if adapter.spec.family == "faceid":
        return (adapter.layout.input_dim,)
    if image_encoder_config is None:
        encoder = adapter.image_encoder_dir
        if encoder is None:
            raise PhotogenError(f"The identity adapter '{adapter.spec.id}' has no image encoder: import it again.")
        image_encoder_config = json.loads((encoder / "config.json").read_text())
    vision = image_encoder_config.get("vision_config", image_encoder_config)
    patches = (int(vision["image_size"]) // int(vision["patch_size"])) ** 2
    return (patches + 1, adapter.layout.input_dim)


def example_inputs(unet_config: Any, features: tuple[int, ...], people: int = 2, refs: int = 1,
                   side: int | None = None) -> dict[str, torch.Tensor]:  # fmt: skip
    """Random inputs of the right shapes (export tracing, parity tests)."""
    g = torch.Generator().manual_seed(0)
    levels = len(unet_config.block_out_channels)
    side = side or max(2 ** (levels - 1) * 2, 8)
    inputs = {
        "sample": torch.randn(1, unet_config.in_channels, side, side, generator=g),
        "timestep": torch.tensor(500.0),
        "encoder_hidden_states": torch.randn(1, 77, unet_config.cross_attention_dim, generator=g),
        IDENTITY_EMBEDS: torch.randn(people, refs, *features, generator=g),
        IDENTITY_MASKS: torch.ones(people, side, side) / people,
        IDENTITY_SCALE: torch.tensor(1.0),
    }
    if unet_config.time_cond_proj_dim:
        inputs["timestep_cond"] = torch.randn(1, unet_config.time_cond_proj_dim, generator=g)
    return inputs
