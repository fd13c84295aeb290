"""The identity export: the engine's export with the adapter inside the UNet graph.

It is a variant of the model's export (`<models_dir>/<model_id>/identity-<adapter>/<precision>/`), made
by the engine's own `export_model` with a post-export hook that replaces optimum's plain UNet with the
traced `IdentityUNet` (and, for CLIP-image adapters, adds the image encoder), before quantization, so
int8 and fp16 are the engine's own conversions. The manifest records the adapter's weights hash: a re-
imported adapter makes the export stale.
"""

from __future__ import annotations

import logging
from pathlib import Path

from photogen.generate.export import ExportHooks, StageProgress, ensure_export, export_dir, export_model
from photogen.generate.identity.adapters import check_adapter_fits
from photogen.generate.identity.unet import IMAGE_ENCODER_COMPONENT, export_identity_components
from photogen.generate.identity.weights import InstalledAdapter
from photogen.generate.manifest import ExportManifest, Precision
from photogen.generate.sources import InstalledModel
from photogen.settings import Settings

logger = logging.getLogger(__name__)

MANIFEST_KEY = "identity"


def identity_variant(adapter_id: str) -> str:
    return f"identity-{adapter_id}"


def identity_export_hooks(installed: InstalledModel, adapter: InstalledAdapter) -> ExportHooks:
    def post_export(source_dir: Path, out: Path, opset: int) -> dict[str, object]:
        return {MANIFEST_KEY: export_identity_components(source_dir, out, adapter, installed.spec.id, opset)}

    return ExportHooks(
        variant=identity_variant(adapter.spec.id),
        post_export=post_export,
        extra_components=(IMAGE_ENCODER_COMPONENT,) if adapter.spec.family == "clip-image" else (),
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
