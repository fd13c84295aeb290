"""The identity UNet graph against its torch original, and the identity input wired through it."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import torch

from photogen.generate.identity import InstalledAdapter
from photogen.generate.identity.unet import IMAGE_ENCODER_COMPONENT, load_identity_unet
from photogen.generate.manifest import verify_export

logger = logging.getLogger(__name__)

# Measured on the tiny model with the tiny adapters (torch 2.13 CPU, ORT 1.32), 2 people x 2 references
# on a 16x8 latent: fp32 max abs ~1.3e-6; int8 ~0.03 max / ~0.007 mean (|out| ~1.5); fp16 ~2e-3.
# The bounds are the engine's own (tests/generate/test_export.py).
FP32_ATOL = 1e-4
INT8_MAX_ABS = 0.15
INT8_MEAN_ABS = 0.03
FP16_ATOL = 2e-2


def _ort(path: Path):  # noqa: ANN202
    import onnxruntime as ort

    return ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])


def _feed(features: tuple[int, ...], seed: int = 0, people: int = 2, refs: int = 2) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    masks = np.zeros((people, 16, 8), dtype=np.float32)
    for i in range(people):  # side by side strips
        masks[i, :, i * 8 // people : (i + 1) * 8 // people] = 1
    return {
        "sample": rng.standard_normal((1, 4, 16, 8)).astype(np.float32),
        "timestep": np.array(500.0, dtype=np.float32),
        "encoder_hidden_states": rng.standard_normal((1, 77, 32)).astype(np.float32),
        "identity_embeds": rng.standard_normal((people, refs, *features)).astype(np.float32),
        "identity_masks": masks,
        "identity_scale": np.array(1.0, dtype=np.float32),
    }


def _torch(model: torch.nn.Module, feed: dict[str, np.ndarray]) -> np.ndarray:
    with torch.no_grad():
        return model(**{k: torch.from_numpy(v) for k, v in feed.items()}).numpy()


@pytest.fixture(scope="module")
def faceid_torch(tiny_dir: Path, tiny_faceid: InstalledAdapter) -> torch.nn.Module:
    return load_identity_unet(tiny_dir / "unet", tiny_faceid, "tiny-test")


def test_faceid_fp32_graph_matches_torch(faceid_exports: Callable[[str], Path], faceid_torch: torch.nn.Module) -> None:
    session = _ort(faceid_exports("fp32") / "unet" / "model.onnx")
    names = {i.name for i in session.get_inputs()}
    assert {"identity_embeds", "identity_masks", "identity_scale"} <= names
    for people, refs in ((2, 2), (1, 1), (3, 1)):  # the people and reference axes are dynamic
        feed = _feed((128,), people=people, refs=refs)
        diff = np.abs(session.run(None, feed)[0] - _torch(faceid_torch, feed)).max()
        logger.warning("identity UNet fp32 vs torch, %d people x %d refs: max abs %.2e", people, refs, diff)
        assert diff < FP32_ATOL


def test_faceid_int8_and_fp16_drift_is_bounded(faceid_exports: Callable[[str], Path],
                                               faceid_torch: torch.nn.Module) -> None:  # fmt: skip
    feed = _feed((128,))
    ref = _torch(faceid_torch, feed)
    int8 = np.abs(_ort(faceid_exports("int8") / "unet" / "model.onnx").run(None, feed)[0] - ref)
    fp16 = np.abs(_ort(faceid_exports("fp16") / "unet" / "model.onnx").run(None, feed)[0] - ref)
    logger.warning("identity UNet int8: max %.4f mean %.4f; fp16 max %.2e", int8.max(), int8.mean(), fp16.max())
    assert int8.max() < INT8_MAX_ABS and int8.mean() < INT8_MEAN_ABS
    assert int8.max() > FP32_ATOL, "int8 output equals fp32: the identity UNet was not quantized"
    assert fp16.max() < FP16_ATOL


def test_different_identity_different_output_same_same(faceid_exports: Callable[[str], Path]) -> None:
    session = _ort(faceid_exports("fp32") / "unet" / "model.onnx")
    feed = _feed((128,), people=1, refs=1)
    first, again = session.run(None, feed)[0], session.run(None, feed)[0]
    other = session.run(None, feed | {"identity_embeds": _feed((128,), seed=7, people=1, refs=1)["identity_embeds"]})[0]
    assert np.array_equal(first, again)
    assert np.abs(first - other).mean() > 1e-2


def test_a_person_with_an_empty_region_changes_nothing(faceid_exports: Callable[[str], Path]) -> None:
    """The masks are wired: B's identity acts only through B's mask (per layer, see test_unet)."""
    session = _ort(faceid_exports("fp32") / "unet" / "model.onnx")
    feed = _feed((128,), people=2, refs=1)
    feed["identity_masks"][1] = 0.0
    changed = feed["identity_embeds"].copy()
    changed[1] = _feed((128,), seed=9, people=1, refs=1)["identity_embeds"][0]
    assert np.array_equal(session.run(None, feed)[0], session.run(None, feed | {"identity_embeds": changed})[0])
    feed["identity_masks"][1, :, 4:] = 1.0  # B gets the right half back
    assert not np.array_equal(session.run(None, feed)[0], session.run(None, feed | {"identity_embeds": changed})[0])


def test_manifest_records_the_adapter(faceid_exports: Callable[[str], Path], tiny_faceid: InstalledAdapter) -> None:
    manifest = verify_export(faceid_exports("fp32"))
    identity = manifest.extra["identity"]
    assert isinstance(identity, dict)
    assert identity["weights_sha256"] == tiny_faceid.weights_sha256 and identity["feature_shape"] == [128]
    assert faceid_exports("fp32").parent.name == "identity-tiny-faceid"  # beside, not over, the plain export


def test_plus_face_graph_and_image_encoder_match_torch(plus_export: Path, tiny_dir: Path,
                                                        tiny_plus: InstalledAdapter) -> None:  # fmt: skip
    from transformers import CLIPVisionModelWithProjection

    feed = _feed((17, 32))
    model = load_identity_unet(tiny_dir / "unet", tiny_plus, "tiny-test")
    diff = np.abs(_ort(plus_export / "unet" / "model.onnx").run(None, feed)[0] - _torch(model, feed)).max()
    assert diff < FP32_ATOL

    assert tiny_plus.image_encoder_dir is not None
    encoder = CLIPVisionModelWithProjection.from_pretrained(tiny_plus.image_encoder_dir).eval()
    pixels = np.random.default_rng(1).standard_normal((2, 3, 32, 32)).astype(np.float32)
    with torch.no_grad():
        ref = encoder(torch.from_numpy(pixels), output_hidden_states=True).hidden_states[-2].numpy()
    out = _ort(plus_export / IMAGE_ENCODER_COMPONENT / "model.onnx").run(None, {"pixel_values": pixels})[0]
    assert out.shape == (2, 17, 32) and np.abs(out - ref).max() < FP32_ATOL
