"""The identity-conditioned UNet in torch: diffusers' IP-Adapter loading, our regional attention, ONNX export.

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
import shutil
import tempfile
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from photogen.errors import PhotogenError
from photogen.generate.identity.weights import (
    AdapterLayout,
    InstalledAdapter,
    StateDict,
    check_layout_fits_unet,
    validate_layout,
)
from photogen.generate.validation import GraphCheck, unet_inputs

logger = logging.getLogger(__name__)

# graph input names: the pipelines feed them by name (see pipelines._feed)
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


def _consolidate(traced: Path, out_path: Path) -> None:
    """Re-save a traced graph as the engine lays it out: one file, or past 1.8 GB `model.onnx` + `model.onnx_data`.

    The size is read from the traced files, not from the proto: protobuf cannot even measure a
    message over 2 GB (`ByteSize()` raises), which is what a full-size SD 1.5 UNet is in fp32.
    """
    import onnx

    from photogen.generate.export import _EXTERNAL_DATA_BYTES

    data_file = out_path.with_name(out_path.name + "_data")
    for stale in (out_path, data_file):
        if stale.exists():
            stale.unlink()
    size = sum(f.stat().st_size for f in traced.parent.iterdir() if f.is_file())
    model = onnx.load(str(traced), load_external_data=True)
    if size > _EXTERNAL_DATA_BYTES:
        onnx.save_model(model, str(out_path), save_as_external_data=True, all_tensors_to_one_file=True,
                        location=data_file.name)  # fmt: skip
    else:
        onnx.save_model(model, str(out_path))


def export_identity_unet(model: IdentityUNet, out_path: Path, features: tuple[int, ...], opset: int) -> None:
    """Trace `model` to ONNX at `out_path` (weights past 1.8 GB go to `model.onnx_data`, as the engine's)."""

    inputs = example_inputs(model.unet.config, features)
    names = list(inputs)
    feature_axes = {0: "people", 1: "references"}
    dynamic_axes = {
        "sample": {0: "batch_size", 2: "height", 3: "width"},
        "encoder_hidden_states": {0: "batch_size", 1: "sequence_length"},
        IDENTITY_EMBEDS: feature_axes,
        IDENTITY_MASKS: {0: "people", 1: "height", 2: "width"},
        "out_sample": {0: "batch_size", 2: "height", 3: "width"},
    }
    if "timestep_cond" in inputs:
        dynamic_axes["timestep_cond"] = {0: "batch_size"}
    # the wrapper's positional order: timestep_cond is last
    ordered = [n for n in names if n != "timestep_cond"] + (["timestep_cond"] if "timestep_cond" in inputs else [])
    with tempfile.TemporaryDirectory(dir=out_path.parent) as tmp:
        traced = Path(tmp) / "model.onnx"
        with torch.no_grad():
            torch.onnx.export(
                model,
                tuple(inputs[n] for n in ordered),
                str(traced),
                input_names=ordered,
                output_names=["out_sample"],
                dynamic_axes=dynamic_axes,
                opset_version=opset,
                do_constant_folding=True,
                dynamo=False,  # the TorchScript exporter, as optimum uses: it keeps these dynamic axes
            )
        _consolidate(traced, out_path)


class _PenultimateFeatures(nn.Module):
    """CLIP vision hidden states of the second-to-last layer: what IP-Adapter Plus was trained on."""

    def __init__(self, encoder: Any) -> None:
        super().__init__()
        self.encoder = encoder

    def forward(self, pixel_values: torch.Tensor) -> torch.Tensor:
        return self.encoder(pixel_values, output_hidden_states=True).hidden_states[-2]


def export_image_encoder(encoder_dir: Path, out_dir: Path, opset: int) -> dict[str, Any]:
    """ONNX of the adapter's CLIP image encoder (pixel_values -> penultimate hidden states); returns its config."""
    from transformers import CLIPVisionModelWithProjection

    encoder = CLIPVisionModelWithProjection.from_pretrained(encoder_dir, torch_dtype=torch.float32).eval()
    size = int(encoder.config.image_size)
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=out_dir) as tmp:
        traced = Path(tmp) / "model.onnx"
        with torch.no_grad():
            torch.onnx.export(
                _PenultimateFeatures(encoder),
                (torch.zeros(1, 3, size, size),),
                str(traced),
                input_names=["pixel_values"],
                output_names=["image_features"],
                dynamic_axes={"pixel_values": {0: "batch_size"}, "image_features": {0: "batch_size"}},
                opset_version=opset,
                do_constant_folding=True,
                dynamo=False,
            )
        _consolidate(traced, out_dir / "model.onnx")
    config = encoder.config.to_dict()
    (out_dir / "config.json").write_text(json.dumps(config, indent=2, sort_keys=True, default=str))
    return config


def identity_unet_check(source_dir: Path, adapter: InstalledAdapter, model_id: str,
                        features: tuple[int, ...]) -> GraphCheck:  # fmt: skip
    """The identity UNet graph against `IdentityUNet` in torch: two people, each in half of the image."""
    import numpy as np

    unet_config = json.loads((source_dir / "unet" / "config.json").read_text())
    inputs = unet_inputs(unet_config)
    side = inputs["sample"].shape[-1]
    rng = np.random.default_rng(6)
    masks = np.zeros((2, side, side), dtype=np.float32)
    masks[0, :, : side // 2] = 1.0
    masks[1, :, side // 2 :] = 1.0
    inputs |= {
        IDENTITY_EMBEDS: rng.standard_normal((2, 1, *features)).astype(np.float32),
        IDENTITY_MASKS: masks,
        IDENTITY_SCALE: np.array(1.0, dtype=np.float32),
    }

    def reference(feed: dict[str, np.ndarray]) -> np.ndarray:
        model = load_identity_unet(source_dir / "unet", adapter, model_id)
        with torch.no_grad():
            out = model(**{k: torch.from_numpy(v) for k, v in feed.items()}).numpy()
        del model
        return out

    return GraphCheck("unet", inputs, reference)


def image_encoder_check(encoder_dir: Path) -> GraphCheck:
    import numpy as np
    from transformers import CLIPVisionConfig

    size = int(CLIPVisionConfig.from_pretrained(encoder_dir).image_size)
    pixels = np.random.default_rng(7).standard_normal((1, 3, size, size)).astype(np.float32)

    def reference(feed: dict[str, np.ndarray]) -> np.ndarray:
        from transformers import CLIPVisionModelWithProjection

        encoder = CLIPVisionModelWithProjection.from_pretrained(encoder_dir, torch_dtype=torch.float32).eval()
        with torch.no_grad():
            out = _PenultimateFeatures(encoder)(torch.from_numpy(feed["pixel_values"])).numpy()
        del encoder
        return out

    return GraphCheck(IMAGE_ENCODER_COMPONENT, {"pixel_values": pixels}, reference)


def _encoder_dir(adapter: InstalledAdapter) -> Path:
    encoder_dir = adapter.image_encoder_dir
    if encoder_dir is None:
        raise PhotogenError(f"The identity adapter '{adapter.spec.id}' has no image encoder: import it again.")
    return encoder_dir


def export_identity_image_encoder(export_dir: Path, adapter: InstalledAdapter, opset: int) -> dict[str, Any] | None:
    """The CLIP image encoder a clip-image adapter needs, as a component of the export; its config (or None)."""
    if adapter.spec.family != "clip-image":
        return None
    return export_image_encoder(_encoder_dir(adapter), export_dir / IMAGE_ENCODER_COMPONENT, opset)


def export_identity_unet_component(source_dir: Path, export_dir: Path, adapter: InstalledAdapter, model_id: str,
                                   opset: int) -> dict[str, Any]:  # fmt: skip
    """The export's only UNet: the identity UNet traced once (optimum's plain UNet is not exported at all)."""
    encoder_config = None
    if adapter.spec.family == "clip-image":
        from transformers import CLIPVisionConfig

        encoder_config = CLIPVisionConfig.from_pretrained(_encoder_dir(adapter)).to_dict()
    features = feature_shape(adapter, encoder_config)
    unet_out = export_dir / "unet"
    unet_out.mkdir(parents=True, exist_ok=True)
    shutil.copy(source_dir / "unet" / "config.json", unet_out / "config.json")
    model = load_identity_unet(source_dir / "unet", adapter, model_id)
    export_identity_unet(model, unet_out / "model.onnx", features, opset)
    del model
    return {
        "adapter_id": adapter.spec.id,
        "family": adapter.spec.family,
        "weights_sha256": adapter.weights_sha256,
        "feature_shape": list(features),
        "num_tokens": adapter.layout.num_tokens,
        "reference_mode": adapter.spec.reference_mode,
        "inputs": [IDENTITY_EMBEDS, IDENTITY_MASKS, IDENTITY_SCALE],
    }
