"""The published IP-Adapter checkpoints: their key layout, reading and writing them, and the checks on both.

The published files (`ip-adapter-faceid_sd15.bin`, `ip-adapter-plus-face_sd15.bin` or `.safetensors`)
hold two groups, nested (`.bin`) or flattened with a prefix (`.safetensors`):

- `image_proj`: the projection from the face input to identity tokens.
  FaceID: `proj.0.{weight,bias}` (MLP in), `proj.2.{weight,bias}` (MLP out: tokens x width), `norm.{weight,bias}`.
  Plus-face: `latents` (1, tokens, hidden), `proj_in`, `proj_out`, `norm_out`, and a 4-layer perceiver
  resampler `layers.{i}.0.{norm1,norm2,to_q,to_kv,to_out}` + `layers.{i}.1.{0,1,3}` (LayerNorm, MLP).
- `ip_adapter`: keyed by the index of each attention processor of the UNet in diffusers' order (self-
  and cross-attention alternate, so cross-attention layers are the odd indices): `{k}.to_k_ip.weight`,
  `{k}.to_v_ip.weight` on cross-attention layers; FaceID adds a LoRA on every attention layer,
  `{k}.to_{q,k,v,out}_lora.{down,up}.weight`.

A file that does not match raises a PhotogenError saying what is off; nothing is guessed.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from photogen.errors import PhotogenError
from photogen.generate.identity.adapters import IdentityAdapterSpec

StateDict = dict[str, dict[str, Any]]  # {"image_proj": {...}, "ip_adapter": {...}} of torch tensors

_FACEID_PROJ_KEYS = ("proj.0.weight", "proj.0.bias", "proj.2.weight", "proj.2.bias", "norm.weight", "norm.bias")
_PLUS_PROJ_KEYS = ("latents", "proj_in.weight", "proj_in.bias", "proj_out.weight", "proj_out.bias",
                   "norm_out.weight", "norm_out.bias")  # fmt: skip
_PLUS_LAYER_KEYS = ("0.norm1.weight", "0.norm1.bias", "0.norm2.weight", "0.norm2.bias", "0.to_q.weight",
                    "0.to_kv.weight", "0.to_out.weight", "1.0.weight", "1.0.bias", "1.1.weight", "1.3.weight")  # fmt: skip
PLUS_DEPTH = 4  # diffusers' IPAdapterPlusImageProjection is fixed at the published 4 layers
_LORA_PARTS = ("to_q_lora", "to_k_lora", "to_v_lora", "to_out_lora")


@dataclass(frozen=True)
class AdapterLayout:
    """What a checkpoint's shapes say about the adapter; checked against the UNet at export."""

    family: str
    # the width of one input vector: the face embedding (FaceID) or the image-encoder feature (CLIP)
    input_dim: int
    num_tokens: int
    cross_attention_dim: int
    # ip_adapter index -> width of that cross-attention layer
    cross_layers: dict[int, int]
    lora_rank: int | None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


# ----------------------------------------------------------------------------------------- reading and writing


def split_groups(flat_or_nested: Mapping[str, Any]) -> StateDict:
    """The two groups of a checkpoint, whether nested (`.bin`) or flattened with prefixes (`.safetensors`)."""
    if "image_proj" in flat_or_nested and "ip_adapter" in flat_or_nested:
        return {"image_proj": dict(flat_or_nested["image_proj"]), "ip_adapter": dict(flat_or_nested["ip_adapter"])}
    groups: StateDict = {"image_proj": {}, "ip_adapter": {}}
    for key, value in flat_or_nested.items():
        head, _, rest = key.partition(".")
        if head in groups and rest:
            groups[head][rest] = value
    if not groups["image_proj"] or not groups["ip_adapter"]:
        sample = ", ".join(list(flat_or_nested)[:4])
        raise PhotogenError(
            "This file is not an IP-Adapter checkpoint: it has no 'image_proj' and 'ip_adapter' weights "
            f"(its first keys: {sample or 'none'}). Use the published file, e.g. ip-adapter-faceid_sd15.bin."
        )
    return groups


def read_state_dict(path: Path) -> StateDict:
    """Load a `.bin` (tensors only, no code runs) or `.safetensors` adapter checkpoint."""
    import torch

    if not path.is_file():
        raise PhotogenError(f"{path} is not a file: point to the downloaded adapter checkpoint.")
    try:
        if path.suffix == ".safetensors":
            from safetensors.torch import load_file

            raw: Mapping[str, Any] = load_file(str(path))
        else:
            raw = torch.load(str(path), map_location="cpu", weights_only=True)
    except Exception as e:  # pickle, zip and safetensors each raise their own types
        raise PhotogenError(f"{path.name} could not be read as adapter weights ({e}); download it again.") from e
    if not isinstance(raw, Mapping):
        raise PhotogenError(f"{path.name} holds no state dict; it is not an IP-Adapter checkpoint.")
    return split_groups(raw)


def _shape(groups: StateDict, group: str, key: str) -> tuple[int, ...]:
    return tuple(groups[group][key].shape)


def write_state_dict(groups: StateDict, path: Path) -> None:
    """Flattened with the published `.safetensors` prefixes; tensors only, so loading runs no code."""
    from safetensors.torch import save_file

    flat = {f"{group}.{k}": v.contiguous() for group, tensors in groups.items() for k, v in tensors.items()}
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    save_file(flat, str(tmp))
    os.replace(tmp, path)


def write_torch_bin(groups: StateDict, path: Path) -> None:
    """The `.bin` form the FaceID checkpoints are published in (nested dicts, torch.save)."""
    import torch

    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"image_proj": groups["image_proj"], "ip_adapter": groups["ip_adapter"]}, str(path))


# ----------------------------------------------------------------------------------------- layout


def detect_family(image_proj: Mapping[str, Any]) -> str:
    if "perceiver_resampler.proj_in.weight" in image_proj:
        raise PhotogenError(
            "This is an IP-Adapter-FaceID-Plus checkpoint (insightface embedding + CLIP image); photogen supports "
            "IP-Adapter-FaceID (ip-adapter-faceid_sd15.bin) and IP-Adapter Plus Face (ip-adapter-plus-face_sd15)."
        )
    if "proj.weight" in image_proj or "proj.3.weight" in image_proj:
        raise PhotogenError(
            "This is a general IP-Adapter (whole-image) checkpoint, not a face identity adapter: use "
            "ip-adapter-plus-face_sd15 or ip-adapter-faceid_sd15."
        )
    if "latents" in image_proj:
        return "clip-image"
    if "norm.weight" in image_proj and "proj.0.weight" in image_proj:
        return "faceid"
    raise PhotogenError("The 'image_proj' weights match no known IP-Adapter layout; is the file complete?")


def validate_layout(groups: StateDict, adapter: IdentityAdapterSpec) -> AdapterLayout:
    """Check every key and shape the adapter's family needs; return what the shapes say."""
    family = detect_family(groups["image_proj"])
    if family != adapter.family:
        expected = "an insightface-embedding (FaceID)" if adapter.family == "faceid" else "a CLIP-image (Plus Face)"
        raise PhotogenError(
            f"This checkpoint is not {expected} adapter, so it is not '{adapter.id}'"
            + (f" (download {adapter.weight_name} from {adapter.hf_repo})." if adapter.hf_repo else ".")
        )
    proj = groups["image_proj"]
    required = list(_FACEID_PROJ_KEYS if family == "faceid" else _PLUS_PROJ_KEYS)
    if family == "clip-image":
        required += [f"layers.{i}.{k}" for i in range(PLUS_DEPTH) for k in _PLUS_LAYER_KEYS]
    _require(proj, required, "image_proj")

    if family == "faceid":
        input_dim = _shape(groups, "image_proj", "proj.0.weight")[1]
        cross = _shape(groups, "image_proj", "norm.weight")[0]
        out = _shape(groups, "image_proj", "proj.2.weight")[0]
        if (
            out % cross
            or _shape(groups, "image_proj", "proj.2.weight")[1] != _shape(groups, "image_proj", "proj.0.weight")[0]
        ):
            raise PhotogenError(
                f"image_proj shapes disagree (proj.2 {out} is not tokens x {cross}); the file is damaged."
            )
        num_tokens = out // cross
    else:
        _, num_tokens, hidden = _shape(groups, "image_proj", "latents")
        input_dim = _shape(groups, "image_proj", "proj_in.weight")[1]
        cross = _shape(groups, "image_proj", "proj_out.weight")[0]
        if _shape(groups, "image_proj", "proj_in.weight")[0] != hidden or hidden % 64:
            raise PhotogenError("image_proj resampler shapes disagree with its latents; the file is damaged.")

    ip = groups["ip_adapter"]
    indices = sorted({int(k.split(".", 1)[0]) for k in ip if k.split(".", 1)[0].isdigit()})
    if not indices or len(indices) != len({k.split(".", 1)[0] for k in ip}):
        raise PhotogenError(
            "The 'ip_adapter' weights are not keyed by attention-layer index; the file is not an IP-Adapter."
        )
    cross_layers: dict[int, int] = {}
    for k in indices:
        has_k, has_v = f"{k}.to_k_ip.weight" in ip, f"{k}.to_v_ip.weight" in ip
        if has_k != has_v:
            raise PhotogenError(f"ip_adapter layer {k} has only one of to_k_ip/to_v_ip; the file is damaged.")
        if has_k:
            width, in_dim = ip[f"{k}.to_k_ip.weight"].shape
            if in_dim != cross or tuple(ip[f"{k}.to_v_ip.weight"].shape) != (width, cross):
                raise PhotogenError(
                    f"ip_adapter layer {k} takes {in_dim}-d tokens but the projection makes {cross}-d ones; the file is damaged."
                )
            cross_layers[k] = int(width)
    if not cross_layers:
        raise PhotogenError("The checkpoint has no to_k_ip/to_v_ip weights: it adapts no cross-attention layer.")
    lora_rank = _lora_rank(ip, indices)
    return AdapterLayout(family, int(input_dim), int(num_tokens), int(cross), cross_layers, lora_rank)


def _require(group: Mapping[str, Any], keys: list[str], name: str) -> None:
    missing = [k for k in keys if k not in group]
    if missing:
        more = f" and {len(missing) - 5} more" if len(missing) > 5 else ""
        raise PhotogenError(
            f"The adapter file's '{name}' weights lack {', '.join(missing[:5])}{more}: it does not have the published "
            "IP-Adapter layout (a different version, or a truncated download)."
        )


def _lora_rank(ip: Mapping[str, Any], indices: list[int]) -> int | None:
    with_lora = [k for k in indices if f"{k}.to_q_lora.down.weight" in ip]
    if not with_lora:
        return None
    if len(with_lora) != len(indices):
        raise PhotogenError("The adapter's LoRA covers only some attention layers; the file is damaged.")
    keys = [f"{k}.{part}.{d}.weight" for k in indices for part in _LORA_PARTS for d in ("down", "up")]
    _require(ip, keys, "ip_adapter")
    return int(ip[f"{indices[0]}.to_q_lora.down.weight"].shape[0])


def unet_attention_layout(unet: Any) -> list[tuple[str, int, int | None]]:
    """(processor name, layer width, cross-attention width or None) in diffusers' processor order."""
    out = []
    blocks = list(unet.config.block_out_channels)
    for name in unet.attn_processors:
        if name.startswith("mid_block"):
            width = blocks[-1]
        elif name.startswith("up_blocks"):
            width = list(reversed(blocks))[int(name.split(".")[1])]
        else:
            width = blocks[int(name.split(".")[1])]
        cross = None if name.endswith("attn1.processor") else int(unet.config.cross_attention_dim)
        out.append((name, int(width), cross))
    return out


def check_layout_fits_unet(layout: AdapterLayout, unet: Any, adapter: IdentityAdapterSpec, model_id: str) -> None:
    """The checkpoint must adapt exactly this UNet's cross-attention layers, at their widths."""
    attn = unet_attention_layout(unet)
    unet_cross = int(unet.config.cross_attention_dim)
    if layout.cross_attention_dim != unet_cross:
        raise PhotogenError(
            f"The identity adapter '{adapter.id}' makes {layout.cross_attention_dim}-d tokens but {model_id}'s UNet "
            f"cross-attention is {unet_cross}-d: this adapter does not fit this base model."
        )
    expected = {i: width for i, (_, width, cross) in enumerate(attn) if cross is not None}
    if expected != layout.cross_layers:
        raise PhotogenError(
            f"The identity adapter '{adapter.id}' adapts {len(layout.cross_layers)} cross-attention layers but "
            f"{model_id}'s UNet has {len(expected)} (or their widths differ): this adapter does not fit this base model."
        )
