"""What `photogen models ...` and `photogen generate ...` call: plain functions on typed records.

The CLI and the UI own argument parsing, progress display and output format; nothing here prints.
"""

from __future__ import annotations

import errno
import logging
import shutil
import threading
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
from PIL import Image, PngImagePlugin

from photogen.errors import PhotogenError
from photogen.generate.catalog import CATALOG, ModelSpec, get_model_spec
from photogen.generate.export import (
    ExportHooks,
    StageProgress,
    ensure_export,
    export_dir,
    export_model,
    model_files_bytes,
)
from photogen.generate.manifest import (
    MANIFEST_NAME,
    PRECISION_LABELS,
    PRECISIONS,
    ExportInvalidError,
    ExportManifest,
    Precision,
    read_manifest,
    verify_export,
)
from photogen.generate.person_mask import grabcut_person_mask
from photogen.generate.pipelines import (
    BackgroundPipeline,
    Box,
    FaceGuard,
    GeneratedImage,
    OnnxStableDiffusion,
    PersonMasker,
    RestylePipeline,
    StepCallback,
    TextToImagePipeline,
)
from photogen.generate.runtime import SessionCache, choose_providers
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

if TYPE_CHECKING:
    from photogen.generate.identity.references import PersonReference

logger = logging.getLogger(__name__)

Mode = Literal["text", "restyle", "background"]
# ONNX Runtime needs about this much memory over the size of the weights it loads (activations, arena)
_MEMORY_HEADROOM = 1.5


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


def _export_state(settings: Settings, installed: InstalledModel | None, model_id: str, precision: Precision) -> str:
    path = export_dir(settings, model_id, precision)
    if not path.exists():
        return "missing"
    try:
        verify_export(path, installed.source if installed else None)
    except ExportInvalidError as e:
        return f"stale: {e}"
    return "ready"


def _status(spec: ModelSpec, settings: Settings) -> ModelStatus:
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
        exports={p: _export_state(settings, installed, spec.id, p) for p in PRECISIONS},
        installed_bytes=folder_bytes(models_home(settings) / spec.id),
        export_bytes={p: folder_bytes(export_dir(settings, spec.id, p)) for p in PRECISIONS},
        drift=tuple(export_drift(spec.id, settings)),
    )


def folder_bytes(path: Path) -> int:
    """Bytes of the files under `path` (0 when it does not exist); links are not followed."""
    if not path.exists():
        return 0
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())


def list_models(settings: Settings) -> list[ModelStatus]:
    """`photogen models list`: the catalog plus every imported model, with install and export state."""
    ids = [s.id for s in CATALOG] + [m for m in list_installed(settings) if m not in {s.id for s in CATALOG}]
    return [model_info(model_id, settings) for model_id in ids]


def model_info(model_id: str, settings: Settings) -> ModelStatus:
    """`photogen models info ID`."""
    if model_id in {s.id for s in CATALOG}:
        return _status(get_model_spec(model_id), settings)
    return _status(installed_model(model_id, settings).spec, settings)


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


def default_precision(providers: Sequence[str] | None = None) -> Precision:
    """fp16 on a GPU, fp32 on a CPU.

    Not int8 (dynamic) on CPU: bench/unet_bench.py measured it at 25% of the fp32 size and a third of its
    peak memory, but several times slower per step (ONNX Runtime's ConvInteger is slow), so it is the
    low-memory choice; int8w (weight-only) has the same disk size and runs fp32 kernels.
    """
    providers = providers if providers is not None else choose_providers()
    gpu = ("CUDAExecutionProvider", "TensorrtExecutionProvider", "DmlExecutionProvider")
    return "fp16" if providers[0] in gpu else "fp32"


# ----------------------------------------------------------------------------------------- generate


@dataclass
class GenerationRequest:
    mode: Mode
    prompt: str
    model_id: str
    precision: Precision | None = None  # None: default_precision() for the providers in use
    seed: int = 0
    variants: int = 1
    steps: int | None = None
    size: tuple[int, int] | None = None  # (width, height); None: the model's default, or the photo's aspect
    negative_prompt: str | None = None
    guidance_scale: float | None = None
    photo: Image.Image | None = None  # restyle, background: the caller resolves photo IDs and consent
    strength: float | None = None  # restyle: 0.5; background: 1.0
    face_boxes: Sequence[Box] = ()
    face_guard: FaceGuard | None = None
    person_mask: np.ndarray | None = None
    masker: PersonMasker | None = None  # background: defaults to GrabCut seeded from face_boxes
    extra_unet_inputs: dict[str, np.ndarray] = field(default_factory=dict)
    # text mode with people (issue 6): from photogen.generate.identity.people_references(library, names)
    people: Sequence[PersonReference] = ()
    identity_adapter: str | None = None  # None: the first installed adapter that fits the model
    identity_scale: float | None = None  # None: the adapter's default strength
    regions: Sequence[Box] = ()  # one box per person; empty: side by side in `people` order
    best_of: int | None = None  # make this many and keep the `variants` most alike


@dataclass(frozen=True)
class GenerationResult:
    images: list[GeneratedImage]
    model_id: str
    precision: str
    providers: list[str]
    test_model: bool
    load_s: float

    def to_json(self, paths: Sequence[Path] = ()) -> dict[str, Any]:
        return {
            "model": self.model_id,
            "precision": self.precision,
            "providers": self.providers,
            "test_model": self.test_model,
            "load_s": round(self.load_s, 3),
            "images": [
                {
                    "seed": g.seed,
                    "variant": g.variant,
                    "timings": {k: round(v, 3) for k, v in g.timings.items()},
                    **g.extra,
                }
                | ({"path": str(paths[i])} if i < len(paths) else {})
                for i, g in enumerate(self.images)
            ],
        }


class GenerationEngine:
    """Owns the session cache and the loaded models of one process; build one and reuse it."""

    def __init__(self, settings: Settings, providers: Sequence[str] | None = None, idle_seconds: float = 600.0) -> None:
        self.settings = settings
        self.cache = SessionCache(providers, threads=settings.onnx_threads, idle_seconds=idle_seconds)
        self._models: dict[tuple[str, str, str | None], OnnxStableDiffusion] = {}
        self._lock = threading.Lock()
        self._face_analyzer: Any = None

    def load(self, model_id: str, precision: Precision | None = None, progress: StageProgress | None = None,
             adapter_id: str | None = None) -> OnnxStableDiffusion:  # fmt: skip
        """The loaded export of `model_id`; with `adapter_id`, its identity export (the adapter in the UNet)."""
        precision = precision or default_precision(self.cache.providers)
        key = (model_id, precision, adapter_id)
        with self._lock:
            if key not in self._models:
                installed = installed_model(model_id, self.settings)
                if adapter_id is None:
                    self.cache.drop(export_dir(self.settings, model_id, precision))
                    path, manifest = ensure_export(installed, precision, self.settings, progress=progress)
                else:
                    from photogen.generate.identity.export import ensure_identity_export, identity_variant
                    from photogen.generate.identity.weights import installed_adapter

                    adapter = installed_adapter(adapter_id, self.settings)
                    self.cache.drop(export_dir(self.settings, model_id, precision, identity_variant(adapter_id)))
                    path, manifest = ensure_identity_export(installed, adapter, precision, self.settings, progress)
                _check_memory(path, model_id, precision)
                self._models[key] = OnnxStableDiffusion(path, manifest, installed.spec, self.cache)
            return self._models[key]

    def forget(self, model_id: str) -> None:
        """Unload `model_id` (all precisions and adapters): after a delete, it is not used from memory."""
        with self._lock:
            for key in [k for k in self._models if k[0] == model_id]:
                del self._models[key]
            self.cache.drop(self.settings.models_dir / model_id)

    def face_analyzer(self) -> Any:
        """The default face analyzer (likeness scores), built once per engine."""
        with self._lock:
            if self._face_analyzer is None:
                from photogen.faces.analyzer import FaceAnalyzer

                self._face_analyzer = FaceAnalyzer(settings=self.settings)
            return self._face_analyzer

    def generate(self, request: GenerationRequest, callback: StepCallback | None = None) -> GenerationResult:
        import time

        if request.people:
            from photogen.generate.identity.generation import generate_with_people

            return generate_with_people(self, request, callback)
        t0 = time.perf_counter()
        engine = self.load(request.model_id, request.precision)
        load_s = time.perf_counter() - t0
        width, height = request.size if request.size else (None, None)
        common: dict[str, Any] = {
            "negative_prompt": request.negative_prompt,
            "steps": request.steps,
            "guidance_scale": request.guidance_scale,
            "width": width,
            "height": height,
            "seed": request.seed,
            "variants": request.variants,
            "extra_unet_inputs": request.extra_unet_inputs,
            "callback": callback,
        }
        if request.mode == "text":
            images = TextToImagePipeline(engine)(request.prompt, **common)
        elif request.mode in ("restyle", "background"):
            if request.photo is None:
                raise PhotogenError(f"--mode {request.mode} needs a photo: pass --photo ID.")
            if request.mode == "restyle":
                strength = 0.5 if request.strength is None else request.strength
                images = RestylePipeline(engine)(
                    request.photo, request.prompt, strength=strength, face_guard=request.face_guard, **common
                )
            else:
                images = BackgroundPipeline(engine)(
                    request.photo,
                    request.prompt,
                    person_mask=request.person_mask,
                    masker=request.masker or grabcut_person_mask,
                    face_boxes=request.face_boxes,
                    strength=1.0 if request.strength is None else request.strength,
                    **common,
                )
        else:
            raise PhotogenError(f"Unknown mode '{request.mode}': use text, restyle or background.")
        m = engine.manifest
        return GenerationResult(images, m.model_id, m.precision, self.cache.providers, m.test_model, load_s)


def _check_memory(path: Path, model_id: str, precision: str) -> None:
    import psutil

    need = model_files_bytes(path) * _MEMORY_HEADROOM
    free = psutil.virtual_memory().available
    if need > free:
        raise PhotogenError(
            f"{model_id} at {precision} needs about {need / 1e9:.1f} GB of memory and {free / 1e9:.1f} GB is free: "
            "close other programs, or use --precision int8."
        )


def generate(request: GenerationRequest, settings: Settings, engine: GenerationEngine | None = None,
             callback: StepCallback | None = None) -> GenerationResult:  # fmt: skip
    """`photogen generate --mode ...`: one call; pass a long-lived `engine` to reuse loaded sessions."""
    return (engine or GenerationEngine(settings)).generate(request, callback)


def save_images(result: GenerationResult, out_dir: str | Path, stem: str = "photogen") -> list[Path]:
    """PNG files with provenance text chunks (AI-generated, model, seed; test models say so)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for g in result.images:
        info = PngImagePlugin.PngInfo()
        info.add_text("photogen:ai_generated", "true")
        info.add_text("photogen:model", f"{g.model_id} ({g.precision})")
        info.add_text("photogen:seed", str(g.seed))
        if g.test_model:
            info.add_text("photogen:test_model", "true: random weights, not a real picture")
        path = out / f"{stem}-{g.seed}-v{g.variant}.png"
        g.image.save(path, pnginfo=info)
        paths.append(path)
    return paths


__all__ = [
    "GenerationEngine",
    "GenerationRequest",
    "GenerationResult",
    "ModelStatus",
    "create_tiny",
    "delete_export",
    "delete_model",
    "default_precision",
    "download",
    "export",
    "generate",
    "import_weights",
    "list_models",
    "model_info",
    "save_images",
]
