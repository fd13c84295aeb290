"""One SD 1.5 denoising step at 512x512 on CPU: torch eager fp32 vs ONNX Runtime fp32 vs ORT int8.

The UNet is built from SD 1.5's published config with random weights (speed does not depend on weight
values), exported with optimum-onnx's UNet export config, the same graph `photogen models export`
makes, and quantized the same way (int8 weights, dynamic activation scaling). Each measurement runs in
its own process so that its peak memory (max RSS) is its own.

    python bench/unet_bench.py [--reps 3] [--work DIR] [--keep]

Prints ms/step, the ratios, model sizes and peak memory. Goal (issue 5): ORT >= 1.8x faster than
torch per step on CPU; int8 at most 30% of the fp32 size.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

# batch 1: few-step LCM models run without classifier-free guidance
LATENT_SHAPE = (1, 4, 64, 64)  # 512x512 pixels / 8
TEXT_SHAPE = (1, 77, 768)


def _inputs() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    return {
        "sample": rng.standard_normal(LATENT_SHAPE).astype(np.float32),
        "timestep": np.array(499.0, dtype=np.float32),
        "encoder_hidden_states": rng.standard_normal(TEXT_SHAPE).astype(np.float32),
    }


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


def _build_unet():  # noqa: ANN202 - diffusers type, imported lazily
    import torch
    from diffusers import UNet2DConditionModel

    from photogen.generate.sd15_config import SD15_UNET_CONFIG

    torch.manual_seed(0)
    return UNet2DConditionModel(**SD15_UNET_CONFIG).eval()


def phase_torch(reps: int, threads: int) -> dict[str, float]:
    import torch

    torch.set_num_threads(threads)
    unet = _build_unet()
    feed = {k: torch.from_numpy(v) for k, v in _inputs().items()}
    times = []
    with torch.inference_mode():
        for i in range(reps + 1):  # the first call warms allocators and kernels
            t0 = time.perf_counter()
            unet(feed["sample"], feed["timestep"], feed["encoder_hidden_states"])
            if i:
                times.append(time.perf_counter() - t0)
    return {"ms_per_step": 1000 * float(np.median(times)), "peak_rss_mb": _peak_rss_mb()}


def phase_export(work: Path) -> dict[str, float]:
    from optimum.exporters.onnx.convert import export
    from optimum.exporters.tasks import TasksManager
    from optimum.exporters.utils import _get_diffusers_submodel_type

    from photogen.generate.export import DEFAULT_OPSET, quantize_weights_int8

    unet = _build_unet()
    # the attributes optimum's diffusion export sets on a pipeline's UNet before building its config
    unet.config.requires_aesthetics_score = False
    unet.config.time_cond_proj_dim = None
    unet.config.text_encoder_projection_dim = 768
    unet.config.export_model_type = _get_diffusers_submodel_type(unet)
    constructor = TasksManager.get_exporter_config_constructor(
        model=unet, exporter="onnx", library_name="diffusers", task="semantic-segmentation"
    )
    onnx_config = constructor(unet.config, int_dtype="int64", float_dtype="fp32")
    fp32 = work / "fp32" / "model.onnx"
    int8 = work / "int8" / "model.onnx"
    fp32.parent.mkdir(parents=True, exist_ok=True)
    int8.parent.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    export(unet, onnx_config, fp32, opset=DEFAULT_OPSET)
    export_s = time.perf_counter() - t0
    del unet
    # quantize a copy in place, as the app does
    for f in fp32.parent.iterdir():
        shutil.copy(f, int8.parent / f.name)
    t0 = time.perf_counter()
    quantize_weights_int8(int8)
    return {"export_s": export_s, "quantize_s": time.perf_counter() - t0, "peak_rss_mb": _peak_rss_mb()}


def phase_ort(model: Path, reps: int, threads: int) -> dict[str, float]:
    import onnxruntime as ort

    from photogen.generate.runtime import session_options

    t0 = time.perf_counter()
    session = ort.InferenceSession(
        str(model), sess_options=session_options(threads), providers=["CPUExecutionProvider"]
    )
    load_s = time.perf_counter() - t0
    feed = _inputs()
    times = []
    for i in range(reps + 1):
        t0 = time.perf_counter()
        session.run(None, feed)
        if i:
            times.append(time.perf_counter() - t0)
    return {"ms_per_step": 1000 * float(np.median(times)), "load_s": load_s, "peak_rss_mb": _peak_rss_mb()}


def phase_torch_cuda(reps: int) -> dict[str, float]:
    import torch

    unet = _build_unet().to("cuda", torch.float16)
    feed = {k: torch.from_numpy(v).to("cuda", torch.float16) for k, v in _inputs().items()}
    torch.cuda.reset_peak_memory_stats()
    times = []
    with torch.inference_mode():
        for i in range(reps + 3):  # cuDNN picks its kernels during the first calls
            torch.cuda.synchronize()
            t0 = time.perf_counter()
            unet(feed["sample"], feed["timestep"], feed["encoder_hidden_states"])
            torch.cuda.synchronize()
            if i >= 3:
                times.append(time.perf_counter() - t0)
    return {"ms_per_step": 1000 * float(np.median(times)), "peak_gpu_mb": torch.cuda.max_memory_allocated() / 1e6}


def _gpu_used_mb() -> float:
    out = subprocess.run(
        ["nvidia-smi", "--query-gpu=memory.used", "--format=csv,noheader,nounits"], capture_output=True, text=True
    )
    return float(out.stdout.split()[0]) if out.returncode == 0 else float("nan")


def phase_ort_cuda(model: Path, reps: int) -> dict[str, float]:
    import onnxruntime as ort

    from photogen.generate.runtime import session_options

    if "CUDAExecutionProvider" not in ort.get_available_providers():
        raise SystemExit(
            "onnxruntime has no CUDAExecutionProvider: install onnxruntime-gpu in place of onnxruntime (`make run GPU=1`)"
        )
    before = _gpu_used_mb()
    session = ort.InferenceSession(
        str(model), sess_options=session_options(0), providers=["CUDAExecutionProvider", "CPUExecutionProvider"]
    )
    # inputs and outputs bound on the GPU, as a denoising loop that keeps latents there would
    binding = session.io_binding()
    for name, value in _inputs().items():
        binding.bind_ortvalue_input(name, ort.OrtValue.ortvalue_from_numpy(value, "cuda", 0))
    binding.bind_output(session.get_outputs()[0].name, "cuda")
    times = []
    for i in range(reps + 3):
        t0 = time.perf_counter()
        session.run_with_iobinding(binding)
        binding.synchronize_outputs()
        if i >= 3:
            times.append(time.perf_counter() - t0)
    return {"ms_per_step": 1000 * float(np.median(times)), "peak_gpu_mb": _gpu_used_mb() - before}


def _dir_mb(path: Path) -> float:
    return sum(p.stat().st_size for p in path.iterdir() if p.is_file()) / 1e6


def _run_phase(args: list[str]) -> dict[str, float]:
    # stderr passes through so a failing phase shows its traceback
    out = subprocess.run([sys.executable, __file__, *args], check=True, stdout=subprocess.PIPE, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--reps", type=int, default=None, help="timed steps per runtime, median reported (default 3 on CPU, 20 on GPU)"
    )
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--work", type=Path, default=None, help="where the exports go (default: a temp dir)")
    parser.add_argument("--keep", action="store_true", help="keep the exported models")
    parser.add_argument(
        "--gpu", action="store_true", help="CUDA: torch fp16 vs ORT fp16 (bench/gpu_bench.sh runs this)"
    )
    parser.add_argument(
        "--identity",
        action="store_true",
        help="the identity adapter's per-step cost (none vs 1 vs 2 people, torch vs ORT); see bench/identity_bench.py",
    )
    parser.add_argument("--phase", choices=["torch", "export", "ort", "torch-cuda", "ort-cuda"], help=argparse.SUPPRESS)
    parser.add_argument("--model", type=Path, help=argparse.SUPPRESS)
    args, rest = parser.parse_known_args()
    if args.identity:
        import sys

        sys.path.insert(0, str(Path(__file__).resolve().parent))
        import identity_bench

        sys.argv = [sys.argv[0], *rest, "--threads", str(args.threads), "--reps", str(args.reps or 3)]
        identity_bench.main()
        return
    if rest:
        parser.error(f"unrecognized arguments: {' '.join(rest)}")

    args.reps = args.reps or (20 if args.gpu or args.phase in ("torch-cuda", "ort-cuda") else 3)
    if args.phase == "torch-cuda":
        print(json.dumps(phase_torch_cuda(args.reps)))
        return
    if args.phase == "ort-cuda":
        print(json.dumps(phase_ort_cuda(args.model, args.reps)))
        return
    if args.phase == "torch":
        print(json.dumps(phase_torch(args.reps, args.threads)))
        return
    if args.phase == "export":
        print(json.dumps(phase_export(args.work)))
        return
    if args.phase == "ort":
        print(json.dumps(phase_ort(args.model, args.reps, args.threads)))
        return

    work = args.work or Path(tempfile.mkdtemp(prefix="unet-bench-"))
    common = ["--reps", str(args.reps), "--threads", str(args.threads)]
    try:
        if args.gpu:
            gpu_main(work, args.reps)
            return
        print(
            f"SD 1.5 UNet (random weights), one step at 512x512, batch 1, {args.threads} threads, median of {args.reps}"
        )
        exp = _run_phase(["--phase", "export", "--work", str(work)])
        print(
            f"export {exp['export_s']:.0f} s, int8 quantization {exp['quantize_s']:.0f} s, peak {exp['peak_rss_mb']:.0f} MB"
        )
        rows = {
            "torch eager fp32": _run_phase(["--phase", "torch", *common]),
            "ORT fp32": _run_phase(["--phase", "ort", "--model", str(work / "fp32" / "model.onnx"), *common]),
            "ORT int8": _run_phase(["--phase", "ort", "--model", str(work / "int8" / "model.onnx"), *common]),
        }
        sizes = {"torch eager fp32": 0.0, "ORT fp32": _dir_mb(work / "fp32"), "ORT int8": _dir_mb(work / "int8")}
        torch_ms = rows["torch eager fp32"]["ms_per_step"]
        print(f"{'runtime':<18}{'ms/step':>10}{'vs torch':>10}{'model MB':>10}{'peak RSS MB':>13}")
        for name, row in rows.items():
            size = f"{sizes[name]:.0f}" if sizes[name] else "-"
            print(
                f"{name:<18}{row['ms_per_step']:>10.0f}{torch_ms / row['ms_per_step']:>9.2f}x{size:>10}{row['peak_rss_mb']:>13.0f}"
            )
        print(f"int8 / fp32 size: {sizes['ORT int8'] / sizes['ORT fp32']:.1%}; "
              f"int8 vs ORT fp32 speed: {rows['ORT fp32']['ms_per_step'] / rows['ORT int8']['ms_per_step']:.2f}x")  # fmt: skip
    finally:
        if not args.keep and args.work is None:
            shutil.rmtree(work, ignore_errors=True)


def gpu_main(work: Path, reps: int) -> None:
    print(f"SD 1.5 UNet (random weights), one step at 512x512, batch 1, CUDA, median of {reps}")
    exp = _run_phase(["--phase", "export", "--work", str(work)])
    print(f"export {exp['export_s']:.0f} s (CPU)")
    from photogen.generate.export import convert_to_fp16

    fp16 = work / "fp16" / "model.onnx"
    fp16.parent.mkdir(parents=True, exist_ok=True)
    for f in (work / "fp32").iterdir():
        shutil.copy(f, fp16.parent / f.name)
    convert_to_fp16(fp16)
    rows = {
        "torch fp16": _run_phase(["--phase", "torch-cuda", "--reps", str(reps)]),
        "ORT fp16 (CUDA)": _run_phase(["--phase", "ort-cuda", "--model", str(fp16), "--reps", str(reps)]),
    }
    torch_ms = rows["torch fp16"]["ms_per_step"]
    print(f"{'runtime':<18}{'ms/step':>10}{'vs torch':>10}{'peak GPU MB':>13}")
    for name, row in rows.items():
        print(f"{name:<18}{row['ms_per_step']:>10.1f}{torch_ms / row['ms_per_step']:>9.2f}x{row['peak_gpu_mb']:>13.0f}")
    print(f"ORT fp16 model: {_dir_mb(fp16.parent):.0f} MB")


if __name__ == "__main__":
    main()
