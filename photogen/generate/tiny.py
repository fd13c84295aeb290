"""A tiny random-weight Stable Diffusion pipeline in the standard diffusers layout.

Tests and offline smoke runs use it so that the same loading, export and runtime code runs on it as on
a real model. Everything made with it is labeled a test model (model_index.json and a marker file).
"""

from __future__ import annotations

import gzip
import importlib.util
import json
import logging
from pathlib import Path

from photogen.errors import PhotogenError

logger = logging.getLogger(__name__)

TEST_MODEL_MARKER = "photogen_test_model.json"
TEST_MODEL_INDEX_KEY = "_photogen_test_model"

# CLIP's byte-pair vocabulary, laid out like openai/clip-vit-large-patch14: 256 byte tokens, their
# end-of-word forms, 48,894 merges, then the two special tokens (49,408 ids in all).
_CLIP_MERGES = 49152 - 256 - 2
_CLIP_VOCAB_SIZE = 49408


def _bytes_to_unicode() -> dict[int, str]:
    """GPT-2/CLIP's reversible byte to printable-character map (the tokenizer's base alphabet)."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, [chr(c) for c in cs], strict=True))


def write_clip_tokenizer(out_dir: Path) -> Path:
    """Write a real CLIP BPE tokenizer (vocab.json, merges.txt) from the vocabulary open-clip-torch ships."""
    # find the file without importing open_clip, whose import pulls in torchvision and model code
    spec = importlib.util.find_spec("open_clip")
    if spec is None or not spec.submodule_search_locations:
        raise PhotogenError("open-clip-torch is not installed; it ships the CLIP vocabulary the test model needs.")
    bpe = (Path(next(iter(spec.submodule_search_locations))) / "bpe_simple_vocab_16e6.txt.gz").read_bytes()
    lines = gzip.decompress(bpe).decode("utf-8").split("\n")
    merges = [tuple(line.split()) for line in lines[1 : _CLIP_MERGES + 1]]
    alphabet = list(_bytes_to_unicode().values())
    tokens = alphabet + [t + "</w>" for t in alphabet] + ["".join(m) for m in merges]
    tokens += ["<|startoftext|>", "<|endoftext|>"]
    assert len(tokens) == _CLIP_VOCAB_SIZE, len(tokens)

    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "vocab.json").write_text(json.dumps({t: i for i, t in enumerate(tokens)}, ensure_ascii=False))
    (out_dir / "merges.txt").write_text(
        "#version: 0.2\n" + "\n".join(" ".join(m) for m in merges) + "\n", encoding="utf-8"
    )
    (out_dir / "special_tokens_map.json").write_text(
        json.dumps(
            {
                "bos_token": "<|startoftext|>",
                "eos_token": "<|endoftext|>",
                "unk_token": "<|endoftext|>",
                "pad_token": "<|endoftext|>",
            }
        )
    )
    (out_dir / "tokenizer_config.json").write_text(
        json.dumps(
            {
                "tokenizer_class": "CLIPTokenizer",
                "model_max_length": 77,
                "do_lower_case": True,
                "bos_token": "<|startoftext|>",
                "eos_token": "<|endoftext|>",
                "unk_token": "<|endoftext|>",
                "pad_token": "<|endoftext|>",
                "errors": "replace",
                "add_prefix_space": False,
            }
        )
    )
    return out_dir


def create_tiny_pipeline(out_dir: str | Path, seed: int = 0) -> Path:
    """Build a tiny random-weight SD pipeline (LCM scheduler) in diffusers layout under `out_dir`.

    The VAE has four blocks so that its scale factor is 8, like a real SD VAE, and size rules are the
    same as a real model's. Two denoising steps at 64x64 run in well under a second on a CPU.
    """
    import torch
    from diffusers import AutoencoderKL, LCMScheduler, StableDiffusionPipeline, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTokenizer

    out = Path(out_dir)
    torch.manual_seed(seed)
    unet = UNet2DConditionModel(
        block_out_channels=(32, 64),
        layers_per_block=2,
        sample_size=8,
        in_channels=4,
        out_channels=4,
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
        up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
        cross_attention_dim=32,
        attention_head_dim=8,
        norm_num_groups=32,
    )
    vae = AutoencoderKL(
        block_out_channels=(16, 16, 32, 32),
        in_channels=3,
        out_channels=3,
        down_block_types=("DownEncoderBlock2D",) * 4,
        up_block_types=("UpDecoderBlock2D",) * 4,
        latent_channels=4,
        layers_per_block=1,
        norm_num_groups=16,
        sample_size=64,
    )
    # Like SD's 0.18215, the scaling factor makes latents unit-variance, so noise levels mean what they
    # mean for a real model (img2img at low strength keeps the photo's latents, not just noise).
    with torch.no_grad():
        ramp = torch.linspace(-1, 1, 64)
        probes = torch.stack([ramp[None, :].expand(64, 64), ramp[:, None].expand(64, 64), torch.rand(64, 64) * 2 - 1])
        std = vae.encode(probes[None]).latent_dist.mean.std().item()
    vae.register_to_config(scaling_factor=round(1.0 / std, 5))
    text_encoder = CLIPTextModel(
        CLIPTextConfig(
            bos_token_id=49406,
            eos_token_id=49407,
            pad_token_id=49407,
            hidden_size=32,
            intermediate_size=37,
            layer_norm_eps=1e-05,
            num_attention_heads=4,
            num_hidden_layers=2,
            vocab_size=_CLIP_VOCAB_SIZE,
            max_position_embeddings=77,
            projection_dim=32,
        )
    )
    scheduler = LCMScheduler(
        beta_start=0.00085,
        beta_end=0.012,
        beta_schedule="scaled_linear",
        num_train_timesteps=1000,
        set_alpha_to_one=True,
        steps_offset=1,
    )
    tok_dir = write_clip_tokenizer(out / "_tokenizer_src")
    tokenizer = CLIPTokenizer.from_pretrained(tok_dir)

    pipe = StableDiffusionPipeline(
        vae=vae,
        text_encoder=text_encoder,
        tokenizer=tokenizer,
        unet=unet,
        scheduler=scheduler,
        safety_checker=None,
        feature_extractor=None,
        requires_safety_checker=False,
    )
    pipe.save_pretrained(out)
    for f in tok_dir.iterdir():
        f.unlink()
    tok_dir.rmdir()

    # diffusers ignores model_index keys that start with "_", so the label does not break loading
    index_path = out / "model_index.json"
    index = json.loads(index_path.read_text())
    index[TEST_MODEL_INDEX_KEY] = True
    index_path.write_text(json.dumps(index, indent=2, sort_keys=True))
    (out / TEST_MODEL_MARKER).write_text(
        json.dumps({"test_model": True, "note": "random weights: makes noise, not pictures", "seed": seed}, indent=2)
    )
    logger.info("wrote tiny test pipeline to %s", out)
    return out


def is_test_model(model_dir: Path) -> bool:
    """True when a diffusers folder or an export of one is labeled as a tiny test model."""
    if (model_dir / TEST_MODEL_MARKER).exists():
        return True
    index = model_dir / "model_index.json"
    return index.exists() and bool(json.loads(index.read_text()).get(TEST_MODEL_INDEX_KEY, False))
