"""ONNX export with optimum-onnx, weight quantization and fp16 conversion, checked against torch, written atomically.

Layout: `<models_dir>/<model_id>/<precision>/` holds optimum's diffusers ONNX layout (text_encoder/,
unet/, vae_encoder/, vae_decoder/, tokenizer/, scheduler/, model_index.json) plus the manifest. An export
is built in a staging folder beside it and renamed into place after its manifest is written, so a
killed export leaves only a staging folder, which is never loaded and is cleared by the next export.

Every export validates itself before it is moved into place (validation.py): each graph runs once
beside its torch original on fixed inputs, the max/mean difference goes into the manifest, and an export
beyond its precision's bound is refused with the numbers.

Memory: the graphs are exported one at a time (text encoder and VAE, then the UNet alone), each torch
module freed before the next loads, and conversions work from the saved files, so a full-size SD 1.5
export peaks at about one UNet export rather than a whole pipeline plus its quantized copy.

Extension point for the identity adapter (issue 6): `ExportHooks` lets a caller change the torch
pipeline before export, export the UNet itself (the identity UNet, with the face input as a graph
input), add components, add validation checks, and record facts in the manifest.
"""

from __future__ import annotations

import gc
import json
import logging
import os
import shutil
import tempfile
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

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
from photogen.generate.validation import GraphCheck, standard_checks, validate_graphs
from photogen.settings import Settings

logger = logging.getLogger(__name__)

DEFAULT_OPSET = 17
# (stage, done, total)
StageProgress = Callable[[str, int, int], None]

# The VAE stays fp32 in every precision: SD 1.5's VAE overflows in fp16, and quantizing it buys little
# (it runs once per image, not once per step) while its errors show directly in pixels.
_QUANTIZED_COMPONENTS = ("unet", "text_encoder")
# Weight-bearing ops. MatMulConstBOnly keeps attention's activation-by-activation MatMuls in fp32.
_INT8_OP_TYPES = ("Conv", "MatMul", "Gemm", "Gather")
# protobuf cannot hold more than 2 GiB; past this, weights go in an external data file
_EXTERNAL_DATA_BYTES = 1_800_000_000


@dataclass
class ExportHooks:
    """What a caller may change about an export (the identity adapter uses most of these)."""

    # called with the loaded torch pipeline before export; returns the pipeline to export
    prepare_pipeline: Callable[[Any], Any] | None = None
    manifest_extra: dict[str, object] = field(default_factory=dict)
    # a named variant of the model (e.g. with an identity adapter) exports beside the plain one, under
    # `<model_id>/<variant>/<precision>/`, so both stay usable
    variant: str | None = None
    # exports the UNet instead of optimum's plain UNet export, with (source dir, staging export dir, opset):
    # writes `unet/model.onnx` and `unet/config.json`; what it returns is added to the manifest's extra
    export_unet: Callable[[Path, Path, int], dict[str, object] | None] | None = None
    # called after the graphs are exported, before conversion, with (source dir, staging export dir, opset):
    # adds ONNX components; what it returns is added to the manifest's extra
    post_export: Callable[[Path, Path, int], dict[str, object] | None] | None = None
    # components besides the UNet and the text encoder that are quantized and converted like them
    extra_components: tuple[str, ...] = ()
    # (source dir, staging export dir) -> checks that replace or add to the standard ones (validation.py)
    validation_checks: Callable[[Path, Path], dict[str, GraphCheck]] | None = None


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
    """Export `installed` to ONNX at `precision`, check every graph against torch, and only then replace any
    previous export. An export beyond its precision's drift bound raises ExportValidationError and is not kept."""
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
    label = installed.spec.id + (f" ({hooks.variant})" if hooks.variant else "")
    try:
        # beside the staging folder and named after it, so the next export clears it if this one is killed
        with tempfile.TemporaryDirectory(dir=final.parent, prefix=f"{staging.name}-prepared-") as tmp:
            report("export", 0, 4)
            source_dir = _source_for_export(installed, Path(tmp), settings, hooks)
            extra = dict(hooks.manifest_extra)
            extra.update(export_graphs(source_dir, staging, hooks, opset, installed.spec.id))
            report("convert", 1, 4)
            components = [c for c in (*_QUANTIZED_COMPONENTS, *hooks.extra_components)
                          if (staging / c / "model.onnx").exists()]  # fmt: skip
            for component in components:
                convert_precision(staging / component / "model.onnx", precision)
            report("validate", 2, 4)
            checks = standard_checks(source_dir, set(onnx_components(staging)))
            if hooks.validation_checks is not None:
                checks.update(hooks.validation_checks(source_dir, staging))
            drift = validate_graphs(staging, list(checks.values()), precision, label)
        if installed.test_model:
            (staging / TEST_MODEL_MARKER).write_text('{"test_model": true}\n')
        report("manifest", 3, 4)
        manifest = write_manifest(
            staging,
            {
                "model_id": installed.spec.id,
                "precision": precision,
                "opset": opset,
                "source": installed.source,
                "test_model": installed.test_model,
                "extra": extra,
                "validation": drift,
            },
        )
        _swap_into_place(staging, final)
        report("done", 4, 4)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    logger.info("exported %s %s to %s", installed.spec.id, precision, final)
    return manifest


def convert_precision(model_path: Path, precision: Precision) -> None:
    """Convert one saved fp32 graph in place (from the file, so the torch modules are long gone)."""
    if precision == "int8":
        quantize_weights_int8(model_path)
    elif precision == "int8w":
        quantize_weights_only_int8(model_path)
    elif precision == "fp16":
        convert_to_fp16(model_path)


def onnx_components(export: Path) -> list[str]:
    return sorted(p.parent.name for p in export.glob("*/model.onnx"))


def _swap_into_place(staging: Path, final: Path) -> None:
    # rename is atomic on one filesystem; the old export is moved aside first because a directory
    # cannot be renamed over a non-empty one
    old = final.parent / f".old-{final.name}-{uuid.uuid4().hex[:8]}"
    if final.exists():
        os.replace(final, old)
    os.replace(staging, final)
    shutil.rmtree(old, ignore_errors=True)


def _source_for_export(installed: InstalledModel, tmp: Path, settings: Settings, hooks: ExportHooks) -> Path:
    """The diffusers folder the graphs are exported from (and checked against): the source, or a prepared copy."""
    if installed.spec.lora_repo is not None or hooks.prepare_pipeline is not None:
        return _prepared_pipeline_dir(installed, tmp, settings, hooks)
    return Path(installed.source_dir)


def export_graphs(source_dir: Path, out: Path, hooks: ExportHooks, opset: int, model_id: str) -> dict[str, object]:
    """One graph at a time, each torch module freed before the next loads (peak memory is one UNet export).

    optimum exports the text encoder and the VAE from a pipeline loaded without its UNet; the UNet is
    exported on its own, with optimum's UNet config, or by `hooks.export_unet` (the identity UNet), so an
    identity variant is exported once, not once by optimum and again by the hook.
    """
    from diffusers import StableDiffusionPipeline
    from optimum.exporters.onnx import onnx_export_from_model

    try:
        pipe = StableDiffusionPipeline.from_pretrained(
            source_dir, unet=None, safety_checker=None, feature_extractor=None, local_files_only=True
        )
        onnx_export_from_model(pipe, out, opset=opset, do_validation=False, task="text-to-image")
        del pipe
        gc.collect()
        _record_unet_in_index(source_dir, out)
        extra: dict[str, object] = {}
        if hooks.export_unet is not None:
            extra.update(hooks.export_unet(source_dir, out, opset) or {})
        else:
            export_plain_unet(source_dir, out / "unet", opset)
        gc.collect()
        if hooks.post_export is not None:
            extra.update(hooks.post_export(source_dir, out, opset) or {})
    except (OSError, ValueError, RuntimeError) as e:
        raise PhotogenError(f"Export of {model_id} to ONNX failed: {e}. Re-import or re-download the model.") from e
    return extra


def _record_unet_in_index(source_dir: Path, out: Path) -> None:
    # the pipeline was loaded without its UNet, so optimum's model_index.json lists none; restore the source's entry
    index_path = out / "model_index.json"
    if not index_path.exists():
        return
    index = json.loads(index_path.read_text())
    source_index = json.loads((source_dir / "model_index.json").read_text())
    index["unet"] = source_index.get("unet", ["diffusers", "UNet2DConditionModel"])
    index_path.write_text(json.dumps(index, indent=2, sort_keys=True))


def export_plain_unet(source_dir: Path, unet_out: Path, opset: int) -> None:
    """The UNet alone through optimum's UNet export config: the same graph optimum's pipeline export makes."""
    import torch
    from diffusers import UNet2DConditionModel
    from optimum.exporters.onnx.convert import export
    from optimum.exporters.tasks import TasksManager
    from optimum.exporters.utils import _get_diffusers_submodel_type

    unet = UNet2DConditionModel.from_pretrained(source_dir / "unet", torch_dtype=torch.float32).eval()
    text_config = json.loads((source_dir / "text_encoder" / "config.json").read_text())
    # the attributes optimum's pipeline export sets on an SD UNet before building its config
    unet.config.requires_aesthetics_score = False
    unet.config.time_cond_proj_dim = getattr(unet.config, "time_cond_proj_dim", None)
    unet.config.text_encoder_projection_dim = int(text_config.get("projection_dim", 512))
    unet.config.export_model_type = _get_diffusers_submodel_type(unet)
    constructor = TasksManager.get_exporter_config_constructor(
        model=unet, exporter="onnx", library_name="diffusers", task="semantic-segmentation"
    )
    onnx_config = constructor(unet.config, int_dtype="int64", float_dtype="fp32")
    unet_out.mkdir(parents=True, exist_ok=True)
    unet.save_config(unet_out)
    export(unet, onnx_config, unet_out / "model.onnx", opset=opset)
    del unet


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
    del pipe
    gc.collect()
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


def _uses_external_data(model_path: Path) -> bool:
    size = sum(f.stat().st_size for f in model_path.parent.iterdir() if f.is_file() and f.name.startswith(model_path.name))
    return size > _EXTERNAL_DATA_BYTES


def quantize_weights_int8(model_path: Path) -> None:
    """"int8 dynamic": int8 weights and int8 activations scaled per call (ConvInteger/MatMulInteger); no calibration.

    Quantized from the saved file: ORT's quantizer reads external data itself, so no torch module is alive."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    out = model_path.with_name("model.int8.onnx")
    quantize_dynamic(
        model_path,
        out,
        op_types_to_quantize=list(_INT8_OP_TYPES),
        weight_type=QuantType.QInt8,
        per_channel=True,
        use_external_data_format=_uses_external_data(model_path),
        extra_options={"MatMulConstBOnly": True},
    )
    data_file = model_path.with_name(model_path.name + "_data")
    if data_file.exists():
        data_file.unlink()
    os.replace(out, model_path)


# (op type, input index of the weight) whose constant weights the weight-only int8 stores in 8 bits
_WEIGHT_SLOTS = {"Conv": 1, "MatMul": 1, "Gemm": 1, "Gather": 0}


def _per_channel_axis(op_type: str, node: Any, ndim: int) -> int:
    if op_type == "Conv" or op_type == "Gather":
        return 0  # output channels / one scale per embedding row
    if op_type == "Gemm":
        trans_b = next((a.i for a in node.attribute if a.name == "transB"), 0)
        return 0 if trans_b else 1
    return ndim - 1  # MatMul's B is (K, N): one scale per output column


def quantize_weights_only_int8(model_path: Path) -> None:
    """"int8 weight-only": weights stored as int8 (symmetric, per output channel) with a DequantizeLinear in
    front; activations and compute stay fp32. ONNX Runtime folds the DequantizeLinear at load when
    `session.disable_quant_qdq` is set (runtime.session_options does), so a step runs at fp32 speed from a
    download and disk about a quarter of fp32's.

    Hand-written because ORT's quantizers do weight-only only for MatMul (MatMulNBits), while most of a
    UNet's weights are convolutions; this covers Conv, MatMul, Gemm and embedding tables (Gather)."""
    import onnx
    from onnx import helper, numpy_helper

    model = onnx.load(str(model_path), load_external_data=True)
    graph = model.graph
    inits = {t.name: t for t in graph.initializer}
    chosen: dict[str, tuple[str, Any]] = {}
    for node in graph.node:
        slot = _WEIGHT_SLOTS.get(node.op_type)
        if slot is None or len(node.input) <= slot:
            continue
        name = node.input[slot]
        tensor = inits.get(name)
        if tensor is None or tensor.data_type != onnx.TensorProto.FLOAT or len(tensor.dims) < 2 or name in chosen:
            continue
        chosen[name] = (node.op_type, node)
    dequant_nodes = []
    for name, (op_type, node) in chosen.items():
        tensor = inits[name]
        weights = numpy_helper.to_array(tensor)
        axis = _per_channel_axis(op_type, node, weights.ndim)
        reduce_axes = tuple(a for a in range(weights.ndim) if a != axis)
        scale = np.abs(weights).max(axis=reduce_axes) / 127.0
        scale[scale == 0] = 1.0
        shape = [1] * weights.ndim
        shape[axis] = -1
        quantized = np.clip(np.round(weights / scale.reshape(shape)), -127, 127).astype(np.int8)
        graph.initializer.remove(tensor)
        graph.initializer.extend([
            numpy_helper.from_array(quantized, f"{name}_int8"),
            numpy_helper.from_array(scale.astype(np.float32), f"{name}_scale"),
            numpy_helper.from_array(np.zeros(scale.shape, dtype=np.int8), f"{name}_zero"),
        ])  # fmt: skip
        dequant_nodes.append(
            helper.make_node("DequantizeLinear", [f"{name}_int8", f"{name}_scale", f"{name}_zero"], [name],
                             name=f"{name}_dequantize", axis=axis)  # fmt: skip
        )
        del weights, quantized
    # the dequantizers read only initializers, so they go first in topological order
    nodes = list(graph.node)
    del graph.node[:]
    graph.node.extend([*dequant_nodes, *nodes])
    logger.info("int8 weight-only: %d weight tensors of %s stored in 8 bits", len(chosen), model_path.parent.name)
    _save_onnx(model, model_path)


def convert_to_fp16(model_path: Path) -> None:
    """fp16 weights and compute; inputs and outputs stay fp32 so the runtime loop is the same for all precisions."""
    import onnx
    from onnxruntime.transformers.float16 import convert_float_to_float16

    if _uses_external_data(model_path):
        # the converter's own shape inference works on protos under 2 GB only; without types it turns
        # Resize's scales into fp16 and the graph no longer loads, so infer from the file first
        inferred = model_path.with_name("model.inferred.onnx")
        onnx.shape_inference.infer_shapes_path(str(model_path), str(inferred))
        model = onnx.load(str(inferred), load_external_data=True)
        inferred.unlink()
    else:
        model = onnx.load(str(model_path), load_external_data=True)
    model = convert_float_to_float16(model, keep_io_types=True, disable_shape_infer=_uses_external_data(model_path))
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
    "quantize_weights_only_int8",
]
