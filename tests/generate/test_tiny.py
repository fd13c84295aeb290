from __future__ import annotations

import json
from pathlib import Path

from photogen.generate.tiny import TEST_MODEL_MARKER, is_test_model


def test_tokenizer_is_real_clip_bpe(tiny_dir: Path) -> None:
    from transformers import CLIPTokenizer

    tokenizer = CLIPTokenizer.from_pretrained(tiny_dir / "tokenizer")
    # ids of openai/clip-vit-large-patch14 for "a photo of a cat"
    assert tokenizer("a photo of a cat").input_ids == [49406, 320, 1125, 539, 320, 2368, 49407]
    assert len(tokenizer) == 49408


def test_tiny_model_is_labeled_and_in_diffusers_layout(tiny_dir: Path) -> None:
    assert is_test_model(tiny_dir)
    assert json.loads((tiny_dir / TEST_MODEL_MARKER).read_text())["test_model"] is True
    for part in ("unet", "vae", "text_encoder", "tokenizer", "scheduler"):
        assert (tiny_dir / part).is_dir()
    index = json.loads((tiny_dir / "model_index.json").read_text())
    assert index["scheduler"] == ["diffusers", "LCMScheduler"]


def test_exports_of_the_tiny_model_are_labeled(tiny_exports: dict[str, Path]) -> None:
    assert all(is_test_model(path) for path in tiny_exports.values())
