"""Exported graphs against their torch originals, on the tiny model (max abs difference)."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest

from photogen.generate.export import model_files_bytes
from photogen.generate.manifest import verify_export

logger = logging.getLogger(__name__)

# Measured on the tiny model (torch 2.13 CPU, ORT 1.32): fp32 differences are ~1e-6; int8 UNet drift
# is ~0.05 max / ~0.008 mean on outputs of magnitude ~1; fp16 ~2e-3. Bounds leave ~10x margin for fp32.
FP32_ATOL = 1e-4
INT8_UNET_MAX_ABS = 0.15
INT8_UNET_MEAN_ABS = 0.03
FP16_ATOL = 2e-2


def _ort(path: Path):  # noqa: ANN202 - onnxruntime's session type
    import onnxruntime as ort

    return ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])


@pytest.fixture(scope="module")
def unet_case(tiny_dir: Path) -> tuple[dict[str, np.ndarray], np.ndarray]:
    import torch
    from diffusers import UNet2DConditionModel

    rng = np.random.default_rng(0)
    feed = {
        "sample": rng.standard_normal((1, 4, 16, 16)).astype(np.float32),
        "timestep": np.array(500.0, dtype=np.float32),
        "encoder_hidden_states": rng.standard_normal((1, 77, 32)).astype(np.float32),
    }
    unet = UNet2DConditionModel.from_pretrained(tiny_dir / "unet").eval()
    with torch.no_grad():
        ref = unet(
            torch.from_numpy(feed["sample"]), 500.0, torch.from_numpy(feed["encoder_hidden_states"])
        ).sample.numpy()
    return feed, ref


def test_unet_fp32_matches_torch(
    tiny_exports: dict[str, Path], unet_case: tuple[dict[str, np.ndarray], np.ndarray]
) -> None:
    feed, ref = unet_case
    out = _ort(tiny_exports["fp32"] / "unet" / "model.onnx").run(None, feed)[0]
    assert np.abs(out - ref).max() < FP32_ATOL


def test_unet_int8_drift_is_bounded(
    tiny_exports: dict[str, Path], unet_case: tuple[dict[str, np.ndarray], np.ndarray]
) -> None:
    feed, ref = unet_case
    out = _ort(tiny_exports["int8"] / "unet" / "model.onnx").run(None, feed)[0]
    drift = np.abs(out - ref)
    logger.warning(
        "int8 UNet drift vs torch fp32: max %.4f mean %.4f (|ref| max %.3f)",
        drift.max(),
        drift.mean(),
        np.abs(ref).max(),
    )
    assert drift.max() < INT8_UNET_MAX_ABS
    assert drift.mean() < INT8_UNET_MEAN_ABS
    assert drift.max() > FP32_ATOL, "int8 output equals fp32: the UNet was not quantized"


def test_unet_fp16_matches_torch(
    tiny_exports: dict[str, Path], unet_case: tuple[dict[str, np.ndarray], np.ndarray]
) -> None:
    feed, ref = unet_case
    out = _ort(tiny_exports["fp16"] / "unet" / "model.onnx").run(None, feed)[0]
    assert np.abs(out - ref).max() < FP16_ATOL


def test_text_encoder_fp32_matches_torch(tiny_dir: Path, tiny_exports: dict[str, Path]) -> None:
    import torch
    from transformers import CLIPTextModel

    ids = np.array([[49406, 320, 1125, 539, 320, 2368, 49407] + [49407] * 70], dtype=np.int64)
    model = CLIPTextModel.from_pretrained(tiny_dir / "text_encoder").eval()
    with torch.no_grad():
        ref = model(torch.from_numpy(ids)).last_hidden_state.numpy()
    out = _ort(tiny_exports["fp32"] / "text_encoder" / "model.onnx").run(None, {"input_ids": ids})[0]
    assert np.abs(out - ref).max() < FP32_ATOL


@pytest.mark.parametrize("precision", ["fp32", "int8", "fp16"])
def test_vae_decoder_stays_fp32_and_matches_torch(
    tiny_dir: Path, tiny_exports: dict[str, Path], precision: str
) -> None:
    import torch
    from diffusers import AutoencoderKL

    latents = np.random.default_rng(1).standard_normal((1, 4, 8, 8)).astype(np.float32)
    vae = AutoencoderKL.from_pretrained(tiny_dir / "vae").eval()
    with torch.no_grad():
        ref = vae.decode(torch.from_numpy(latents)).sample.numpy()
    out = _ort(tiny_exports[precision] / "vae_decoder" / "model.onnx").run(None, {"latent_sample": latents})[0]
    # every precision keeps the VAE in fp32 (SD 1.5's VAE overflows in fp16)
    assert np.abs(out - ref).max() < FP32_ATOL


def test_int8_export_is_smaller(tiny_exports: dict[str, Path]) -> None:
    fp32 = (tiny_exports["fp32"] / "unet" / "model.onnx").stat().st_size
    int8 = (tiny_exports["int8"] / "unet" / "model.onnx").stat().st_size
    # tiny layers carry proportionally more fp32 biases and norms than a full UNet (which lands near 26%)
    assert int8 / fp32 < 0.45
    assert model_files_bytes(tiny_exports["int8"]) < model_files_bytes(tiny_exports["fp32"])


def test_manifest_records_source_precision_and_versions(tiny_exports: dict[str, Path]) -> None:
    manifest = verify_export(tiny_exports["int8"])
    assert manifest.precision == "int8"
    assert manifest.source.kind == "folder" and manifest.source.content_sha256
    assert manifest.test_model
    assert {"unet/model.onnx", "text_encoder/model.onnx", "vae_decoder/model.onnx"} <= set(manifest.files)
    assert manifest.versions["onnxruntime"] != "absent"
