"""The generation engine: one request (text, restyle or background) in, images out, models loaded once.

`GenerationRequest` is what the CLI, the UI and Create fill in; `DiffusionEngine` loads the model's
export (exporting first if needed), checks there is memory for it, and runs the mode's pipeline.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
from PIL import Image

from photogen.box import Box
from photogen.errors import PhotogenError
from photogen.generate.denoising import GeneratedImage, StepCallback
from photogen.generate.export import StageProgress, ensure_export, export_dir, model_files_bytes
from photogen.generate.manifest import FileHashes, Precision
from photogen.generate.person_mask import grabcut_person_mask
from photogen.generate.pipelines import (
    BackgroundPipeline,
    FaceGuard,
    PersonMasker,
    RestylePipeline,
    TextToImagePipeline,
)
from photogen.generate.runtime import SessionCache, choose_providers
from photogen.generate.sources import installed_model
from photogen.generate.stable_diffusion import OnnxStableDiffusion
from photogen.settings import Settings

if TYPE_CHECKING:
    from photogen.generate.identity.references import PersonReference

logger = logging.getLogger(__name__)

Mode = Literal["text", "restyle", "background"]
# ONNX Runtime needs about this much memory over the size of the weights it loads (activations, arena)
_MEMORY_HEADROOM = 1.5


def default_precision(providers: Sequence[str] | None = None) -> Precision:
    """fp16 on a GPU, fp32 on a CPU.

    Not int8 (dynamic) on CPU: bench/unet_bench.py measured it at 25% of the fp32 size but nearly twice
    as slow per step (ONNX Runtime's ConvInteger is slow). int8mm is the fastest CPU option measured
    (0.83x fp32's step time at a quarter of its size, 1.5% drift on random weights), but its quality on
    real weights is unmeasured, so it is offered by name rather than chosen for the user.
    """
    providers = providers if providers is not None else choose_providers()
    gpu = ("CUDAExecutionProvider", "TensorrtExecutionProvider", "DmlExecutionProvider")
    return "fp16" if providers[0] in gpu else "fp32"


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


class DiffusionEngine:
    """Owns the session cache and the loaded models of one process and runs the three modes; build one and reuse it.

    People are put in images one layer up (commands.GenerationEngine, through identity.generation)."""

    def __init__(self, settings: Settings, providers: Sequence[str] | None = None, idle_seconds: float = 600.0) -> None:
        self.settings = settings
        self.cache = SessionCache(providers, threads=settings.onnx_threads, idle_seconds=idle_seconds)
        self._models: dict[tuple[str, str, str | None], OnnxStableDiffusion] = {}
        self._lock = threading.Lock()
        self._face_analyzer: Any = None
        self.hashes = FileHashes()  # an export this engine has checked is not hashed again while unchanged

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
                    path, manifest = ensure_export(installed, precision, self.settings, progress=progress, hashes=self.hashes)
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
            raise PhotogenError("Requests with people go to photogen.generate.commands.GenerationEngine.")
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
