"""One exported Stable Diffusion model on ONNX Runtime: its sessions, tokenizer and scheduler, and the
text-encoder, UNet, VAE-encoder and VAE-decoder calls the pipelines make (nothing here loops over steps).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from photogen.errors import PhotogenError
from photogen.generate.catalog import ModelSpec
from photogen.generate.manifest import ExportManifest
from photogen.generate.runtime import InferenceRunner, SessionCache

_ORT_TO_NUMPY = {
    "tensor(float)": np.float32,
    "tensor(float16)": np.float16,
    "tensor(int64)": np.int64,
    "tensor(int32)": np.int32,
}


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
