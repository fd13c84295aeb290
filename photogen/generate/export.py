"""ONNX export with optimum-onnx, checked against torch, written atomically (precision conversions: quantize.py).

Layout: `<models_dir>/<model_id>/<precision>/` holds optimum's diffusers ONNX layout (text_encoder/,
unet/, vae_encoder/, vae_decoder/, tokenizer/, scheduler/, model_index.json) plus the manifest. An export
is built in a staging folder beside it and renamed into place after its manifest is written, so a
killed export leaves only a staging folder, which is never loaded and is cleared by the next export.

Every export validates itself before it is moved into place (validation.py): each graph runs once
beside its torch original on fixed inputs, the max/mean difference goes into the manifest, and an export
beyond its precision's bound is refused with the numbers.

Memory: the graphs are exported one at a time (text encoder and VAE, then the UNet alone), each torch
module freed before the next loads, and conversions work from the saved files (a graph with external
data in a child process, quantize.py), so a full-size SD 1.5 export peaks at about one UNet export
rather than a whole pipeline plus its quantized copy.

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

from photogen.errors import PhotogenError
from photogen.generate.manifest import (
    MANIFEST_NAME,
    ExportInvalidError,
    ExportManifest,
    FileHashes,
    Precision,
    SourceInfo,
    verify_export,
    write_manifest,
)
from photogen.generate.quantize import convert_precision
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
                  progress: StageProgress | None = None, opset: int = DEFAULT_OPSET, hashes: FileHashes | None = None,
                  ) -> tuple[Path, ExportManifest]:  # fmt: skip
    """The verified export of `installed` at `precision`, exporting first when it is missing, stale or corrupt.

    `hashes`: the caller's FileHashes (manifest.py), so an unchanged export is not hashed again."""
    out = export_dir(settings, installed.spec.id, precision, hooks.variant if hooks else None)
    if out.exists():
        try:
            return out, verify_export(out, installed.source, hashes)
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


def model_files_bytes(export: Path) -> int:
    return sum(p.stat().st_size for p in export.rglob("*") if p.is_file() and p.name != MANIFEST_NAME)


__all__ = [
    "DEFAULT_OPSET",
    "ExportHooks",
    "SourceInfo",
    "ensure_export",
    "export_dir",
    "export_model",
    "model_files_bytes",
]
