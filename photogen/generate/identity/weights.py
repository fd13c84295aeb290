"""Identity adapter weights: the published checkpoints' key layout, its checks, import and tiny test weights.

The published IP-Adapter checkpoints (`ip-adapter-faceid_sd15.bin`, `ip-adapter-plus-face_sd15.bin` or
`.safetensors`) hold two groups, nested (`.bin`) or flattened with a prefix (`.safetensors`):

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

import hashlib
import json
import logging
import os
import shutil
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from photogen.errors import PhotogenError
from photogen.generate.identity.adapters import IdentityAdapterSpec, get_adapter_spec
from photogen.settings import Settings

logger = logging.getLogger(__name__)

StateDict = dict[str, dict[str, Any]]  # {"image_proj": {...}, "ip_adapter": {...}} of torch tensors

ADAPTER_FILE = "adapter.safetensors"
ADAPTER_RECORD = "adapter.json"
IMAGE_ENCODER_DIR = "image_encoder"

_FACEID_PROJ_KEYS = ("proj.0.weight", "proj.0.bias", "proj.2.weight", "proj.2.bias", "norm.weight", "norm.bias")
_PLUS_PROJ_KEYS = ("latents", "proj_in.weight", "proj_in.bias", "proj_out.weight", "proj_out.bias",
                   "norm_out.weight", "norm_out.bias")  # fmt: skip
_PLUS_LAYER_KEYS = ("0.norm1.weight", "0.norm1.bias", "0.norm2.weight", "0.norm2.bias", "0.to_q.weight",
                    "0.to_kv.weight", "0.to_out.weight", "1.0.weight", "1.0.bias", "1.1.weight", "1.3.weight")  # fmt: skip
_PLUS_DEPTH = 4  # diffusers' IPAdapterPlusImageProjection is fixed at the published 4 layers
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


# ----------------------------------------------------------------------------------------- reading


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
        required += [f"layers.{i}.{k}" for i in range(_PLUS_DEPTH) for k in _PLUS_LAYER_KEYS]
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


# ----------------------------------------------------------------------------------------- tiny weights


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
        for i in range(_PLUS_DEPTH):
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


# ----------------------------------------------------------------------------------------- install


@dataclass(frozen=True)
class InstalledAdapter:
    spec: IdentityAdapterSpec
    dir: Path
    weights_sha256: str
    layout: AdapterLayout

    @property
    def weights_path(self) -> Path:
        return self.dir / ADAPTER_FILE

    @property
    def image_encoder_dir(self) -> Path | None:
        path = self.dir / IMAGE_ENCODER_DIR
        return path if path.is_dir() else None

    def state_dict(self) -> StateDict:
        return read_state_dict(self.weights_path)


def adapters_home(settings: Settings) -> Path:
    return settings.home / "adapters"


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 22), b""):
            h.update(chunk)
    return h.hexdigest()


def _image_encoder_fingerprint(folder: Path) -> str:
    h = hashlib.sha256()
    for p in sorted(q for q in folder.rglob("*") if q.is_file()):
        h.update(f"{p.relative_to(folder).as_posix()}\0{_sha256(p)}\n".encode())
    return h.hexdigest()


def import_adapter(path: str | Path, adapter_id: str, settings: Settings, *, accept_license: bool = False,
                   image_encoder: str | Path | None = None) -> InstalledAdapter:  # fmt: skip
    """Install the user's own download of `adapter_id` after checking its layout (and license opt-in).

    `image_encoder`: for CLIP-image adapters, the downloaded encoder folder (`models/image_encoder` of
    h94/IP-Adapter: config.json + model.safetensors).
    """
    spec = get_adapter_spec(adapter_id)
    if spec.needs_license_acceptance and not accept_license:
        raise PhotogenError(
            f"{spec.title} is under the {spec.license.name} ({spec.license.url}): {spec.license.summary} "
            f"Accept it to use this adapter (--accept-license), or use ip-adapter-plus-face (Apache-2.0)."
        )
    groups = read_state_dict(Path(path))
    layout = validate_layout(groups, spec)
    encoder_src = Path(image_encoder) if image_encoder else None
    if spec.family == "clip-image":
        if encoder_src is None or not (encoder_src / "config.json").exists():
            raise PhotogenError(
                f"{spec.id} needs its CLIP image encoder: pass the folder {spec.image_encoder_subfolder or 'image_encoder'} "
                f"downloaded from {spec.hf_repo or 'the adapter repo'} (config.json + model.safetensors)."
            )
        _check_image_encoder(encoder_src, layout)
    out = adapters_home(settings) / spec.id
    staging = out.with_name(f".staging-{spec.id}")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    write_state_dict(groups, staging / ADAPTER_FILE)
    if encoder_src is not None and spec.family == "clip-image":
        shutil.copytree(encoder_src, staging / IMAGE_ENCODER_DIR)
    sha = _sha256(staging / ADAPTER_FILE)
    if (staging / IMAGE_ENCODER_DIR).is_dir():
        sha = hashlib.sha256((sha + _image_encoder_fingerprint(staging / IMAGE_ENCODER_DIR)).encode()).hexdigest()
    record = {
        "adapter_id": spec.id,
        "imported_from": str(path),
        "weights_sha256": sha,
        "layout": layout.to_json(),
        "license": spec.license.id,
        "license_accepted_at": datetime.now(timezone.utc).isoformat(timespec="seconds")
        if spec.needs_license_acceptance
        else None,
    }
    (staging / ADAPTER_RECORD).write_text(json.dumps(record, indent=2, sort_keys=True))
    shutil.rmtree(out, ignore_errors=True)
    os.replace(staging, out)
    logger.info("installed identity adapter %s from %s", spec.id, path)
    return installed_adapter(spec.id, settings)


def _check_image_encoder(folder: Path, layout: AdapterLayout) -> None:
    config = json.loads((folder / "config.json").read_text())
    vision = config.get("vision_config", config)
    hidden = vision.get("hidden_size")
    if hidden != layout.input_dim:
        raise PhotogenError(
            f"The image encoder in {folder} makes {hidden}-d features but the adapter takes {layout.input_dim}-d ones: "
            "use the encoder published with the adapter (OpenCLIP ViT-H/14, 1280-d)."
        )


def installed_adapter(adapter_id: str, settings: Settings) -> InstalledAdapter:
    spec = get_adapter_spec(adapter_id)
    folder = adapters_home(settings) / spec.id
    record_path = folder / ADAPTER_RECORD
    if not record_path.exists():
        how = (
            "`photogen.generate.identity.create_tiny_adapter` makes it"
            if spec.test_model
            else f"download {spec.weight_name} from https://huggingface.co/{spec.hf_repo} and import it"
        )
        raise PhotogenError(f"The identity adapter '{spec.id}' is not installed: {how}.")
    record = json.loads(record_path.read_text())
    if spec.needs_license_acceptance and not record.get("license_accepted_at"):
        raise PhotogenError(f"The license of '{spec.id}' was not accepted: import it again with --accept-license.")
    layout = AdapterLayout(
        **{**record["layout"], "cross_layers": {int(k): v for k, v in record["layout"]["cross_layers"].items()}}
    )
    return InstalledAdapter(spec, folder, record["weights_sha256"], layout)


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


_TINY_CLIP_HIDDEN = 32


def write_tiny_image_encoder(out: Path, image_size: int, seed: int = 0) -> Path:
    """A tiny random CLIPVisionModelWithProjection in the published encoder's folder layout."""
    import torch
    from transformers import CLIPVisionConfig, CLIPVisionModelWithProjection

    torch.manual_seed(seed)
    config = CLIPVisionConfig(hidden_size=_TINY_CLIP_HIDDEN, intermediate_size=37, num_hidden_layers=2,
                              num_attention_heads=4, image_size=image_size, patch_size=8, projection_dim=16)  # fmt: skip
    CLIPVisionModelWithProjection(config).save_pretrained(out)
    return out
