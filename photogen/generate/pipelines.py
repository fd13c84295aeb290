"""Diffusion pipelines on ONNX Runtime: text-to-image, restyle (img2img) and background (inpaint).

The denoising loops are ours rather than optimum's ORT pipelines: the session cache and provider policy
must own every session, the identity adapter (issue 6) feeds the UNet graph inputs optimum's pipelines
do not know, and a loop in plain numpy/torch makes determinism per seed easy to guarantee. The scheduler
math is diffusers' own schedulers, so the numbers are the reference pipelines' numbers. The three share
one loop (denoising.py); each pipeline here says only where its latents start and what it keeps.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

import numpy as np
from PIL import Image

from photogen.box import Box
from photogen.errors import PhotogenError
from photogen.generate.denoising import Denoising, DiffusionPipeline, GeneratedImage, StepCallback, step_counter

# (original photo at output size, generated image) -> generated image with drifted faces blended back
FaceGuard = Callable[[Image.Image, Image.Image], Image.Image]
# (photo, face boxes in its pixels) -> bool HxW mask, True where a person is
PersonMasker = Callable[[Image.Image, Sequence[Box]], np.ndarray]


class TextToImagePipeline(DiffusionPipeline):
    def __call__(self, prompt: str, *, negative_prompt: str | None = None, steps: int | None = None,
                 guidance_scale: float | None = None, width: int | None = None, height: int | None = None,
                 seed: int = 0, variants: int = 1, extra_unet_inputs: dict[str, np.ndarray] | None = None,
                 uncond_unet_inputs: dict[str, np.ndarray] | None = None,
                 callback: StepCallback | None = None) -> list[GeneratedImage]:  # fmt: skip
        engine = self.engine
        steps, width, height = self._steps_and_size(steps, width, height)

        # 1. Check inputs
        self._check_common(prompt, steps, variants, width, height)
        guidance, cfg, timestep_cond = self._guidance(guidance_scale)
        on_step = step_counter(callback, steps * variants)

        # 2. Encode prompt (once for all variants)
        t0 = time.perf_counter()
        text = engine.encode_prompt(prompt, negative_prompt, cfg)
        encode_s = time.perf_counter() - t0

        # 3-6. Each variant from pure noise
        shape = (1, engine.latent_channels, height // engine.vae_scale, width // engine.vae_scale)
        plan = Denoising(text, guidance, cfg, timestep_cond, steps, shape, extra_inputs=extra_unet_inputs or {},
                         uncond_inputs=uncond_unet_inputs)  # fmt: skip
        return self.generate_variants(plan, seed=seed, variants=variants, on_step=on_step, encode_s=encode_s,
                                      timing_names=("encode_prompt_s", "decode_s"))  # fmt: skip


class RestylePipeline(DiffusionPipeline):
    """img2img: the photo is the starting point; `strength` says how far the result may move from it."""

    def __call__(self, photo: Image.Image, prompt: str, *, strength: float = 0.5, negative_prompt: str | None = None,
                 steps: int | None = None, guidance_scale: float | None = None, width: int | None = None,
                 height: int | None = None, seed: int = 0, variants: int = 1, face_guard: FaceGuard | None = None,
                 extra_unet_inputs: dict[str, np.ndarray] | None = None,
                 callback: StepCallback | None = None) -> list[GeneratedImage]:  # fmt: skip

        engine = self.engine
        steps, width, height = self._steps_and_size(steps, width, height, photo)

        # 1. Check inputs
        self._check_common(prompt, steps, variants, width, height)
        if not 0.0 < strength <= 1.0:
            raise PhotogenError(f"Strength {strength} is out of range: use a value above 0 and at most 1.")
        guidance, cfg, timestep_cond = self._guidance(guidance_scale)
        on_step = step_counter(callback, steps * variants)

        # 2. Encode prompt and photo (once for all variants)
        t0 = time.perf_counter()
        text = engine.encode_prompt(prompt, negative_prompt, cfg)
        original, image_latents = self._encode_photo(photo, width, height)
        encode_s = time.perf_counter() - t0

        # 3-6. Each variant from the photo's latents noised to the first timestep
        plan = Denoising(text, guidance, cfg, timestep_cond, steps, tuple(image_latents.shape), strength,
                         start=image_latents, extra_inputs=extra_unet_inputs or {})  # fmt: skip

        # 7. Face guard: the caller blends original faces back where the generated ones drifted
        def guard(image: Image.Image) -> Image.Image:
            return image if face_guard is None else face_guard(original, image)

        return self.generate_variants(plan, seed=seed, variants=variants, on_step=on_step, encode_s=encode_s,
                                      finish=guard, timing_names=("encode_s", "decode_and_guard_s"),
                                      strength=strength, face_guard=face_guard is not None)  # fmt: skip


class BackgroundPipeline(DiffusionPipeline):
    """Inpainting around the people: a new background is generated, the people are pasted back pixel-exact."""

    def __call__(self, photo: Image.Image, prompt: str, *, person_mask: np.ndarray | None = None,
                 masker: PersonMasker | None = None, face_boxes: Sequence[Box] = (), negative_prompt: str | None = None,
                 steps: int | None = None, guidance_scale: float | None = None, strength: float = 1.0,
                 width: int | None = None, height: int | None = None, seed: int = 0, variants: int = 1,
                 extra_unet_inputs: dict[str, np.ndarray] | None = None,
                 callback: StepCallback | None = None) -> list[GeneratedImage]:  # fmt: skip
        import torch

        engine = self.engine
        steps, width, height = self._steps_and_size(steps, width, height, photo)

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
        on_step = step_counter(callback, steps * variants)

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

        # 3-6. Each variant from noise (or, below strength 1, the photo's latents noised); a plain UNet
        # keeps the people by resetting their latents after each step, an inpainting UNet sees them
        plan = Denoising(text, guidance, cfg, timestep_cond, steps, tuple(image_latents.shape), strength,
                         start=None if strength >= 1.0 else image_latents, extra_inputs=extra_unet_inputs or {},
                         unet_extra_latents=unet_extra, keep_latents=image_latents if unet_extra is None else None,
                         regen=regen)  # fmt: skip

        # 7. Decode at the photo's own resolution, then composite: person pixels are the photo's, exactly
        def composite(generated: Image.Image) -> Image.Image:
            if generated.size != photo.size:
                generated = generated.resize(photo.size, Image.Resampling.LANCZOS)
            return Image.fromarray(
                np.where(person_mask[..., None], np.asarray(photo.convert("RGB")), np.asarray(generated))
            )

        return self.generate_variants(plan, seed=seed, variants=variants, on_step=on_step, encode_s=encode_s,
                                      finish=composite, person_fraction=float(person_mask.mean()))  # fmt: skip
