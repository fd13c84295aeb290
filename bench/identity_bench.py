"""Per-step cost of identity conditioning on a full-size SD 1.5 UNet: none vs one or two people, torch vs ORT.

The UNet is SD 1.5's published architecture with random weights and the adapter is a random
IP-Adapter-FaceID-layout checkpoint at the published sizes (512-d insightface input, 4 tokens of 768,
LoRA rank 128 on all 32 attention layers), loaded by photogen's identity loader: speed does not depend
on weight values. Both graphs are traced the same way (torch.onnx.export, opset 17), with the same dynamic axes, so
the ratio is the adapter's cost, not an exporter difference. CPU only; fp32.

    python bench/identity_bench.py [--size 512] [--reps 3] [--threads N] [--work DIR]

Prints ms/step (best of --reps, cases interleaved) for each case and the ratios identity/plain (torch and ORT) and torch/ORT.
"""

from __future__ import annotations

import argparse
import copy
import os
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

import numpy as np


def _feeds(size: int, people: int) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    rng = np.random.default_rng(0)
    side = size // 8
    plain = {
        "sample": rng.standard_normal((1, 4, side, side)).astype(np.float32),
        "timestep": np.array(499.0, dtype=np.float32),
        "encoder_hidden_states": rng.standard_normal((1, 77, 768)).astype(np.float32),
    }
    masks = np.zeros((people, side, side), dtype=np.float32)
    for i in range(people):
        masks[i, :, i * side // people : (i + 1) * side // people] = 1
    identity = plain | {
        "identity_embeds": rng.standard_normal((people, 1, 512)).astype(np.float32),
        "identity_masks": masks,
        "identity_scale": np.array(0.8, dtype=np.float32),
    }
    return plain, identity


def _interleaved(cases: dict[str, Callable[[], object]], reps: int) -> dict[str, float]:
    """ms per call of each case, best of `reps`, the cases taking turns so that load from other processes
    on the machine hits them alike (one warm-up call each first)."""
    for fn in cases.values():
        fn()
    times: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(reps):
        for name, fn in cases.items():
            start = time.perf_counter()
            fn()
            times[name].append((time.perf_counter() - start) * 1000)
    return {name: min(ts) for name, ts in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=int, default=512, help="image side in pixels (latent = size / 8)")
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--work", type=Path, default=None, help="where the ONNX files go (default: a temp dir)")
    args = parser.parse_args()

    import onnxruntime as ort
    import torch
    from diffusers import UNet2DConditionModel

    from photogen.generate.identity.adapters import get_adapter_spec
    from photogen.generate.identity.checkpoint import validate_layout
    from photogen.generate.identity.export import export_identity_unet
    from photogen.generate.identity.tiny import tiny_adapter_state_dict
    from photogen.generate.identity.unet import IdentityUNet, apply_identity_adapter
    from photogen.generate.sd15_config import SD15_UNET_CONFIG

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    plain = UNet2DConditionModel(**SD15_UNET_CONFIG).eval()
    groups = tiny_adapter_state_dict(plain, "faceid", input_dim=512, num_tokens=4, lora_rank=128)
    layout = validate_layout(groups, get_adapter_spec("ip-adapter-faceid"))
    adapted = copy.deepcopy(plain)
    identity = IdentityUNet(adapted, apply_identity_adapter(adapted, groups, layout)).eval()

    class Plain(torch.nn.Module):
        def __init__(self, unet: torch.nn.Module) -> None:
            super().__init__()
            self.unet = unet

        def forward(
            self, sample: torch.Tensor, timestep: torch.Tensor, encoder_hidden_states: torch.Tensor
        ) -> torch.Tensor:
            return self.unet(sample, timestep, encoder_hidden_states, return_dict=False)[0]

    plain_feed, _ = _feeds(args.size, 1)
    t1 = {k: torch.from_numpy(v) for k, v in _feeds(args.size, 1)[1].items()}
    t2 = {k: torch.from_numpy(v) for k, v in _feeds(args.size, 2)[1].items()}
    with torch.no_grad():
        results = _interleaved(
            {
                "torch plain": partial(plain, t1["sample"], t1["timestep"], t1["encoder_hidden_states"]),
                "torch identity x1": partial(identity, **t1),
                "torch identity x2": partial(identity, **t2),
            },
            args.reps,
        )
    print({k: round(v) for k, v in results.items()}, flush=True)

    with tempfile.TemporaryDirectory(dir=args.work) as tmp:
        work = Path(tmp)
        (work / "plain").mkdir()
        (work / "identity").mkdir()
        start = time.perf_counter()
        with torch.no_grad():
            torch.onnx.export(Plain(plain), tuple(torch.from_numpy(v) for v in _feeds(64, 1)[0].values()),
                              str(work / "plain" / "model.onnx"), input_names=list(_feeds(64, 1)[0]),
                              output_names=["out_sample"], opset_version=17, dynamo=False,
                              dynamic_axes={"sample": {0: "batch_size", 2: "height", 3: "width"},
                                            "encoder_hidden_states": {0: "batch_size", 1: "sequence_length"},
                                            "out_sample": {0: "batch_size", 2: "height", 3: "width"}})  # fmt: skip
        export_identity_unet(identity, work / "identity" / "model.onnx", (512,), 17)
        print(f"exports: {time.perf_counter() - start:.0f} s", flush=True)
        # the torch models stay in memory (about 7 GB): this bench wants 24 GB of RAM
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = args.threads
        opts.inter_op_num_threads = 1
        providers = ["CPUExecutionProvider"]
        plain_s = ort.InferenceSession(str(work / "plain" / "model.onnx"), opts, providers=providers)
        id_s = ort.InferenceSession(str(work / "identity" / "model.onnx"), opts, providers=providers)
        results |= _interleaved(
            {
                "ort plain": partial(plain_s.run, None, plain_feed),
                "ort identity x1": partial(id_s.run, None, _feeds(args.size, 1)[1]),
                "ort identity x2": partial(id_s.run, None, _feeds(args.size, 2)[1]),
            },
            args.reps,
        )

    print(f"\nSD 1.5 UNet, {args.size}x{args.size}, batch 1, fp32, {args.threads} threads, CPU: ms/step")
    for name, ms in results.items():
        print(f"  {name:20s} {ms:9.0f}")
    print("ratios:")
    for backend in ("torch", "ort"):
        for people in (1, 2):
            ratio = results[f"{backend} identity x{people}"] / results[f"{backend} plain"]
            print(f"  {backend} identity x{people} / plain: {ratio:.3f}")
    print(f"  torch / ort, plain: {results['torch plain'] / results['ort plain']:.2f}")
    print(f"  torch / ort, identity x1: {results['torch identity x1'] / results['ort identity x1']:.2f}")


if __name__ == "__main__":
    main()
