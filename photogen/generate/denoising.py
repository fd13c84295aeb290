"""The denoising loop every pipeline shares: input checks, guidance, timesteps, seeded noise, the steps, decoding.

What differs between text-to-image, restyle and background is a `Denoising` plan (where the latents
start, what the UNet is given, which latents are held to the photo's) and what each pipeline does with
the decoded image; the loop itself is written once, in `DiffusionPipeline.generate_variants`.

Determinism: each variant draws all its noise from a `torch.Generator` seeded with `seed + variant`, and
variants run one at a time, so a variant's image does not depend on how many variants were asked for.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from PIL import Image

from photogen.errors import PhotogenError
from photogen.generate.stable_diffusion import OnnxStableDiffusion

# (steps done, steps in all) over every variant of one call
StepCallback = Callable[[int, int], None]


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


@dataclass(frozen=True)
class Denoising:
    """What every variant of one call shares: the encoded prompt, guidance, steps and where the latents start."""

    text: np.ndarray
    guidance: float
    cfg: bool
    timestep_cond: np.ndarray | None
    steps: int
    shape: tuple[int, ...]  # the latents' shape
    strength: float = 1.0  # below 1, the noisiest steps are skipped
    # latents noised to the first timestep as the start (a photo's); None: pure noise
    start: Any = None
    extra_inputs: dict[str, np.ndarray] = field(default_factory=dict)
    # the unconditional branch's own extra UNet inputs (IP-Adapter's zeroed identity); the graph's extra
    # inputs are shared by the batch, so then each branch is its own batch-1 call
    uncond_inputs: dict[str, np.ndarray] | None = None
    # channels concatenated to the UNet's input at every step (a dedicated inpainting UNet's mask and kept pixels)
    unet_extra_latents: np.ndarray | None = None
    # after each step, where `regen` is 0 the latents are reset to these, noised to the next timestep
    keep_latents: Any = None
    regen: Any = None


def step_counter(callback: StepCallback | None, total: int) -> Callable[[], None]:
    """A callable each denoising step calls; it reports (done, total) across all variants."""
    done = 0

    def on_step() -> None:
        nonlocal done
        done += 1
        if callback is not None:
            callback(done, total)

    return on_step


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


class DiffusionPipeline:
    """Shared denoising machinery; subclasses' `__call__` reads as the algorithm, in numbered steps."""

    def __init__(self, engine: OnnxStableDiffusion) -> None:
        self.engine = engine

    def _encode_photo(self, photo: Image.Image, width: int, height: int) -> tuple[Image.Image, Any]:
        """The photo at the working size, and its latents (restyle and background start from them)."""
        import torch

        original = photo.convert("RGB").resize((width, height), Image.Resampling.LANCZOS)
        return original, torch.from_numpy(self.engine.encode_image(original))

    def _steps_and_size(self, steps: int | None, width: int | None, height: int | None,
                        photo: Image.Image | None = None) -> tuple[int, int, int]:  # fmt: skip
        """The steps and size asked for, else the model's defaults (for a photo, its aspect at the model's size)."""
        spec = self.engine.spec
        steps = spec.default_steps if steps is None else steps
        if photo is None:
            return steps, width or spec.default_size, height or spec.default_size
        if width is None or height is None:
            width, height = fit_size(*photo.size, spec.default_size, self.engine.size_multiple)
        return steps, width, height

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

    def generate_variants(self, plan: Denoising, *, seed: int, variants: int, on_step: Callable[[], None],
                          encode_s: float, finish: Callable[[Image.Image], Image.Image] | None = None,
                          timing_names: tuple[str, str] = ("encode_s", "decode_s"),
                          **extra: Any) -> list[GeneratedImage]:  # fmt: skip
        """Denoise and decode each variant (seed + index); `finish` turns the decoded image into the result.

        `timing_names`: what the encode and the decode(-and-finish) times are called in `timings`;
        `extra`: what every result's `extra` records."""
        engine = self.engine
        results = []
        for variant in range(variants):
            seed_v = seed + variant
            t1 = time.perf_counter()
            # 3. Prepare timesteps: strength < 1 skips the noisiest steps
            scheduler = engine.new_scheduler()
            timesteps = self._timesteps(scheduler, plan.steps, plan.strength)
            # 4. Prepare latents: pure noise, or the start's latents noised to the first timestep
            noise, generator = self._noise(plan.shape, seed_v)
            if plan.start is None:
                latents = noise * scheduler.init_noise_sigma
            else:
                latents = scheduler.add_noise(plan.start, noise, timesteps[:1])
            # 5. Denoising loop
            latents = self._denoise(plan, latents, timesteps, scheduler, noise, generator, on_step)
            t2 = time.perf_counter()
            # 6. Decode, and what the pipeline does with the decoded image
            image = engine.decode(latents.numpy())
            if finish is not None:
                image = finish(image)
            t3 = time.perf_counter()
            encode_name, decode_name = timing_names
            timings = {encode_name: encode_s, "denoise_s": t2 - t1, decode_name: t3 - t2, "total_s": t3 - t1 + encode_s}
            results.append(self._result(image, latents, seed_v, variant, timings, **extra))
        return results

    def _denoise(self, plan: Denoising, latents: Any, timesteps: Any, scheduler: Any, noise: Any, generator: Any,
                 on_step: Callable[[], None]) -> Any:  # fmt: skip
        import torch

        unet, text, guidance, cond_t = self.engine.unet, plan.text, plan.guidance, plan.timestep_cond
        for i, t in enumerate(timesteps):
            model_in = scheduler.scale_model_input(latents, t).numpy()
            if plan.unet_extra_latents is not None:
                model_in = np.concatenate([model_in, plan.unet_extra_latents], axis=1)
            if plan.cfg and plan.uncond_inputs is not None:
                uncond = unet(model_in, float(t), text[:1], cond_t, plan.uncond_inputs)
                cond = unet(model_in, float(t), text[1:], cond_t, plan.extra_inputs)
                noise_pred = uncond + guidance * (cond - uncond)
            elif plan.cfg:
                noise_pred = unet(np.concatenate([model_in, model_in]), float(t), text, cond_t, plan.extra_inputs)
                uncond, cond = noise_pred[:1], noise_pred[1:]
                noise_pred = uncond + guidance * (cond - uncond)
            else:
                noise_pred = unet(model_in, float(t), text, cond_t, plan.extra_inputs)
            latents = scheduler.step(torch.from_numpy(noise_pred), t, latents, generator=generator, return_dict=False)[
                0
            ]
            if plan.keep_latents is not None:
                known = (
                    plan.keep_latents
                    if i == len(timesteps) - 1
                    else scheduler.add_noise(plan.keep_latents, noise, timesteps[i + 1 : i + 2])
                )
                latents = plan.regen * latents + (1 - plan.regen) * known
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
