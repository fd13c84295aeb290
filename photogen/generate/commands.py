"""What `photogen models ...` and `photogen generate ...` call: plain functions on typed records.

The models' commands (list, info, download, import, export, delete) are here; generation is the engine
(engine.py), with people put in images on top of it by `GenerationEngine` (identity/generation.py).
The CLI and the UI own argument parsing, progress display and output format; nothing here prints.
"""

from __future__ import annotations

import errno
import logging
import shutil
import threading
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from photogen.errors import PhotogenError
from photogen.generate.catalog import CATALOG, ModelSpec, get_model_spec
from photogen.generate.denoising import StepCallback
from photogen.generate.engine import DiffusionEngine, GenerationRequest, GenerationResult, default_precision
from photogen.generate.export import ExportHooks, StageProgress, ensure_export, export_dir, export_model
from photogen.generate.manifest import (
    MANIFEST_NAME,
    PRECISION_LABELS,
    PRECISIONS,
    ExportInvalidError,
    ExportManifest,
    FileHashes,
    Precision,
    read_manifest,
    verify_export,
)
from photogen.generate.sources import (
    ByteProgress,
    InstalledModel,
    LicensePrompt,
    download_model,
    import_model,
    installed_model,
    list_installed,
    models_home,
)
from photogen.generate.tiny import create_tiny_pipeline
from photogen.settings import Settings

logger = logging.getLogger(__name__)


# ----------------------------------------------------------------------------------------- models


@dataclass(frozen=True)
class ModelStatus:
    id: str
    title: str
    kind: str
    license: str
    license_url: str
    download_bytes: int
    default_steps: int
    identity_adapters: tuple[str, ...]
    installed: bool
    # precision -> "ready" | "missing" | "stale: <why>"
    exports: dict[str, str]
    # measured on disk: what photogen holds of the weights (0 for a folder used in place) and each export
    installed_bytes: int = 0
    export_bytes: dict[str, int] = field(default_factory=dict)
    # each exported graph's measured drift from its torch original (export_drift)
    drift: tuple[ExportDrift, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class ExportDrift:
    """One exported graph's recorded difference from its torch original: a row of `models info` and the Models panel."""

    export: str  # "fp32", or "identity-<adapter>/int8" for an identity variant
    precision: str
    precision_label: str
    component: str
    max_abs: float
    mean_abs: float
    max_rel: float
    mean_rel: float
    bound_max_rel: float
    bound_mean_rel: float
    within_bound: bool

    def describe(self) -> str:
        verdict = "ok" if self.within_bound else "BEYOND BOUND"
        return (
            f"{self.export:<28} {self.component:<24} max abs {self.max_abs:.2e} ({self.max_rel:.3%}), mean abs "
            f"{self.mean_abs:.2e} ({self.mean_rel:.3%}); bound {self.bound_max_rel:.2%} / {self.bound_mean_rel:.2%}: {verdict}"
        )


def export_drift(model_id: str, settings: Settings) -> list[ExportDrift]:
    """Every finished export of `model_id` (plain and identity variants) with each graph's measured drift.

    Reads the manifests only (no hashing), so it is cheap enough for a UI refresh."""
    from photogen.generate.validation import bound_for

    root = settings.models_dir / model_id
    rows: list[ExportDrift] = []
    candidates = [root / p for p in PRECISIONS] + [v / p for v in sorted(root.glob("*/")) for p in PRECISIONS]
    for path in candidates:
        if not (path / MANIFEST_NAME).exists():
            continue
        try:
            manifest = read_manifest(path)
        except ExportInvalidError:
            continue
        name = path.relative_to(root).as_posix()
        for component, d in sorted(manifest.validation.items()):
            bound = bound_for(manifest.precision, component)
            current = d.model_copy(update={"bound": bound})
            rows.append(ExportDrift(
                export=name, precision=manifest.precision, precision_label=PRECISION_LABELS[manifest.precision],
                component=component, max_abs=d.max_abs, mean_abs=d.mean_abs, max_rel=current.max_rel,
                mean_rel=current.mean_rel, bound_max_rel=bound.max_rel, bound_mean_rel=bound.mean_rel,
                within_bound=current.within_bound,
            ))  # fmt: skip
    return rows


def _export_state(settings: Settings, installed: InstalledModel | None, model_id: str, precision: Precision,
                  hashes: FileHashes | None) -> str:  # fmt: skip
    path = export_dir(settings, model_id, precision)
    if not path.exists():
        return "missing"
    try:
        verify_export(path, installed.source if installed else None, hashes)
    except ExportInvalidError as e:
        return f"stale: {e}"
    return "ready"


def _status(spec: ModelSpec, settings: Settings, hashes: FileHashes | None = None) -> ModelStatus:
    try:
        installed: InstalledModel | None = installed_model(spec.id, settings)
    except PhotogenError:
        installed = None
    return ModelStatus(
        id=spec.id,
        title=spec.title,
        kind=spec.kind,
        license=spec.license.name,
        license_url=spec.license.url,
        download_bytes=spec.download_bytes,
        default_steps=spec.default_steps,
        identity_adapters=spec.identity_adapters,
        installed=installed is not None,
        exports={p: _export_state(settings, installed, spec.id, p, hashes) for p in PRECISIONS},
        installed_bytes=folder_bytes(models_home(settings) / spec.id),
        export_bytes={p: folder_bytes(export_dir(settings, spec.id, p)) for p in PRECISIONS},
        drift=tuple(export_drift(spec.id, settings)),
    )


def folder_bytes(path: Path) -> int:
    """Bytes of the files under `path` (0 when it does not exist); links are not followed."""
    if not path.exists():
        return 0
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())


def list_models(settings: Settings, hashes: FileHashes | None = None) -> list[ModelStatus]:
    """`photogen models list`: the catalog plus every imported model, with install and export state.

    `hashes`: the caller's FileHashes (a panel that lists again and again keeps one), so exports it
    has checked unchanged are not read again."""
    ids = [s.id for s in CATALOG] + [m for m in list_installed(settings) if m not in {s.id for s in CATALOG}]
    return [model_info(model_id, settings, hashes) for model_id in ids]


def model_info(model_id: str, settings: Settings, hashes: FileHashes | None = None) -> ModelStatus:
    """`photogen models info ID`."""
    if model_id in {s.id for s in CATALOG}:
        return _status(get_model_spec(model_id), settings, hashes)
    return _status(installed_model(model_id, settings).spec, settings, hashes)


def download(model: str | ModelSpec, settings: Settings, accept_license: bool | LicensePrompt = False,
             progress: ByteProgress | None = None, endpoint: str | None = None, token: str | None = None,
             cancel: threading.Event | None = None) -> InstalledModel:  # fmt: skip
    """`photogen models download ID [--accept-license]`: a bool is the CLI flag, a callable asks the user.

    Resumable: a stopped or cancelled download continues where it stopped the next time.
    """
    prompt: LicensePrompt | None = (lambda spec: True) if accept_license is True else (accept_license or None)  # noqa: E731
    return download_model(model, settings, prompt, progress, endpoint, token, cancel)


def delete_model(model_id: str, settings: Settings) -> list[Path]:
    """`photogen models delete ID`: what photogen holds of a model (downloads, converted weights, its
    record) and all its exports. A folder imported in place is the user's own: it stays where it is."""
    paths = [models_home(settings) / model_id, settings.models_dir / model_id]
    present = [p for p in paths if p.exists()]
    if not present:
        raise PhotogenError(f"Model '{model_id}' is not installed and has no exports: nothing to delete.")
    for path in present:
        shutil.rmtree(path)
    logger.info("deleted model %s: %s", model_id, ", ".join(map(str, present)))
    return present


def delete_export(model_id: str, precision: str, settings: Settings) -> Path:
    """`photogen models delete ID --export PRECISION`: one export; the model stays and can be exported again."""
    if precision not in PRECISIONS:
        raise PhotogenError(f"Unknown precision '{precision}': use one of {', '.join(PRECISIONS)}.")
    path = export_dir(settings, model_id, precision)  # type: ignore[arg-type]
    if not path.exists():
        raise PhotogenError(f"{model_id} has no {precision} export: nothing to delete.")
    shutil.rmtree(path)
    return path


def import_weights(path: str | Path, settings: Settings, name: str | None = None) -> InstalledModel:
    """`photogen models import PATH [--name ID]`: a diffusers folder or a single .safetensors checkpoint."""
    return import_model(path, settings, name)


def export(model_id: str, precision: Precision, settings: Settings, force: bool = False,
           progress: StageProgress | None = None, hooks: ExportHooks | None = None) -> ExportManifest:  # fmt: skip
    """`photogen models export ID --precision P [--force]`: exports unless a sound export exists."""
    if precision not in PRECISIONS:
        raise PhotogenError(f"Unknown precision '{precision}': use one of {', '.join(PRECISIONS)}.")
    installed = installed_model(model_id, settings)
    try:
        if force:
            return export_model(installed, precision, settings, hooks=hooks, progress=progress)
        return ensure_export(installed, precision, settings, hooks=hooks, progress=progress)[1]
    except OSError as e:
        # export_model removed its staging folder: no half-written export is left to be loaded
        if e.errno == errno.ENOSPC:
            raise PhotogenError(
                f"The disk holding {settings.models_dir} is full: the {precision} export of {model_id} was stopped "
                "and nothing half-written was kept. Free some space (or choose int8, the smallest) and export again."
            ) from e
        raise PhotogenError(
            f"The {precision} export of {model_id} could not be written to {settings.models_dir} "
            f"({e.strerror or e}); nothing half-written was kept. Check that folder (or set PHOTOGEN_MODELS_DIR)."
        ) from e


def create_tiny(out_dir: str | Path, settings: Settings, register: bool = True, model_id: str = "tiny-test") -> Path:
    """`photogen models create-tiny DIR`: a tiny random-weight test pipeline, registered as `tiny-test`."""
    path = create_tiny_pipeline(out_dir)
    if register:
        import_model(path, settings, model_id)
    return path


# ----------------------------------------------------------------------------------------- generate


class GenerationEngine(DiffusionEngine):
    """The engine the CLI and UI hold: a request with `people` goes through their identity adapter
    (identity.generation, which runs on the engine below it); any other request, straight to the engine."""

    def generate(self, request: GenerationRequest, callback: StepCallback | None = None) -> GenerationResult:
        if request.people:
            # imported here: identity generation loads torch, which plain generation never needs
            from photogen.generate.identity.generation import generate_with_people

            return generate_with_people(self, request, callback)
        return super().generate(request, callback)


def generate(request: GenerationRequest, settings: Settings, engine: GenerationEngine | None = None,
             callback: StepCallback | None = None) -> GenerationResult:  # fmt: skip
    """`photogen generate --mode ...`: one call; pass a long-lived `engine` to reuse loaded sessions."""
    return (engine or GenerationEngine(settings)).generate(request, callback)


__all__ = [
    "GenerationEngine",
    "GenerationRequest",
    "GenerationResult",
    "ModelStatus",
    "create_tiny",
    "default_precision",
    "delete_export",
    "delete_model",
    "download",
    "export",
    "generate",
    "import_weights",
    "list_models",
    "model_info",
]
