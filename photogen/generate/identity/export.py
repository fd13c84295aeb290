"""The identity export: the engine's export with the adapter inside the UNet graph.

It is a variant of the model's export (`<models_dir>/<model_id>/identity-<adapter>/<precision>/`), made
by the engine's own `export_model`: optimum exports the text encoder and the VAE, the UNet is exported
once, as the traced `IdentityUNet` (optimum's plain UNet is never exported for a variant), and CLIP-image
adapters add their image encoder; then the engine's own int8/fp16 conversions and its validation run,
with the identity UNet checked against `IdentityUNet` in torch. The manifest records the adapter's
weights hash: a re-imported adapter makes the export stale.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

from photogen.generate.export import ExportHooks, StageProgress, ensure_export, export_dir, export_model
from photogen.generate.identity.adapters import check_adapter_fits
from photogen.generate.identity.unet import (
    IMAGE_ENCODER_COMPONENT,
    export_identity_image_encoder,
    export_identity_unet_component,
    feature_shape,
    identity_unet_check,
    image_encoder_check,
)
from photogen.generate.identity.weights import InstalledAdapter
from photogen.generate.manifest import ExportManifest, Precision
from photogen.generate.sources import InstalledModel
from photogen.generate.validation import GraphCheck
from photogen.settings import Settings

logger = logging.getLogger(__name__)

MANIFEST_KEY = "identity"


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
