"""Every export checks itself: each exported graph against its torch original, once, on fixed inputs.

After an export (plain or with an identity adapter, every precision) and before its manifest is written,
each ONNX graph runs once beside the torch module it was made from, on the same seeded inputs. The
difference (max and mean absolute, and the reference's own magnitude) goes into the manifest, and an
export beyond its precision's bound is refused with the numbers: it is never moved into place, and a
manifest whose recorded drift is beyond today's bound is stale on load.

The inputs are small (a 16x16 latent, a 64x64 image) because every weight is used whatever the spatial
size, so the check costs one small call per graph even for a full-size SD 1.5 export. The torch model
and the ONNX session of a graph are never in memory together: the reference is computed and freed first.
"""

from __future__ import annotations

import gc
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel

from photogen.errors import PhotogenError

logger = logging.getLogger(__name__)

Feed = dict[str, np.ndarray]


class DriftBound(BaseModel):
    """How far an export may move from torch, relative to the reference output's own size.

    max: max|onnx - torch| / max|torch|; mean: mean|onnx - torch| / mean|torch|. Relative, because the
    components' outputs differ in scale (CLIP hidden states reach ~30, a UNet's noise is ~1).
    """

    max_rel: float
    mean_rel: float


# Measured on the tiny random-weight model (tests/generate/test_validation.py logs them), mean relative:
# fp32 ~1e-6, fp16 ~2e-3, int8 weight-only ~1.5%, int8 dynamic ~6% (UNet) to ~12% (text encoder), int8
# dynamic MatMul ~0.5% (UNet; 1.5% on the full-size UNet, bench/unet_bench.py) to ~3% (text encoder). The
# bounds leave room for real weights, while a wrong graph (a scaled or swapped weight) lands near 100%.
DRIFT_BOUNDS: dict[str, DriftBound] = {
    "fp32": DriftBound(max_rel=1e-3, mean_rel=1e-4),
    "fp16": DriftBound(max_rel=5e-2, mean_rel=1e-2),
    "int8": DriftBound(max_rel=0.4, mean_rel=0.25),
    "int8w": DriftBound(max_rel=0.1, mean_rel=0.05),
    "int8mm": DriftBound(max_rel=0.15, mean_rel=0.08),
}
# the VAE stays fp32 in every precision, so it is held to the fp32 bound whatever the export's precision
FP32_COMPONENTS = ("vae_encoder", "vae_decoder")


class GraphDrift(BaseModel):
    """One graph's measured difference from its torch original."""

    max_abs: float
    mean_abs: float
    ref_max_abs: float
    ref_mean_abs: float
    bound: DriftBound

    @property
    def max_rel(self) -> float:
        return self.max_abs / max(self.ref_max_abs, 1e-12)

    @property
    def mean_rel(self) -> float:
        return self.mean_abs / max(self.ref_mean_abs, 1e-12)

    @property
    def within_bound(self) -> bool:
        # NaN compares False, so a graph that produces NaN is refused
        return bool(self.max_rel <= self.bound.max_rel and self.mean_rel <= self.bound.mean_rel)

    def describe(self) -> str:
        return (
            f"max abs {self.max_abs:.3g} ({self.max_rel:.2%} of |ref| {self.ref_max_abs:.3g}; bound "
            f"{self.bound.max_rel:.2%}), mean abs {self.mean_abs:.3g} ({self.mean_rel:.2%} of mean |ref| "
            f"{self.ref_mean_abs:.3g}; bound {self.bound.mean_rel:.2%})"
        )


class ExportValidationError(PhotogenError):
    """An export whose graphs differ from their torch originals beyond the bound; it is not used."""

    def __init__(self, message: str, drift: dict[str, GraphDrift]) -> None:
        super().__init__(message)
        self.drift = drift


def bound_for(precision: str, component: str) -> DriftBound:
    return DRIFT_BOUNDS["fp32" if component in FP32_COMPONENTS else precision]


@dataclass
class GraphCheck:
    """A component's fixed inputs and how to compute its torch original's output on them."""

    component: str
    inputs: Feed
    # loads the torch module, runs it on the inputs, frees it; returns the first output as float32
    reference: Callable[[Feed], np.ndarray]


_ORT_TYPES = {"tensor(float)": np.float32, "tensor(float16)": np.float16, "tensor(int64)": np.int64,
              "tensor(int32)": np.int32}  # fmt: skip


def run_graph(model_path: Path, inputs: Feed) -> np.ndarray:
    """The first output of an ONNX graph on CPU, fed only the inputs it declares, cast to its types."""
    import onnxruntime as ort

    from photogen.generate.runtime import session_options

    # the runtime's own options: the graph is checked as the pipelines will run it
    opts = session_options(0)
    opts.log_severity_level = 3
    session = ort.InferenceSession(str(model_path), sess_options=opts, providers=["CPUExecutionProvider"])
    feed = {}
    for spec in session.get_inputs():
        if spec.name not in inputs:
            raise PhotogenError(f"{model_path} wants input '{spec.name}' that its check does not give.")
        feed[spec.name] = np.asarray(inputs[spec.name]).astype(_ORT_TYPES.get(spec.type, np.float32))
    out = session.run(None, feed)[0]
    del session
    return np.asarray(out, dtype=np.float32)


def measure(reference: np.ndarray, output: np.ndarray, bound: DriftBound) -> GraphDrift:
    if reference.shape != output.shape:
        nan = float("nan")
        return GraphDrift(max_abs=nan, mean_abs=nan, ref_max_abs=float(np.abs(reference).max()),
                          ref_mean_abs=float(np.abs(reference).mean()), bound=bound)  # fmt: skip
    diff = np.abs(output.astype(np.float64) - reference.astype(np.float64))
    return GraphDrift(
        max_abs=float(diff.max()),
        mean_abs=float(diff.mean()),
        ref_max_abs=float(np.abs(reference).max()),
        ref_mean_abs=float(np.abs(reference).mean()),
        bound=bound,
    )


def validate_graphs(export_dir: Path, checks: list[GraphCheck], precision: str, label: str) -> dict[str, GraphDrift]:
    """Run every check; return the drift per component, or raise ExportValidationError naming each graph beyond bound."""
    drift: dict[str, GraphDrift] = {}
    for check in checks:
        reference = check.reference(check.inputs)
        gc.collect()  # the torch module is gone before the ONNX session is built
        try:
            output = run_graph(export_dir / check.component / "model.onnx", check.inputs)
        except Exception as e:  # ORT raises its own InvalidGraph/Fail types for a graph it cannot load or run
            raise ExportValidationError(
                f"The {precision} export of {label} was not kept: its {check.component} graph does not run in ONNX "
                f"Runtime ({str(e)[:300]}). Try another precision (--precision fp32) or re-import the model.",
                drift,
            ) from e
        drift[check.component] = measure(reference, output, bound_for(precision, check.component))
        logger.info("%s %s vs torch: %s", label, check.component, drift[check.component].describe())
        gc.collect()
    failed = {c: d for c, d in drift.items() if not d.within_bound}
    if failed:
        lines = "; ".join(f"{c}: {d.describe()}" for c, d in failed.items())
        raise ExportValidationError(
            f"The {precision} export of {label} differs from its torch original beyond the {precision} bound, so it "
            f"was not kept: {lines}. Try another precision (--precision fp32) or re-import the model.",
            drift,
        )
    return drift


def check_recorded(drift: dict[str, GraphDrift], precision: str, components: list[str]) -> str | None:
    """Why a manifest's recorded drift makes its export unusable (None when it is fine)."""
    if missing := sorted(set(components) - set(drift)):
        return f"no validation recorded for {missing} (made by an older photogen)"
    for component, d in drift.items():
        current = GraphDrift(**{**d.model_dump(), "bound": bound_for(precision, component)})
        if not current.within_bound:
            return f"{component} drift beyond the {precision} bound: {current.describe()}"
    return None


# ------------------------------------------------------------------------------------- the checks


def _rng(component: str) -> np.random.Generator:
    # one fixed stream per component, so a graph is always checked on the same inputs
    return np.random.default_rng(sum(component.encode()))


def _config(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text())


def unet_inputs(unet_config: dict[str, Any], side: int | None = None) -> Feed:
    rng = _rng("unet")
    levels = len(unet_config["block_out_channels"])
    side = side or max(2 ** (levels - 1) * 2, 8)
    cross = unet_config["cross_attention_dim"]
    cross = cross[0] if isinstance(cross, list) else cross
    feed = {
        "sample": rng.standard_normal((1, unet_config["in_channels"], side, side)).astype(np.float32),
        "timestep": np.array(499.0, dtype=np.float32),
        "encoder_hidden_states": rng.standard_normal((1, 77, int(cross))).astype(np.float32),
    }
    if unet_config.get("time_cond_proj_dim"):
        feed["timestep_cond"] = rng.standard_normal((1, unet_config["time_cond_proj_dim"])).astype(np.float32)
    return feed


def _unet_reference(unet_dir: Path) -> Callable[[Feed], np.ndarray]:
    def run(feed: Feed) -> np.ndarray:
        import torch
        from diffusers import UNet2DConditionModel

        unet = UNet2DConditionModel.from_pretrained(unet_dir, torch_dtype=torch.float32).eval()
        t = {k: torch.from_numpy(v) for k, v in feed.items()}
        with torch.no_grad():
            out = unet(t["sample"], t["timestep"], t["encoder_hidden_states"], timestep_cond=t.get("timestep_cond"))
        del unet
        return out.sample.numpy()

    return run


def _text_encoder_check(source: Path) -> GraphCheck:
    config = _config(source / "text_encoder" / "config.json")
    rng = _rng("text_encoder")
    length = int(config.get("max_position_embeddings", 77))
    ids = rng.integers(1, int(config["vocab_size"]) - 1, size=(1, length))
    ids[0, 0] = int(config.get("bos_token_id", 0)) % int(config["vocab_size"])
    ids[0, 12:] = int(config.get("eos_token_id", 2)) % int(config["vocab_size"])

    def run(feed: Feed) -> np.ndarray:
        import torch
        from transformers import CLIPTextModel

        model = CLIPTextModel.from_pretrained(source / "text_encoder", torch_dtype=torch.float32).eval()
        with torch.no_grad():
            out = model(torch.from_numpy(feed["input_ids"])).last_hidden_state.numpy()
        del model
        return out

    return GraphCheck("text_encoder", {"input_ids": ids.astype(np.int64)}, run)


def _vae_checks(source: Path) -> list[GraphCheck]:
    config = _config(source / "vae" / "config.json")
    scale = 2 ** (len(config["block_out_channels"]) - 1)
    latent = np.float32(1.0) * _rng("vae_decoder").standard_normal((1, config.get("latent_channels", 4), 8, 8))
    image = np.tanh(_rng("vae_encoder").standard_normal((1, config.get("in_channels", 3), 8 * scale, 8 * scale)))

    def decode(feed: Feed) -> np.ndarray:
        import torch
        from diffusers import AutoencoderKL

        vae = AutoencoderKL.from_pretrained(source / "vae", torch_dtype=torch.float32).eval()
        with torch.no_grad():
            out = vae.decode(torch.from_numpy(feed["latent_sample"])).sample.numpy()
        del vae
        return out

    def encode(feed: Feed) -> np.ndarray:
        import torch
        from diffusers import AutoencoderKL

        vae = AutoencoderKL.from_pretrained(source / "vae", torch_dtype=torch.float32).eval()
        with torch.no_grad():
            # optimum's vae_encoder returns the latent distribution's parameters
            out = vae.encode(torch.from_numpy(feed["sample"])).latent_dist.parameters.numpy()
        del vae
        return out

    return [
        GraphCheck("vae_encoder", {"sample": image.astype(np.float32)}, encode),
        GraphCheck("vae_decoder", {"latent_sample": latent.astype(np.float32)}, decode),
    ]


def standard_checks(source: Path, components: set[str]) -> dict[str, GraphCheck]:
    """The checks of optimum's SD components, against the diffusers folder `source` they were exported from."""
    checks: dict[str, GraphCheck] = {}
    if "text_encoder" in components:
        checks["text_encoder"] = _text_encoder_check(source)
    if "unet" in components:
        checks["unet"] = GraphCheck(
            "unet", unet_inputs(_config(source / "unet" / "config.json")), _unet_reference(source / "unet")
        )
    for check in _vae_checks(source):
        if check.component in components:
            checks[check.component] = check
    return checks


__all__ = [
    "DRIFT_BOUNDS",
    "DriftBound",
    "ExportValidationError",
    "GraphCheck",
    "GraphDrift",
    "bound_for",
    "check_recorded",
    "measure",
    "run_graph",
    "standard_checks",
    "unet_inputs",
    "validate_graphs",
]
