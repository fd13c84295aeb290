"""Diffusion pipelines on ONNX Runtime: text-to-image, restyle (img2img) and background (inpaint).

The denoising loops are ours rather than optimum's ORT pipelines: the session cache and provider policy
must own every session, the identity adapter (issue 6) feeds the UNet graph inputs optimum's pipelines
do not know, and a loop in plain numpy/torch makes determinism per seed easy to guarantee. The scheduler
math is diffusers' own schedulers, so the numbers are the reference pipelines' numbers.

Determinism: each variant draws all its noise from a `torch.Generator` seeded with `seed + variant`, and
variants run one at a time, so a variant's image does not depend on how many variants were asked for.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from photogen.errors import PhotogenError
from photogen.generate.catalog import ModelSpec
from photogen.generate.manifest import ExportManifest
from photogen.generate.runtime import InferenceRunner, SessionCache

logger = logging.getLogger(__name__)

Box = tuple[int, int, int, int]  # x0, y0, x1, y1 in pixels
# (original photo at output size, generated image) -> generated image with drifted faces blended back
FaceGuard = Callable[[Image.Image, Image.Image], Image.Image]
# (photo, face boxes) -> bool HxW mask, True where a person is
PersonMasker = Callable[[Image.Image, Sequence[Box]], np.ndarray]
# (steps done, steps in all) over every variant of one call
StepCallback = Callable[[int, int], None]

_ORT_TO_NUMPY = {
    "tensor(float)": np.float32,
    "tensor(float16)": np.float16,
    "tensor(int64)": np.int64,
    "tensor(int32)": np.int32,
}


@dataclass(frozen=True)
class GeneratedImage:
    image: Image.Image
    seed: int
    variant: int
    timings: dict[str, float]
    model_id: str
    precision: str
    test_model: bool
    extra: dict[str, Any] = field(default_factory=dict)
    # the final latents before decoding (for tests, and for callers that upscale or re-decode)
    latents: np.ndarray | None = field(default=None, repr=False)


def _feed(session: InferenceRunner, **arrays: np.ndarray) -> dict[str, np.ndarray]:
    """Only the inputs the graph declares, cast to its declared types (an fp16 graph may take fp16)."""
    feed = {}
    for spec in session.get_inputs():
        if spec.name not in arrays:
            raise PhotogenError(
                f"The exported model wants input '{spec.name}' this pipeline does not give: re-export it."
            )
        feed[spec.name] = np.asarray(arrays[spec.name]).astype(_ORT_TO_NUMPY.get(spec.type, np.float32), copy=False)
    return feed


def guidance_scale_embedding(w: float, dim: int) -> np.ndarray:
    """LCM's embedding of the guidance scale (diffusers' get_guidance_scale_embedding, for a batch of one)."""
    half = dim // 2
    freqs = np.exp(np.arange(half, dtype=np.float32) * -(np.log(10000.0) / (half - 1)))
    emb = (w - 1.0) * 1000.0 * freqs
    out = np.concatenate([np.sin(emb), np.cos(emb)])[None, :]
    return np.pad(out, ((0, 0), (0, dim % 2))).astype(np.float32)


def fit_size(width: int, height: int, long_side: int, multiple: int) -> tuple[int, int]:
    """The size closest to the photo's aspect whose long side is `long_side`, both sides multiples of `multiple`."""
    scale = long_side / max(width, height)
    return (
        max(multiple, round(width * scale / multiple) * multiple),
        max(multiple, round(height * scale / multiple) * multiple),
    )


class OnnxStableDiffusion:
    """The components of one exported model: sessions (through the cache), tokenizer and scheduler config."""

    def __init__(self, export_dir: Path, manifest: ExportManifest, spec: ModelSpec, cache: SessionCache) -> None:
        from transformers import CLIPTokenizer

        self.export_dir = export_dir
        self.manifest = manifest
        self.spec = spec
        self.cache = cache
        self.tokenizer = CLIPTokenizer.from_pretrained(export_dir / "tokenizer")
        self.scheduler_config = json.loads((export_dir / "scheduler" / "scheduler_config.json").read_text())
        vae = json.loads((export_dir / "vae_decoder" / "config.json").read_text())
        unet = json.loads((export_dir / "unet" / "config.json").read_text())
        self.vae_scaling_factor = float(vae.get("scaling_factor", 0.18215))
        self.vae_scale = 2 ** (len(vae["block_out_channels"]) - 1)
        self.unet_in_channels = int(unet["in_channels"])
        self.latent_channels = int(vae.get("latent_channels", 4))
        self.time_cond_proj_dim = unet.get("time_cond_proj_dim")
        # every UNet down block but the last halves the latent, so sides must divide by this
        self.size_multiple = self.vae_scale * 2 ** (len(unet["block_out_channels"]) - 1)
        self.min_size = max(self.size_multiple, spec.default_size // 2)
        self.max_size = spec.default_size * 2

    # ------------------------------------------------------------------ components

    def session(self, component: str) -> InferenceRunner:
        return self.cache.get(self.export_dir / component / "model.onnx")

    def new_scheduler(self) -> Any:
        import diffusers

        cls = getattr(diffusers, self.spec.scheduler)
        config = dict(self.scheduler_config)
        if self.spec.kind == "turbo":
            config["timestep_spacing"] = "trailing"  # SD-Turbo's one step must start at the last timestep
        return cls.from_config(config)

    def check_size(self, width: int, height: int) -> None:
        m, lo, hi = self.size_multiple, self.min_size, self.max_size
        if width % m or height % m or not (lo <= width <= hi and lo <= height <= hi):
            raise PhotogenError(
                f"Size {width}x{height} is not supported by {self.spec.id}: width and height must be multiples of {m} "
                f"from {lo} to {hi} (e.g. {self.spec.default_size}x{self.spec.default_size})."
            )

    def encode_prompt(self, prompt: str, negative_prompt: str | None, classifier_free: bool) -> np.ndarray:
        prompts = [negative_prompt or "", prompt] if classifier_free else [prompt]
        ids = self.tokenizer(
            prompts,
            padding="max_length",
            max_length=self.tokenizer.model_max_length,
            truncation=True,
            return_tensors="np",
        ).input_ids
        session = self.session("text_encoder")
        return session.run(None, _feed(session, input_ids=ids))[0].astype(np.float32)

    def unet(self, latents: np.ndarray, t: float, text_embeddings: np.ndarray, timestep_cond: np.ndarray | None,
             extra_inputs: dict[str, np.ndarray]) -> np.ndarray:  # fmt: skip
        session = self.session("unet")
        arrays = {
            "sample": latents,
            "timestep": np.array(t, dtype=np.float32),
            "encoder_hidden_states": text_embeddings,
            **extra_inputs,
        }
        if timestep_cond is not None:
            arrays["timestep_cond"] = np.repeat(timestep_cond, latents.shape[0], axis=0)
        return session.run(None, _feed(session, **arrays))[0].astype(np.float32)

    def encode_image(self, image: Image.Image) -> np.ndarray:
        pixels = np.asarray(image.convert("RGB"), dtype=np.float32) / 127.5 - 1.0
        session = self.session("vae_encoder")
        params = session.run(None, _feed(session, sample=pixels.transpose(2, 0, 1)[None]))[0]
        # the distribution's mean, not a sample: the encoding of a photo should not depend on the seed
        return params[:, : self.latent_channels].astype(np.float32) * self.vae_scaling_factor

    def decode(self, latents: np.ndarray) -> Image.Image:
        session = self.session("vae_decoder")
        pixels = session.run(None, _feed(session, latent_sample=latents / self.vae_scaling_factor))[0][0]
        pixels = np.clip(pixels.transpose(1, 2, 0) / 2 + 0.5, 0.0, 1.0)
        return Image.fromarray(np.round(pixels * 255).astype(np.uint8))


def _step_counter(callback: StepCallback | None, total: int) -> Callable[[], None]:
    """A callable each denoising step calls; it reports (done, total) across all variants."""
    done = 0

    def on_step() -> None:
        nonlocal done
        done += 1
        if callback is not None:
            callback(done, total)

    return on_step


class _DiffusionPipeline:
    """Shared denoising machinery; subclasses' `__call__` reads as the algorithm, in numbered steps."""

    def __init__(self, engine: OnnxStableDiffusion) -> None:
        self.engine = engine

    def _encode_photo(self, photo: Image.Image, width: int, height: int) -> tuple[Image.Image, Any]:
        """The photo at the working size, and its latents (restyle and background start from them)."""
        import torch

        original = photo.convert("RGB").resize((width, height), Image.Resampling.LANCZOS)
        return original, torch.from_numpy(self.engine.encode_image(original))

    def _check_common(self, prompt: str, steps: int, variants: int, width: int, height: int) -> None:
        if not prompt.strip():
            raise PhotogenError("The prompt is empty: say what the image should show.")
        if not 1 <= steps <= 50:
            raise PhotogenError(
                f"--steps {steps} is out of range: use 1 to 50 ({self.engine.spec.default_steps} suits {self.engine.spec.id})."
            )
        if not 1 <= variants <= 16:
            raise PhotogenError(f"--variants {variants} is out of range: use 1 to 16.")
        self.engine.check_size(width, height)

    def _guidance(self, guidance_scale: float | None) -> tuple[float, bool, np.ndarray | None]:
        g = self.engine.spec.default_guidance if guidance_scale is None else guidance_scale
        if self.engine.time_cond_proj_dim:
            # distilled LCMs were trained with guidance as an input: one UNet pass, no negative prompt
            return g, False, guidance_scale_embedding(g, int(self.engine.time_cond_proj_dim))
        return g, g > 1.0, None

    def _timesteps(self, scheduler: Any, steps: int, strength: float) -> Any:
        import inspect

        if "strength" in inspect.signature(scheduler.set_timesteps).parameters:
            try:
                scheduler.set_timesteps(steps, strength=strength)
            except ValueError as e:  # LCM: strength x its 50 training steps must cover the steps asked for
                raise PhotogenError(
                    f"Strength {strength} is too low for {steps} steps: raise --strength or lower --steps."
                ) from e
            timesteps = scheduler.timesteps
        else:
            scheduler.set_timesteps(steps)
            start = steps - min(int(steps * strength), steps)
            timesteps = scheduler.timesteps[start * scheduler.order :]
            if hasattr(scheduler, "set_begin_index"):
                scheduler.set_begin_index(start * scheduler.order)
        if len(timesteps) == 0:
            raise PhotogenError(
                f"Strength {strength} with {steps} steps leaves no step to run: raise --strength or --steps."
            )
        return timesteps

    def _denoise(self, latents: Any, timesteps: Any, scheduler: Any, text: np.ndarray, guidance: float, cfg: bool,
                 timestep_cond: np.ndarray | None, generator: Any, extra_inputs: dict[str, np.ndarray],
                 after_step: Callable[[int, Any], Any] | None, unet_extra_latents: np.ndarray | None,
                 on_step: Callable[[], None], uncond_inputs: dict[str, np.ndarray] | None = None) -> Any:  # fmt: skip
        """`uncond_inputs`: the unconditional branch's own extra UNet inputs (IP-Adapter's zeroed identity);
        the graph's extra inputs are shared by the batch, so then each branch is its own batch-1 call."""
        import torch

        for i, t in enumerate(timesteps):
            model_in = scheduler.scale_model_input(latents, t).numpy()
            if unet_extra_latents is not None:
                model_in = np.concatenate([model_in, unet_extra_latents], axis=1)
            if cfg and uncond_inputs is not None:
                uncond = self.engine.unet(model_in, float(t), text[:1], timestep_cond, uncond_inputs)
                cond = self.engine.unet(model_in, float(t), text[1:], timestep_cond, extra_inputs)
                noise_pred = uncond + guidance * (cond - uncond)
            elif cfg:
                noise_pred = self.engine.unet(np.concatenate([model_in, model_in]), float(t), text, timestep_cond,
                                              extra_inputs)  # fmt: skip
                uncond, cond = noise_pred[:1], noise_pred[1:]
                noise_pred = uncond + guidance * (cond - uncond)
            else:
                noise_pred = self.engine.unet(model_in, float(t), text, timestep_cond, extra_inputs)
            latents = scheduler.step(torch.from_numpy(noise_pred), t, latents, generator=generator, return_dict=False)[
                0
            ]
            if after_step is not None:
                latents = after_step(i, latents)
            on_step()
        return latents

    @staticmethod
    def _noise(shape: tuple[int, ...], seed: int) -> tuple[Any, Any]:
        import torch

        generator = torch.Generator("cpu").manual_seed(seed)
        return torch.randn(shape, generator=generator, dtype=torch.float32), generator

    def _result(
        self, image: Image.Image, latents: Any, seed: int, variant: int, timings: dict[str, float], **extra: Any
    ) -> GeneratedImage:
        m = self.engine.manifest
        return GeneratedImage(
            image, seed, variant, timings, m.model_id, m.precision, m.test_model, dict(extra), latents.numpy()
        )


class TextToImagePipeline(_DiffusionPipeline):
    def __call__(self, prompt: str, *, negative_prompt: str | None = None, steps: int | None = None,
                 guidance_scale: float | None = None, width: int | None = None, height: int | None = None,
                 seed: int = 0, variants: int = 1, extra_unet_inputs: dict[str, np.ndarray] | None = None,
                 uncond_unet_inputs: dict[str, np.ndarray] | None = None,
                 callback: StepCallback | None = None) -> list[GeneratedImage]:  # fmt: skip
        engine = self.engine
        steps = engine.spec.default_steps if steps is None else steps
        width = width or engine.spec.default_size
        height = height or engine.spec.default_size

        # 1. Check inputs
        self._check_common(prompt, steps, variants, width, height)
        guidance, cfg, timestep_cond = self._guidance(guidance_scale)
        on_step = _step_counter(callback, steps * variants)

        # 2. Encode prompt (once for all variants)
        t0 = time.perf_counter()
        text = engine.encode_prompt(prompt, negative_prompt, cfg)
        encode_s = time.perf_counter() - t0

        results = []
        for variant in range(variants):
            seed_v = seed + variant
            t1 = time.perf_counter()
            # 3. Prepare timesteps
            scheduler = engine.new_scheduler()
            timesteps = self._timesteps(scheduler, steps, 1.0)
            # 4. Prepare latents
            shape = (1, engine.latent_channels, height // engine.vae_scale, width // engine.vae_scale)
            noise, generator = self._noise(shape, seed_v)
            latents = noise * scheduler.init_noise_sigma
            # 5. Denoising loop
            latents = self._denoise(latents, timesteps, scheduler, text, guidance, cfg, timestep_cond, generator,
                                    extra_unet_inputs or {}, None, None, on_step, uncond_unet_inputs)  # fmt: skip
            t2 = time.perf_counter()
            # 6. Decode
            image = engine.decode(latents.numpy())
            t3 = time.perf_counter()
            timings = {
                "encode_prompt_s": encode_s,
                "denoise_s": t2 - t1,
                "decode_s": t3 - t2,
                "total_s": t3 - t1 + encode_s,
            }
            results.append(self._result(image, latents, seed_v, variant, timings))
        return results


class RestylePipeline(_DiffusionPipeline):
    """img2img: the photo is the starting point; `strength` says how far the result may move from it."""

    def __call__(self, photo: Image.Image, prompt: str, *, strength: float = 0.5, negative_prompt: str | None = None,
                 steps: int | None = None, guidance_scale: float | None = None, width: int | None = None,
                 height: int | None = None, seed: int = 0, variants: int = 1, face_guard: FaceGuard | None = None,
                 extra_unet_inputs: dict[str, np.ndarray] | None = None,
                 callback: StepCallback | None = None) -> list[GeneratedImage]:  # fmt: skip

        engine = self.engine
        steps = engine.spec.default_steps if steps is None else steps
        if width is None or height is None:
            width, height = fit_size(*photo.size, engine.spec.default_size, engine.size_multiple)

        # 1. Check inputs
        self._check_common(prompt, steps, variants, width, height)
        if not 0.0 < strength <= 1.0:
            raise PhotogenError(f"Strength {strength} is out of range: use a value above 0 and at most 1.")
        guidance, cfg, timestep_cond = self._guidance(guidance_scale)
        on_step = _step_counter(callback, steps * variants)

        # 2. Encode prompt and photo (once for all variants)
        t0 = time.perf_counter()
        text = engine.encode_prompt(prompt, negative_prompt, cfg)
        original, image_latents = self._encode_photo(photo, width, height)
        encode_s = time.perf_counter() - t0

        results = []
        for variant in range(variants):
            seed_v = seed + variant
            t1 = time.perf_counter()
            # 3. Prepare timesteps: strength < 1 skips the noisiest steps
            scheduler = engine.new_scheduler()
            timesteps = self._timesteps(scheduler, steps, strength)
            # 4. Prepare latents: the photo's latents noised to the first timestep
            noise, generator = self._noise(tuple(image_latents.shape), seed_v)
            latents = scheduler.add_noise(image_latents, noise, timesteps[:1])
            # 5. Denoising loop
            latents = self._denoise(latents, timesteps, scheduler, text, guidance, cfg, timestep_cond, generator,
                                    extra_unet_inputs or {}, None, None, on_step)  # fmt: skip
            t2 = time.perf_counter()
            # 6. Decode
            image = engine.decode(latents.numpy())
            # 7. Face guard: the caller blends original faces back where the generated ones drifted
            guarded = face_guard is not None
            if face_guard is not None:
                image = face_guard(original, image)
            t3 = time.perf_counter()
            timings = {
                "encode_s": encode_s,
                "denoise_s": t2 - t1,
                "decode_and_guard_s": t3 - t2,
                "total_s": t3 - t1 + encode_s,
            }
            results.append(
                self._result(image, latents, seed_v, variant, timings, strength=strength, face_guard=guarded)
            )
        return results


class BackgroundPipeline(_DiffusionPipeline):
    """Inpainting around the people: a new background is generated, the people are pasted back pixel-exact."""

    def __call__(self, photo: Image.Image, prompt: str, *, person_mask: np.ndarray | None = None,
                 masker: PersonMasker | None = None, face_boxes: Sequence[Box] = (), negative_prompt: str | None = None,
                 steps: int | None = None, guidance_scale: float | None = None, strength: float = 1.0,
                 width: int | None = None, height: int | None = None, seed: int = 0, variants: int = 1,
                 extra_unet_inputs: dict[str, np.ndarray] | None = None,
                 callback: StepCallback | None = None) -> list[GeneratedImage]:  # fmt: skip
        import torch

        engine = self.engine
        steps = engine.spec.default_steps if steps is None else steps
        if width is None or height is None:
            width, height = fit_size(*photo.size, engine.spec.default_size, engine.size_multiple)

        # 1. Check inputs and find the people
        self._check_common(prompt, steps, variants, width, height)
        guidance, cfg, timestep_cond = self._guidance(guidance_scale)
        if person_mask is None:
            if masker is None:
                raise PhotogenError("Background mode needs the people's mask or a way to find them (a person masker).")
            person_mask = masker(photo, face_boxes)
        person_mask = np.asarray(person_mask, dtype=bool)
        if person_mask.shape != (photo.height, photo.width):
            raise PhotogenError(
                f"The person mask is {person_mask.shape[::-1]}, the photo {photo.size}: they must match."
            )
        if not person_mask.any():
            raise PhotogenError(
                "No person was found in this photo, so there is nothing to keep: use restyle or text mode."
            )
        keep = (
            np.asarray(
                Image.fromarray(person_mask.astype(np.uint8) * 255).resize((width, height), Image.Resampling.NEAREST)
            )
            > 127
        )
        on_step = _step_counter(callback, steps * variants)

        # 2. Encode prompt, photo and mask (once for all variants)
        t0 = time.perf_counter()
        text = engine.encode_prompt(prompt, negative_prompt, cfg)
        original, image_latents = self._encode_photo(photo, width, height)
        lh, lw = height // engine.vae_scale, width // engine.vae_scale
        # a latent cell is regenerated unless the person fills it entirely; the pixel composite in
        # step 7 restores every person pixel, so cells on the outline can safely be regenerated
        keep_latent = ~(
            np.asarray(Image.fromarray((~keep).astype(np.uint8) * 255).resize((lw, lh), Image.Resampling.BOX)) > 0
        )
        regen = torch.from_numpy((~keep_latent).astype(np.float32))[None, None]
        unet_extra = None
        if engine.unet_in_channels == 9:  # a dedicated inpainting UNet also sees the mask and the kept pixels
            masked = Image.fromarray(np.asarray(original) * keep[..., None].astype(np.uint8))
            unet_extra = np.concatenate([regen.numpy(), engine.encode_image(masked)], axis=1)
        encode_s = time.perf_counter() - t0

        results = []
        for variant in range(variants):
            seed_v = seed + variant
            t1 = time.perf_counter()
            # 3. Prepare timesteps
            scheduler = engine.new_scheduler()
            timesteps = self._timesteps(scheduler, steps, strength)
            # 4. Prepare latents
            noise, generator = self._noise(tuple(image_latents.shape), seed_v)
            latents = (
                noise * scheduler.init_noise_sigma
                if strength >= 1.0
                else scheduler.add_noise(image_latents, noise, timesteps[:1])
            )

            # 5. Denoising loop; a plain UNet keeps the people by resetting their latents after each step
            def keep_people(
                i: int, lat: Any, timesteps: Any = timesteps, noise: Any = noise, scheduler: Any = scheduler
            ) -> Any:
                if unet_extra is not None:
                    return lat
                known = (
                    image_latents
                    if i == len(timesteps) - 1
                    else scheduler.add_noise(image_latents, noise, timesteps[i + 1 : i + 2])
                )
                return regen * lat + (1 - regen) * known

            latents = self._denoise(latents, timesteps, scheduler, text, guidance, cfg, timestep_cond, generator,
                                    extra_unet_inputs or {}, keep_people, unet_extra, on_step)  # fmt: skip
            t2 = time.perf_counter()
            # 6. Decode, at the photo's own resolution
            generated = engine.decode(latents.numpy())
            if generated.size != photo.size:
                generated = generated.resize(photo.size, Image.Resampling.LANCZOS)
            # 7. Composite: person pixels are the photo's, exactly, at full resolution
            image = Image.fromarray(
                np.where(person_mask[..., None], np.asarray(photo.convert("RGB")), np.asarray(generated))
            )
            t3 = time.perf_counter()
            timings = {"encode_s": encode_s, "denoise_s": t2 - t1, "decode_s": t3 - t2, "total_s": t3 - t1 + encode_s}
            results.append(
                self._result(image, latents, seed_v, variant, timings, person_fraction=float(person_mask.mean()))
            )
        return results
