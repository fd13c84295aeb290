"""The identity export: the engine's export with the adapter inside the UNet graph.

It is a variant of the model's export (`<models_dir>/<model_id>/identity-<adapter>/<precision>/`), made
by the engine's own `export_model`: optimum exports the text encoder and the VAE, the UNet is exported
once, as the traced `IdentityUNet` (optimum's plain UNet is never exported for a variant), and CLIP-image
adapters add their image encoder; then the engine's own int8/fp16 conversions and its validation run,
with the identity UNet checked against `IdentityUNet` in torch. The manifest records the adapter's
weights hash: a re-imported adapter makes the export stale.

Past 1.8 GB a traced graph is saved as `model.onnx` + `model.onnx_data`, as the engine's own exports are.
"""

from __future__ import annotations

import json
import logging
import shutil
import tempfile
from pathlib import Path
from typing import Any

import torch
from torch import nn

from photogen.errors import PhotogenError
from photogen.generate.export import ExportHooks, StageProgress, ensure_export, export_dir, export_model
from photogen.generate.identity.adapters import check_adapter_fits
from photogen.generate.identity.unet import (
    IDENTITY_EMBEDS,
    IDENTITY_MASKS,
    IDENTITY_SCALE,
    IMAGE_ENCODER_COMPONENT,
    IdentityUNet,
    example_inputs,
    feature_shape,
    load_identity_unet,
)
from photogen.generate.identity.weights import InstalledAdapter
from photogen.generate.manifest import ExportManifest, Precision
from photogen.generate.sources import InstalledModel
from photogen.generate.validation import GraphCheck, unet_inputs
from photogen.settings import Settings

logger = logging.getLogger(__name__)

MANIFEST_KEY = "identity"


# ----------------------------------------------------------------------------------------- graphs


def _consolidate(traced: Path, out_path: Path) -> None:
    """Re-save a traced graph as the engine lays it out: one file, or past 1.8 GB `model.onnx` + `model.onnx_data`.

    The size is read from the traced files, not from the proto: protobuf cannot even measure a
    message over 2 GB (`ByteSize()` raises), which is what a full-size SD 1.5 UNet is in fp32.
    """
    import onnx

    from photogen.generate.quantize import EXTERNAL_DATA_BYTES

    data_file = out_path.with_name(out_path.name + "_data")
    for stale in (out_path, data_file):
        if stale.exists():
            stale.unlink()
    size = sum(f.stat().st_size for f in traced.parent.iterdir() if f.is_file())
    model = onnx.load(str(traced), load_external_data=True)
    if size > EXTERNAL_DATA_BYTES:
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


# ----------------------------------------------------------------------------------------- the export


def identity_variant(adapter_id: str) -> str:
    return f"identity-{adapter_id}"


def identity_export_hooks(installed: InstalledModel, adapter: InstalledAdapter) -> ExportHooks:
    model_id = installed.spec.id

    def export_unet(source_dir: Path, out: Path, opset: int) -> dict[str, object]:
        return {MANIFEST_KEY: export_identity_unet_component(source_dir, out, adapter, model_id, opset)}

    def post_export(source_dir: Path, out: Path, opset: int) -> dict[str, object]:
        export_identity_image_encoder(out, adapter, opset)
        return {}

    def checks(source_dir: Path, out: Path) -> dict[str, GraphCheck]:
        encoder_config = None
        found = {}
        if adapter.spec.family == "clip-image":
            encoder_config = json.loads((out / IMAGE_ENCODER_COMPONENT / "config.json").read_text())
            found[IMAGE_ENCODER_COMPONENT] = image_encoder_check(adapter.image_encoder_dir)  # type: ignore[arg-type]
        found["unet"] = identity_unet_check(source_dir, adapter, model_id, feature_shape(adapter, encoder_config))
        return found

    return ExportHooks(
        variant=identity_variant(adapter.spec.id),
        export_unet=export_unet,
        post_export=post_export,
        extra_components=(IMAGE_ENCODER_COMPONENT,) if adapter.spec.family == "clip-image" else (),
        validation_checks=checks,
    )


def ensure_identity_export(installed: InstalledModel, adapter: InstalledAdapter, precision: Precision,
                           settings: Settings, progress: StageProgress | None = None,
                           force: bool = False) -> tuple[Path, ExportManifest]:  # fmt: skip
    """The verified identity export of `installed` with `adapter`, exporting when missing, stale or corrupt."""
    check_adapter_fits(installed.spec, adapter.spec)
    hooks = identity_export_hooks(installed, adapter)
    if force:
        manifest = export_model(installed, precision, settings, hooks=hooks, progress=progress)
    else:
        path, manifest = ensure_export(installed, precision, settings, hooks=hooks, progress=progress)
        recorded = manifest.extra.get(MANIFEST_KEY)
        if not isinstance(recorded, dict) or recorded.get("weights_sha256") != adapter.weights_sha256:
            logger.info("identity export of %s is for other adapter weights; re-exporting", installed.spec.id)
            manifest = export_model(installed, precision, settings, hooks=hooks, progress=progress)
    return export_dir(settings, installed.spec.id, precision, hooks.variant), manifest
