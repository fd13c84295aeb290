"""ONNX export with optimum-onnx, weight quantization and fp16 conversion, written atomically.

Layout: `<models_dir>/<model_id>/<precision>/` holds optimum's diffusers ONNX layout (text_encoder/,
unet/, vae_encoder/, vae_decoder/, tokenizer/, scheduler/, model_index.json) plus the manifest. An export
is built in a staging folder beside it and renamed into place after its manifest is written, so a
killed export leaves only a staging folder, which is never loaded and is cleared by the next export.

Extension point for the identity adapter (issue 6): `ExportHooks` lets a caller change the torch
pipeline before export (load and fuse an adapter) and hand optimum custom ONNX configs for the UNet
(extra graph inputs such as the face embedding), and record facts in the manifest.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from photogen.errors import PhotogenError
from photogen.generate.manifest import (
    MANIFEST_NAME,
    ExportInvalidError,
    ExportManifest,
    Precision,
    SourceInfo,
    verify_export,
    write_manifest,
)
from photogen.generate.sources import InstalledModel, lora_weights_dir
from photogen.generate.tiny import TEST_MODEL_MARKER
from photogen.settings import Settings

logger = logging.getLogger(__name__)

DEFAULT_OPSET = 17
# (stage, done, total)
StageProgress = Callable[[str, int, int], None]

# The VAE stays fp32 in every precision: SD 1.5's VAE overflows in fp16, and quantizing it buys little
# (it runs once per image, not once per step) while its errors show directly in pixels.
_QUANTIZED_COMPONENTS = ("unet", "text_encoder")
_FP16_COMPONENTS = ("unet", "text_encoder")
# Weight-bearing ops. MatMulConstBOnly keeps attention's activation-by-activation MatMuls in fp32.
_INT8_OP_TYPES = ("Conv", "MatMul", "Gemm", "Gather")
# protobuf cannot hold more than 2 GiB; past this, weights go in an external data file
_EXTERNAL_DATA_BYTES = 1_800_000_000


@dataclass
class ExportHooks:
    """What a caller may change about an export (the identity adapter uses all three)."""

    # called with the loaded torch pipeline before export; returns the pipeline to export
    prepare_pipeline: Callable[[Any], Any] | None = None
    # optimum's main_export(custom_onnx_configs=..., fn_get_submodels=...)
    custom_onnx_configs: dict[str, Any] | None = None
    fn_get_submodels: Callable[[Any], dict[str, Any]] | None = None
    manifest_extra: dict[str, object] = field(default_factory=dict)
    # a named variant of the model (e.g. with an identity adapter) exports beside the plain one, under
    # `<model_id>/<variant>/<precision>/`, so both stay usable
    variant: str | None = None
    # called after optimum's export, before quantization, with (source dir as exported, staging export
    # dir, opset): replaces or adds ONNX components; what it returns is added to the manifest's extra
    post_export: Callable[[Path, Path, int], dict[str, object] | None] | None = None
    # components besides the UNet and the text encoder that are quantized and converted like them
    extra_components: tuple[str, ...] = ()


def export_dir(settings: Settings, model_id: str, precision: Precision, variant: str | None = None) -> Path:
    if variant:
        return settings.models_dir / model_id / variant / precision
    return settings.models_dir / model_id / precision


def ensure_export(installed: InstalledModel, precision: Precision, settings: Settings, hooks: ExportHooks | None = None,
                  progress: StageProgress | None = None, opset: int = DEFAULT_OPSET) -> tuple[Path, ExportManifest]:  # fmt: skip
    """The verified export of `installed` at `precision`, exporting first when it is missing, stale or corrupt."""
    out = export_dir(settings, installed.spec.id, precision, hooks.variant if hooks else None)
    if out.exists():
        try:
            return out, verify_export(out, installed.source)
        except ExportInvalidError as e:
            logger.warning("re-exporting %s %s: %s", installed.spec.id, precision, e)
    manifest = export_model(installed, precision, settings, hooks=hooks, progress=progress, opset=opset)
    return out, manifest


def export_model(installed: InstalledModel, precision: Precision, settings: Settings, hooks: ExportHooks | None = None,
                 progress: StageProgress | None = None, opset: int = DEFAULT_OPSET) -> ExportManifest:  # fmt: skip
    """Export `installed` to ONNX at `precision`, replacing any previous export only once this one is complete."""
    hooks = hooks or ExportHooks()
    final = export_dir(settings, installed.spec.id, precision, hooks.variant)
    final.parent.mkdir(parents=True, exist_ok=True)
    # what killed exports left: unfinished staging folders (with their prepared pipelines) and a
    # previous export moved aside by a swap that never completed
    for pattern in (f".staging-{precision}-*", f".old-{final.name}-*"):
        for leftover in final.parent.glob(pattern):
            logger.info("removing what an unfinished export left: %s", leftover)
            shutil.rmtree(leftover, ignore_errors=True)
    staging = final.parent / f".staging-{precision}-{uuid.uuid4().hex[:8]}"
    report = progress or (lambda stage, done, total: None)
    try:
        report("export", 0, 3)
        extra = dict(hooks.manifest_extra)
        extra.update(_optimum_export(installed, staging, settings, hooks, opset))
        report("convert", 1, 3)
        if precision == "int8":
            for component in (*_QUANTIZED_COMPONENTS, *hooks.extra_components):
                quantize_weights_int8(staging / component / "model.onnx")
        elif precision == "fp16":
            for component in (*_FP16_COMPONENTS, *hooks.extra_components):
                convert_to_fp16(staging / component / "model.onnx")
        if installed.test_model:
            (staging / TEST_MODEL_MARKER).write_text('{"test_model": true}\n')
        report("manifest", 2, 3)
        manifest = write_manifest(
            staging,
            {
                "model_id": installed.spec.id,
                "precision": precision,
                "opset": opset,
                "source": installed.source,
                "test_model": installed.test_model,
                "extra": extra,
            },
        )
        _swap_into_place(staging, final)
        report("done", 3, 3)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    logger.info("exported %s %s to %s", installed.spec.id, precision, final)
    return manifest


def _swap_into_place(staging: Path, final: Path) -> None:
    # rename is atomic on one filesystem; the old export is moved aside first because a directory
    # cannot be renamed over a non-empty one
    old = final.parent / f".old-{final.name}-{uuid.uuid4().hex[:8]}"
    if final.exists():
        os.replace(final, old)
    os.replace(staging, final)
    shutil.rmtree(old, ignore_errors=True)


def _optimum_export(
    installed: InstalledModel, out: Path, settings: Settings, hooks: ExportHooks, opset: int
) -> dict[str, object]:
    from optimum.exporters.onnx import main_export

    needs_torch_changes = installed.spec.lora_repo is not None or hooks.prepare_pipeline is not None
    # beside the staging folder and named after it, so the next export clears it if this one is killed
    with tempfile.TemporaryDirectory(dir=out.parent, prefix=f"{out.name}-prepared-") as tmp:
        source_dir = installed.source_dir
        if needs_torch_changes:
            source_dir = _prepared_pipeline_dir(installed, Path(tmp), settings, hooks)
        try:
            main_export(
                str(source_dir),
                str(out),
                task="text-to-image",
                opset=opset,
                library_name="diffusers",
                # parity is checked by our own tests with stated tolerances; optimum's check doubles export time
                do_validation=False,
                local_files_only=True,
                custom_onnx_configs=hooks.custom_onnx_configs,
                fn_get_submodels=hooks.fn_get_submodels,
            )
        except (OSError, ValueError, RuntimeError) as e:
            raise PhotogenError(
                f"Export of {installed.spec.id} to ONNX failed: {e}. Re-import or re-download the model."
            ) from e
        if hooks.post_export is not None:
            return dict(hooks.post_export(Path(source_dir), out, opset) or {})
    return {}


def _prepared_pipeline_dir(installed: InstalledModel, tmp: Path, settings: Settings, hooks: ExportHooks) -> Path:
    from diffusers import StableDiffusionPipeline

    pipe = StableDiffusionPipeline.from_pretrained(installed.source_dir, safety_checker=None, local_files_only=True)
    if installed.spec.lora_repo:
        # LCM-LoRA is fused into the UNet weights: the exported graph is then a plain LCM UNet
        pipe.load_lora_weights(str(lora_weights_dir(installed, settings)))
        pipe.fuse_lora()
        pipe.unload_lora_weights()
    if hooks.prepare_pipeline is not None:
        pipe = hooks.prepare_pipeline(pipe)
    out = tmp / "prepared"
    pipe.save_pretrained(out)
    return out


def _tensor_bytes(model: Any) -> int:
    """The weights' size. Not `ModelProto.ByteSize()`: protobuf cannot size a message over 2 GB,
    which a full-size fp32 UNet is."""
    total = 0
    for tensor in model.graph.initializer:
        total += len(tensor.raw_data) or 4 * (len(tensor.float_data) + len(tensor.int32_data)) + 8 * len(tensor.int64_data)
    return total


def _save_onnx(model: Any, path: Path) -> None:
    import onnx

    data_file = path.with_name(path.name + "_data")
    if data_file.exists():
        data_file.unlink()
    if _tensor_bytes(model) > _EXTERNAL_DATA_BYTES:
        onnx.save_model(
            model, str(path), save_as_external_data=True, all_tensors_to_one_file=True, location=data_file.name
        )
    else:
        onnx.save_model(model, str(path))


def quantize_weights_int8(model_path: Path) -> None:
    """Int8 weights with dynamic (per-call) activation scaling; no calibrated int8 activations."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    out = model_path.with_name("model.int8.onnx")
    quantize_dynamic(
        model_path,
        out,
        op_types_to_quantize=list(_INT8_OP_TYPES),
        weight_type=QuantType.QInt8,
        per_channel=True,
        extra_options={"MatMulConstBOnly": True},
    )
    data_file = model_path.with_name(model_path.name + "_data")
    if data_file.exists():
        data_file.unlink()
    os.replace(out, model_path)


def convert_to_fp16(model_path: Path) -> None:
    """fp16 weights and compute; inputs and outputs stay fp32 so the runtime loop is the same for all precisions."""
    import onnx
    from onnxruntime.transformers.float16 import convert_float_to_float16

    model = onnx.load(str(model_path), load_external_data=True)
    model = convert_float_to_float16(
        model, keep_io_types=True, disable_shape_infer=_tensor_bytes(model) > _EXTERNAL_DATA_BYTES
    )
    _save_onnx(model, model_path)


def model_files_bytes(export: Path) -> int:
    return sum(p.stat().st_size for p in export.rglob("*") if p.is_file() and p.name != MANIFEST_NAME)


__all__ = [
    "DEFAULT_OPSET",
    "ExportHooks",
    "SourceInfo",
    "convert_to_fp16",
    "ensure_export",
    "export_dir",
    "export_model",
    "model_files_bytes",
    "quantize_weights_int8",
]
