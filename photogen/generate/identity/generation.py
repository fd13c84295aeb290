"""Text-to-image with people: the identity export, its inputs, likeness per variant and best-of.

`commands.GenerationEngine.generate` hands a request with `people` here; this sits on top of the engine
(engine.py), which loads the identity export. The denoising loop is the engine's own `TextToImagePipeline`;
identity enters only as the UNet graph's extra inputs (embeddings, region masks, scale), the same for
every step and variant. With classifier-free guidance the unconditional
branch gets IP-Adapter's reference input (a zeroed FaceID embedding, the features of a zero image for
CLIP-image adapters; encoders.unconditional_embeds), so guidance pushes towards the person as in
diffusers' IP-Adapter pipelines (tests/generate/identity/test_generation.py checks the latents against
diffusers'). The distilled few-step default family runs one branch, where this changes nothing.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Sequence
from typing import Any

import numpy as np

from photogen.box import Box
from photogen.errors import PhotogenError
from photogen.generate.denoising import GeneratedImage, StepCallback
from photogen.generate.engine import DiffusionEngine, GenerationRequest, GenerationResult
from photogen.generate.identity.adapters import (
    IdentityAdapterSpec,
    adapters_for,
    check_adapter_fits,
    get_adapter_spec,
)
from photogen.generate.identity.encoders import (
    ClipImageEncoder,
    FaceBackendEncoder,
    IdentityEncoder,
    StoredEmbeddingEncoder,
    identity_embeds,
    unconditional_embeds,
)
from photogen.generate.identity.likeness import score_likeness
from photogen.generate.identity.references import PersonReference
from photogen.generate.identity.regions import region_masks, side_by_side_boxes
from photogen.generate.identity.unet import (
    IDENTITY_EMBEDS,
    IDENTITY_MASKS,
    IDENTITY_SCALE,
    IMAGE_ENCODER_COMPONENT,
)
from photogen.generate.identity.weights import InstalledAdapter, installed_adapter
from photogen.generate.pipelines import TextToImagePipeline
from photogen.generate.sources import installed_model
from photogen.generate.stable_diffusion import OnnxStableDiffusion
from photogen.settings import Settings

logger = logging.getLogger(__name__)

MAX_PEOPLE = 4


def choose_adapter(model_spec: Any, settings: Settings, adapter_id: str | None = None) -> InstalledAdapter:
    """The adapter asked for (checked against the model), else the first installed one that fits."""
    if adapter_id is not None:
        spec = get_adapter_spec(adapter_id)
        check_adapter_fits(model_spec, spec)
        return installed_adapter(spec.id, settings)
    fitting = adapters_for(model_spec)
    if not fitting:
        raise PhotogenError(
            f"No identity adapter fits {model_spec.id}, so it cannot put people in images: choose an SD 1.5 "
            "model such as lcm-dreamshaper-v7."
        )
    for spec in fitting:
        try:
            return installed_adapter(spec.id, settings)
        except PhotogenError:
            continue
    how = "; ".join(f"{a.id}: {a.weight_name} from https://huggingface.co/{a.hf_repo}" for a in fitting if a.hf_repo)
    raise PhotogenError(
        f"No identity adapter for {model_spec.id} is installed. Download one and import it ({how or 'none published'})."
    )


def make_encoder(adapter: InstalledAdapter, onnx: OnnxStableDiffusion, settings: Settings,
                 people: Sequence[PersonReference]) -> IdentityEncoder:  # fmt: skip
    spec: IdentityAdapterSpec = adapter.spec
    if spec.family == "clip-image":
        return ClipImageEncoder(onnx.session(IMAGE_ENCODER_COMPONENT), spec.image_size or 224)
    backend = spec.face_backend or ""
    if all(any(f.backend == backend for f in p.faces) for p in people):
        return StoredEmbeddingEncoder(backend)
    from photogen.faces.backend import create_backend

    # the adapter's import required accepting its license, which covers the embedder it was trained on
    return FaceBackendEncoder(create_backend(backend, settings=settings, license_accepted=True))


def identity_inputs(onnx: OnnxStableDiffusion, adapter: InstalledAdapter, encoder: IdentityEncoder,
                    people: Sequence[PersonReference], width: int, height: int, scale: float,
                    regions: Sequence[Box] = ()) -> dict[str, np.ndarray]:  # fmt: skip
    """The identity graph's extra inputs for these people at this size."""
    grid = onnx.size_multiple  # the UNet's coarsest cell in image pixels
    boxes = list(regions) if regions else side_by_side_boxes(len(people), width, height, grid)
    if len(boxes) != len(people):
        raise PhotogenError(f"{len(people)} people but {len(boxes)} regions: give one region per person.")
    return {
        IDENTITY_EMBEDS: identity_embeds(people, encoder, adapter.spec),
        IDENTITY_MASKS: region_masks(boxes, width, height, onnx.vae_scale, grid),
        IDENTITY_SCALE: np.array(scale, dtype=np.float32),
    }


def _check_request(request: GenerationRequest) -> tuple[int, int]:
    if request.mode != "text":
        raise PhotogenError(
            f"People can be put into new scenes in text mode; --mode {request.mode} keeps a photo's own."
        )
    if len(request.people) > MAX_PEOPLE:
        raise PhotogenError(f"{len(request.people)} people is too many for one image: use at most {MAX_PEOPLE}.")
    best_of = request.best_of or request.variants
    if best_of < request.variants:
        raise PhotogenError(
            f"--best-of {best_of} is less than --variants {request.variants}: it must be at least that."
        )
    if request.extra_unet_inputs:
        raise PhotogenError("extra_unet_inputs and people cannot be combined: the people set the UNet's inputs.")
    return request.variants, best_of


def generate_with_people(engine: DiffusionEngine, request: GenerationRequest,
                         callback: StepCallback | None = None) -> GenerationResult:  # fmt: skip
    import time

    # 1. Check inputs and choose the adapter
    keep, make = _check_request(request)
    t0 = time.perf_counter()
    model_spec = installed_model(request.model_id, engine.settings).spec
    adapter = choose_adapter(model_spec, engine.settings, request.identity_adapter)

    # 2. Load the identity export (exporting first if needed)
    onnx = engine.load(request.model_id, request.precision, adapter_id=adapter.spec.id)
    load_s = time.perf_counter() - t0
    width, height = request.size if request.size else (onnx.spec.default_size, onnx.spec.default_size)
    onnx.check_size(width, height)

    # 3. Identity inputs: reference features, region masks, strength
    scale = adapter.spec.default_scale if request.identity_scale is None else request.identity_scale
    encoder = make_encoder(adapter, onnx, engine.settings, request.people)
    extra = identity_inputs(onnx, adapter, encoder, request.people, width, height, scale, request.regions)
    uncond = extra | {IDENTITY_EMBEDS: unconditional_embeds(encoder, extra[IDENTITY_EMBEDS])}

    # 4. Denoise every candidate (seed + index, as any text generation)
    images = TextToImagePipeline(onnx)(
        request.prompt, negative_prompt=request.negative_prompt, steps=request.steps,
        guidance_scale=request.guidance_scale, width=width, height=height, seed=request.seed,
        variants=make, extra_unet_inputs=extra, uncond_unet_inputs=uncond, callback=callback,
    )  # fmt: skip

    # 5. Likeness of each candidate; best-of keeps the most alike
    analyzer = engine.face_analyzer()
    scored: list[GeneratedImage] = []
    sources = [{"person_id": p.person_id, "name": p.name, "photo_ids": list(p.photo_ids),
                "face_ids": [f.face_id for f in p.faces]} for p in request.people]  # fmt: skip
    for g in images:
        likeness = score_likeness(np.asarray(g.image), request.people, analyzer)
        extra_info = {"likeness": likeness.to_json(), "identity_adapter": adapter.spec.id,
                      "identity_scale": scale, "people": sources}  # fmt: skip
        scored.append(dataclasses.replace(g, extra={**g.extra, **extra_info}))
    if make > keep:
        scored = sorted(scored, key=lambda g: (-g.extra["likeness"]["score"], g.variant))[:keep]
    m = onnx.manifest
    return GenerationResult(scored, m.model_id, m.precision, engine.cache.providers, m.test_model, load_s)
