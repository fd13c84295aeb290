"""Stable Diffusion 1.5's published component configs, held here because the hub may be unreachable.

The UNet config is what `bench/unet_bench.py` builds a full-size random-weight UNet from, and the set is
what a single-file checkpoint import needs to lay out a diffusers folder offline.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from photogen.generate.tiny import write_clip_tokenizer

# stable-diffusion-v1-5/stable-diffusion-v1-5, unet/config.json
SD15_UNET_CONFIG: dict[str, Any] = {
    "act_fn": "silu",
    "attention_head_dim": 8,
    "block_out_channels": [320, 640, 1280, 1280],
    "center_input_sample": False,
    "cross_attention_dim": 768,
    "down_block_types": ["CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "DownBlock2D"],
    "downsample_padding": 1,
    "flip_sin_to_cos": True,
    "freq_shift": 0,
    "in_channels": 4,
    "layers_per_block": 2,
    "mid_block_scale_factor": 1,
    "norm_eps": 1e-05,
    "norm_num_groups": 32,
    "out_channels": 4,
    "sample_size": 64,
    "up_block_types": ["UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D"],
}

# vae/config.json
SD15_VAE_CONFIG: dict[str, Any] = {
    "act_fn": "silu",
    "block_out_channels": [128, 256, 512, 512],
    "down_block_types": ["DownEncoderBlock2D"] * 4,
    "in_channels": 3,
    "latent_channels": 4,
    "layers_per_block": 2,
    "norm_num_groups": 32,
    "out_channels": 3,
    "sample_size": 512,
    "scaling_factor": 0.18215,
    "up_block_types": ["UpDecoderBlock2D"] * 4,
}

# text_encoder/config.json (CLIP ViT-L/14 text tower)
SD15_TEXT_ENCODER_CONFIG: dict[str, Any] = {
    "architectures": ["CLIPTextModel"],
    "model_type": "clip_text_model",
    "attention_dropout": 0.0,
    "bos_token_id": 0,
    "eos_token_id": 2,
    "pad_token_id": 1,
    "hidden_act": "quick_gelu",
    "hidden_size": 768,
    "initializer_factor": 1.0,
    "initializer_range": 0.02,
    "intermediate_size": 3072,
    "layer_norm_eps": 1e-05,
    "max_position_embeddings": 77,
    "num_attention_heads": 12,
    "num_hidden_layers": 12,
    "projection_dim": 768,
    "vocab_size": 49408,
}

# few-step use: LCM's scheduler with SD 1.5's noise schedule
SD15_SCHEDULER_CONFIG: dict[str, Any] = {
    "_class_name": "LCMScheduler",
    "beta_end": 0.012,
    "beta_schedule": "scaled_linear",
    "beta_start": 0.00085,
    "num_train_timesteps": 1000,
    "prediction_type": "epsilon",
    "set_alpha_to_one": True,
    "steps_offset": 1,
    "timestep_spacing": "leading",
}


def write_sd15_config_dir(out: Path) -> Path:
    """A weightless diffusers folder (configs and tokenizer) that `from_single_file(config=...)` accepts."""
    components = {
        "unet": ("config.json", {"_class_name": "UNet2DConditionModel", **SD15_UNET_CONFIG}),
        "vae": ("config.json", {"_class_name": "AutoencoderKL", **SD15_VAE_CONFIG}),
        "text_encoder": ("config.json", SD15_TEXT_ENCODER_CONFIG),
        "scheduler": ("scheduler_config.json", SD15_SCHEDULER_CONFIG),
    }
    for name, (filename, config) in components.items():
        (out / name).mkdir(parents=True, exist_ok=True)
        (out / name / filename).write_text(json.dumps(config, indent=2))
    write_clip_tokenizer(out / "tokenizer")
    index = {
        "_class_name": "StableDiffusionPipeline",
        "feature_extractor": [None, None],
        "safety_checker": [None, None],
        "requires_safety_checker": False,
        "scheduler": ["diffusers", "LCMScheduler"],
        "text_encoder": ["transformers", "CLIPTextModel"],
        "tokenizer": ["transformers", "CLIPTokenizer"],
        "unet": ["diffusers", "UNet2DConditionModel"],
        "vae": ["diffusers", "AutoencoderKL"],
    }
    (out / "model_index.json").write_text(json.dumps(index, indent=2))
    return out
