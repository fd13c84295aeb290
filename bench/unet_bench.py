"""Full-size SD 1.5 on CPU: photogen's export (time, peak memory and disk per phase) and one UNet step on
each runtime and precision, in one run, with each output's drift from torch fp32.

Weights are random (speed does not depend on their values) in SD 1.5's published architecture
(photogen/generate/sd15_config.py). The export is photogen's own code path (`export_graphs`: text
encoder and VAE through optimum, then the UNet alone; conversions from the saved files), so the
memory figures are what `photogen models export` peaks at. Each phase runs in its own process, so its
peak RSS (max resident memory) is its own.

    python bench/unet_bench.py [--size 512] [--reps 3] [--threads N] [--work DIR] [--keep]
        [--skip-export] [--rows torch,ort,ort-static,ort-opt,ov,ort-int8,ov-int8,ort-int8w,ort-fp16,...]
        [--ort-openvino-python /tmp/ovenv/bin/python] [--openvino-python PYTHON]

Rows, all on the same exported ONNX UNet (the optimized row is an offline rewrite of that graph),
the same inputs (batch 1, as few-step LCM models run), the same thread count, median of --reps:
  torch            diffusers UNet, eager fp32 (the reference for drift)
  ort              photogen's default: ONNX Runtime, runtime.session_options, dynamic shapes
  ort-static       the same with every free dimension pinned (static shapes, as FastSD CPU compiles)
  ort-opt          onnxruntime.transformers.optimizer (model_type "unet", CPU fusions) + static shapes;
                   opt-in (needs ~17 GB to optimize the full-size UNet)
  ov               OpenVINO (the engine FastSD CPU runs), the fp32 graph reshaped static, f32 precision
  ort-int8/ov-int8 the "int8 dynamic" graph on each engine
  ort-int8w        the "int8 weight-only" graph (int8 on disk, folded to fp32 at load)
  ort-fp16         the fp16 graph on the CPU (for its size and drift; fp16 is the GPU precision)
  ort-int8mm/ov-int8mm  dynamic int8 on the MatMuls only (attention and feed-forward projections),
                   convolutions left fp32 (ConvInteger is the slow part of "int8 dynamic" on ORT)
  ort-int8mm-ort   the same graph made by ORT's quantize_dynamic (op type MatMul), for its memory
  ort-int8mmw      dynamic int8 on the MatMuls, the other weights int8 weight-only (folded to fp32 at load)
  ort-nbits8       MatMulNBits 8-bit (block 32, accuracy_level 4: int8 compute), the other weights int8
                   weight-only
  ortov/ortov-int8/ortov-int8mm  onnxruntime-openvino (OpenVINO execution provider, device CPU) on the
                   fp32 / int8 dynamic / int8mm graph, run in the interpreter given by --ort-openvino-python (that package
                   replaces onnxruntime's module, so it lives in its own virtualenv)
Drift: max and mean |output - torch fp32|, relative to torch's output (validation.py's measure).

GPU: `--gpu` (bench/gpu_bench.sh) compares torch fp16 and ORT fp16 with I/O binding on CUDA.
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

TEXT_SHAPE = (1, 77, 768)
ALL_ROWS = ("torch", "ort", "ort-static", "ort-opt", "ov", "ort-int8", "ov-int8", "ort-int8w", "ort-fp16",
            "ort-int8mm", "ov-int8mm", "ort-int8mm-ort", "ort-int8mmw", "ort-nbits8", "ortov", "ortov-int8", "ortov-int8mm")  # fmt: skip
# ort-opt is opt-in: ORT 1.32's offline optimizer was OOM-killed at 16.9 GB RSS on the full-size UNet here
# (24 GB machine), and its UNet attention fusion raises on this export (fusion_attention_unet.get_num_heads);
# the ortov rows need --ort-openvino-python
DEFAULT_ROWS = tuple(r for r in ALL_ROWS if r != "ort-opt" and r != "ort-int8mm-ort" and not r.startswith("ortov"))


def _inputs(size: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    return {
        "sample": rng.standard_normal((1, 4, size // 8, size // 8)).astype(np.float32),
        "timestep": np.array(499.0, dtype=np.float32),
        "encoder_hidden_states": rng.standard_normal(TEXT_SHAPE).astype(np.float32),
    }


def _peak_rss_mb() -> float:
    """The phase's peak: its own, or that of the biggest child it ran (a conversion with external data)."""
    usage = (resource.getrusage(who).ru_maxrss for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN))
    return max(usage) / 1024  # Linux reports KiB


def _tree_mb(path: Path) -> float:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 1e6


def _timed(call, reps: int, warmup: int = 1) -> float:  # noqa: ANN001
    times = []
    for i in range(reps + warmup):
        t0 = time.perf_counter()
        call()
        if i >= warmup:
            times.append(time.perf_counter() - t0)
    return 1000 * float(np.median(times))


# ------------------------------------------------------------------------------------- phases


def phase_build(work: Path) -> dict[str, float]:
    """A diffusers folder with SD 1.5's architecture and random weights (what a user's checkpoint would be)."""
    import torch
    from diffusers import AutoencoderKL, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel

    from photogen.generate.sd15_config import (
        SD15_TEXT_ENCODER_CONFIG,
        SD15_UNET_CONFIG,
        SD15_VAE_CONFIG,
        write_sd15_config_dir,
    )

    source = work / "source"
    write_sd15_config_dir(source)
    torch.manual_seed(0)
    unet = UNet2DConditionModel(**SD15_UNET_CONFIG).eval()
    unet.save_pretrained(source / "unet")
    del unet
    vae_config = {k: v for k, v in SD15_VAE_CONFIG.items() if not k.startswith("_")}
    AutoencoderKL(**vae_config).save_pretrained(source / "vae")
    text_config = {k: v for k, v in SD15_TEXT_ENCODER_CONFIG.items() if not k.startswith("_") and k != "architectures"}
    CLIPTextModel(CLIPTextConfig(**text_config)).save_pretrained(source / "text_encoder")
    return {"source_mb": _tree_mb(source), "peak_rss_mb": _peak_rss_mb()}


def phase_export(work: Path) -> dict[str, float]:
    """photogen's export of every graph, one at a time (export.export_graphs), fp32."""
    from photogen.generate.export import DEFAULT_OPSET, ExportHooks, export_graphs

    out = work / "fp32"
    shutil.rmtree(out, ignore_errors=True)
    t0 = time.perf_counter()
    export_graphs(work / "source", out, ExportHooks(), DEFAULT_OPSET, "sd15-random")
    return {"s": time.perf_counter() - t0, "disk_mb": _tree_mb(out), "peak_rss_mb": _peak_rss_mb()}


def _candidate(name: str):  # noqa: ANN202
    """Quantizations measured here before (or instead of) becoming a photogen precision: (path, external_over)."""
    from photogen.generate import quantize as q

    def int8mmw(path: Path, over: int) -> None:
        q.quantize_weights_only_int8(path, over, op_types=("Conv", "Gemm", "Gather"))
        q.quantize_weights_int8(path, over, op_types=("MatMul",))

    def nbits8(path: Path, over: int) -> None:
        q.quantize_weights_only_int8(path, over, op_types=("Conv", "Gemm", "Gather"))
        q.matmul_nbits_int8(path, over)

    candidates = {"int8mm-ort": lambda path, over: q.quantize_weights_int8(path, over, op_types=("MatMul",)),
                  "int8mmw": int8mmw, "nbits8": nbits8}  # fmt: skip
    return candidates.get(name)


def phase_convert(work: Path, precision: str) -> dict[str, float]:
    """One precision made from the saved fp32 files, as export_model does (UNet and text encoder); a graph
    with external data is converted in a child process, whose peak counts as the phase's."""
    from photogen.generate.quantize import EXTERNAL_DATA_BYTES, convert_precision

    out = work / precision
    shutil.rmtree(out, ignore_errors=True)
    shutil.copytree(work / "fp32", out)
    t0 = time.perf_counter()
    candidate = _candidate(precision)
    for component in ("unet", "text_encoder"):
        if candidate is None:
            convert_precision(out / component / "model.onnx", precision)
        else:
            candidate(out / component / "model.onnx", EXTERNAL_DATA_BYTES)
    return {"s": time.perf_counter() - t0, "disk_mb": _tree_mb(out), "unet_mb": _tree_mb(out / "unet"),
            "peak_rss_mb": _peak_rss_mb()}  # fmt: skip


def phase_validate(work: Path, precision: str) -> dict[str, float]:
    """photogen's self-check of one export: every graph against its torch original (validation.py)."""
    from photogen.generate.validation import standard_checks, validate_graphs

    root = work / precision
    t0 = time.perf_counter()
    checks = standard_checks(work / "source", {"text_encoder", "unet", "vae_encoder", "vae_decoder"})
    drift = validate_graphs(root, list(checks.values()), precision, "sd15-random")
    out: dict[str, float] = {"s": time.perf_counter() - t0, "peak_rss_mb": _peak_rss_mb()}
    for component, d in drift.items():
        out[f"{component}_max_rel"] = d.max_rel
        out[f"{component}_mean_rel"] = d.mean_rel
    return out


def phase_optimize(work: Path) -> dict[str, float]:
    """ORT's offline transformer optimizer on the fp32 UNet (CPU fusions: attention, GELU, LayerNorm)."""
    from onnxruntime.transformers.fusion_options import FusionOptions
    from onnxruntime.transformers.optimizer import optimize_model

    out = work / "ort-opt" / "model.onnx"
    out.parent.mkdir(parents=True, exist_ok=True)
    options = FusionOptions("unet")
    # GroupNorm, SkipGroupNorm, BiasSplitGelu, BiasAdd and NhwcConv are CUDA-only contrib ops
    options.enable_group_norm = False
    options.enable_skip_group_norm = False
    options.enable_bias_splitgelu = False
    options.enable_bias_add = False
    options.enable_nhwc_conv = False
    options.enable_packed_qkv = False
    options.enable_packed_kv = False
    t0 = time.perf_counter()
    source = str(work / "fp32" / "unet" / "model.onnx")
    note = ""
    try:
        model = optimize_model(source, model_type="unet", optimization_options=options, opt_level=0, use_gpu=False)
    except (TypeError, ValueError) as e:
        # ORT 1.32's UNet attention fusion fails on this export's reshapes (get_num_heads gets an array)
        note = f"attention fusion failed ({type(e).__name__}: {str(e)[:60]}); without it: "
        options.enable_attention = False
        model = optimize_model(source, model_type="unet", optimization_options=options, opt_level=0, use_gpu=False)
    fused = note + str({k: int(v) for k, v in model.get_fused_operator_statistics().items() if v})
    model.save_model_to_file(str(out), use_external_data_format=True, all_tensors_to_one_file=True)
    return {"s": time.perf_counter() - t0, "fused": fused, "peak_rss_mb": _peak_rss_mb()}  # type: ignore[dict-item]


def phase_torch(work: Path, size: int, reps: int, threads: int) -> dict[str, float]:
    import torch
    from diffusers import UNet2DConditionModel

    torch.set_num_threads(threads)
    unet = UNet2DConditionModel.from_pretrained(work / "source" / "unet").eval()
    feed = {k: torch.from_numpy(v) for k, v in _inputs(size).items()}
    with torch.inference_mode():
        out = unet(feed["sample"], feed["timestep"], feed["encoder_hidden_states"]).sample.numpy()
        ms = _timed(lambda: unet(feed["sample"], feed["timestep"], feed["encoder_hidden_states"]), reps, warmup=0)
    np.save(work / "out-torch.npy", out)
    return {"ms_per_step": ms, "peak_rss_mb": _peak_rss_mb()}


def _static_overrides(session_inputs: list, feed: dict[str, np.ndarray]) -> dict[str, int]:
    dims: dict[str, int] = {}
    for spec in session_inputs:
        for axis, dim in enumerate(spec.shape):
            if isinstance(dim, str):
                dims[dim] = int(feed[spec.name].shape[axis])
    return dims


def phase_ort(work: Path, row: str, model: Path, size: int, reps: int, threads: int, static: bool) -> dict[str, float]:
    import onnxruntime as ort

    from photogen.generate.runtime import session_options

    feed = _inputs(size)
    opts = session_options(threads)
    if static:
        probe = ort.InferenceSession(str(model), providers=["CPUExecutionProvider"],
                                     sess_options=_no_opt_options())  # fmt: skip
        for name, value in _static_overrides(probe.get_inputs(), feed).items():
            opts.add_free_dimension_override_by_name(name, value)
        del probe
    t0 = time.perf_counter()
    session = ort.InferenceSession(str(model), sess_options=opts, providers=["CPUExecutionProvider"])
    load_s = time.perf_counter() - t0
    names = {i.name for i in session.get_inputs()}
    feed = {k: v for k, v in feed.items() if k in names}
    np.save(work / f"out-{row}.npy", session.run(None, feed)[0].astype(np.float32))
    ms = _timed(lambda: session.run(None, feed), reps, warmup=0)
    return {"ms_per_step": ms, "load_s": load_s, "peak_rss_mb": _peak_rss_mb()}


def _no_opt_options():  # noqa: ANN202
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    return opts


def phase_ort_openvino(work: Path, row: str, model: Path, size: int, reps: int, threads: int) -> dict[str, float]:
    """onnxruntime-openvino (its own interpreter: no photogen import here), OpenVINO EP on the CPU."""
    import onnxruntime as ort

    if "OpenVINOExecutionProvider" not in ort.get_available_providers():
        raise SystemExit(f"{sys.executable} has no onnxruntime-openvino")
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    feed = _inputs(size)
    t0 = time.perf_counter()
    session = ort.InferenceSession(str(model), sess_options=opts, providers=[
        ("OpenVINOExecutionProvider", {"device_type": "CPU", "num_of_threads": str(threads)}), "CPUExecutionProvider"])  # fmt: skip
    load_s = time.perf_counter() - t0
    names = {i.name for i in session.get_inputs()}
    feed = {k: v for k, v in feed.items() if k in names}
    np.save(work / f"out-{row}.npy", session.run(None, feed)[0].astype(np.float32))
    ms = _timed(lambda: session.run(None, feed), reps, warmup=0)
    return {"ms_per_step": ms, "load_s": load_s, "peak_rss_mb": _peak_rss_mb(), "provider": session.get_providers()[0]}  # type: ignore[dict-item]


def phase_openvino(work: Path, row: str, model: Path, size: int, reps: int, threads: int) -> dict[str, float]:
    import openvino as ov

    feed = _inputs(size)
    core = ov.Core()
    t0 = time.perf_counter()
    graph = core.read_model(str(model))
    names = {p.get_any_name() for p in graph.inputs}
    feed = {k: v for k, v in feed.items() if k in names}
    graph.reshape({k: ov.PartialShape(list(v.shape)) for k, v in feed.items()})  # static, as FastSD CPU compiles
    compiled = core.compile_model(graph, "CPU", {"INFERENCE_NUM_THREADS": threads, "INFERENCE_PRECISION_HINT": "f32",
                                                 "PERFORMANCE_HINT": "LATENCY"})  # fmt: skip
    load_s = time.perf_counter() - t0
    request = compiled.create_infer_request()
    out = request.infer(feed)
    np.save(work / f"out-{row}.npy", np.asarray(next(iter(out.values())), dtype=np.float32))
    ms = _timed(lambda: request.infer(feed), reps, warmup=0)
    return {"ms_per_step": ms, "load_s": load_s, "peak_rss_mb": _peak_rss_mb()}


# ------------------------------------------------------------------------------------- driver


def _run_phase(args: list[str], python: str = sys.executable) -> dict[str, float]:
    # stderr passes through so a failing phase shows its traceback
    out = subprocess.run([python, __file__, *args], check=True, stdout=subprocess.PIPE, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def _drift(work: Path, row: str) -> tuple[float, float]:
    """Against torch fp32; without a torch row in this run, against ORT fp32 (the ort row)."""
    from photogen.generate.validation import DRIFT_BOUNDS, measure

    torch_out = work / "out-torch.npy"
    ref = np.load(torch_out if torch_out.exists() else work / "out-ort.npy")
    d = measure(ref, np.load(work / f"out-{row}.npy"), DRIFT_BOUNDS["fp32"])
    return d.max_rel, d.mean_rel


_ROW_MODEL = {"ort": "fp32", "ort-static": "fp32", "ov": "fp32", "ort-int8": "int8", "ov-int8": "int8",
              "ort-int8w": "int8w", "ort-fp16": "fp16", "ort-int8mm": "int8mm", "ov-int8mm": "int8mm", "ort-int8mm-ort": "int8mm-ort",
              "ort-int8mmw": "int8mmw", "ort-nbits8": "nbits8", "ortov": "fp32", "ortov-int8": "int8", "ortov-int8mm": "int8mm"}  # fmt: skip


def _run_row(work: Path, row: str, args: argparse.Namespace, common: list[str]) -> dict[str, float]:
    if row == "torch":
        return _run_phase(["--phase", "torch", *common])
    if row == "ort-opt":
        return _run_phase(["--phase", "ort", "--row", row, "--static", "--model",
                           str(work / "ort-opt" / "model.onnx"), *common])  # fmt: skip
    model = work / _ROW_MODEL[row] / "unet" / "model.onnx"
    if row.startswith("ortov"):
        if not args.ort_openvino_python:
            raise SystemExit(f"row {row} needs --ort-openvino-python")
        return _run_phase(["--phase", "ort-openvino", "--row", row, "--model", str(model), *common],
                          python=args.ort_openvino_python)  # fmt: skip
    if row.startswith("ov"):
        return _run_phase(["--phase", "openvino", "--row", row, "--model", str(model), *common],
                          python=args.openvino_python)  # fmt: skip
    static = ["--static"] if row == "ort-static" else []
    return _run_phase(["--phase", "ort", "--row", row, "--model", str(model), *static, *common])


def cpu_main(work: Path, args: argparse.Namespace) -> None:
    rows_wanted = [r for r in args.rows.split(",") if r]
    common = ["--work", str(work), "--size", str(args.size), "--reps", str(args.reps), "--threads", str(args.threads)]
    print(f"SD 1.5 architecture (random weights), {args.threads} threads, one UNet step at {args.size}x{args.size}, "
          f"batch 1, median of {args.reps}")  # fmt: skip
    if not args.skip_export:
        print("\nexport phases (each its own process; peak RSS = max resident memory of that phase)")
        print(f"{'phase':<34}{'s':>8}{'disk MB':>10}{'peak RSS MB':>13}")
        build = _run_phase(["--phase", "build", *common])
        print(f"{'build random-weight source':<34}{'':>8}{build['source_mb']:>10.0f}{build['peak_rss_mb']:>13.0f}")
        exp = _run_phase(["--phase", "export", *common])
        print(f"{'export fp32 (all graphs)':<34}{exp['s']:>8.0f}{exp['disk_mb']:>10.0f}{exp['peak_rss_mb']:>13.0f}")
        needed = {_ROW_MODEL[r] for r in rows_wanted if r in _ROW_MODEL} - {"fp32"}
        for precision in ("int8", "int8w", "fp16", "int8mm", "int8mm-ort", "int8mmw", "nbits8"):
            if precision in needed:
                c = _run_phase(["--phase", "convert", "--precision", precision, *common])
                print(f"{'convert ' + precision + ' (UNet + text encoder)':<34}{c['s']:>8.0f}{c['disk_mb']:>10.0f}"
                      f"{c['peak_rss_mb']:>13.0f}")  # fmt: skip
        if args.validate:
            for precision in ("fp32", *sorted(needed)):
                v = _run_phase(["--phase", "validate", "--precision", precision, *common])
                print(f"{'validate ' + precision + ' (4 graphs vs torch)':<34}{v['s']:>8.0f}{'':>10}{v['peak_rss_mb']:>13.0f}"
                      f"   unet mean {v['unet_mean_rel']:.2%}, text encoder mean {v['text_encoder_mean_rel']:.2%}")  # fmt: skip
        if "ort-opt" in rows_wanted:
            o = _run_phase(["--phase", "optimize", *common])
            print(f"{'ORT transformers optimizer (unet)':<34}{o['s']:>8.0f}{_tree_mb(work / 'ort-opt'):>10.0f}"
                  f"{o['peak_rss_mb']:>13.0f}   fused: {o['fused']}")  # fmt: skip

    results: dict[str, dict[str, float]] = {}
    failed: dict[str, str] = {}
    for row in rows_wanted:
        try:
            results[row] = _run_row(work, row, args, common)
        except subprocess.CalledProcessError as e:  # one engine refusing a graph is a finding, not the end of the run
            failed[row] = f"exit {e.returncode} (its traceback is above)"
            continue
        print(f"  {row}: {results[row]}", file=sys.stderr, flush=True)  # as it comes, in case a later row fails

    for row, why in failed.items():
        print(f"{row}: failed, {why}")
    print(f"\n{'row':<12}{'ms/step':>10}{'vs torch':>10}{'vs ORT':>9}{'vs OV':>8}{'UNet MB':>9}{'peak RSS MB':>13}"
          f"{'drift max':>11}{'drift mean':>12}")  # fmt: skip
    torch_ms = results.get("torch", {}).get("ms_per_step")
    ort_ms = results.get("ort", {}).get("ms_per_step")
    ov_ms = results.get("ov", {}).get("ms_per_step")
    for row, r in results.items():
        ms = r["ms_per_step"]
        model_dir = work / ("ort-opt" if row == "ort-opt" else f"{_ROW_MODEL.get(row, 'source')}/unet")
        ratios = [f"{base / ms:.2f}x" if base else "-" for base in (torch_ms, ort_ms, ov_ms)]
        drift = ("-", "-") if row == "torch" else tuple(f"{x:.2e}" for x in _drift(work, row))
        print(f"{row:<12}{ms:>10.0f}{ratios[0]:>10}{ratios[1]:>9}{ratios[2]:>8}{_tree_mb(model_dir):>9.0f}"
              f"{r['peak_rss_mb']:>13.0f}{drift[0]:>11}{drift[1]:>12}")  # fmt: skip
    if ort_ms and ov_ms:
        best = min((r for r in results if r.startswith("ort") and _ROW_MODEL.get(r, "fp32") == "fp32"),
                   key=lambda r: results[r]["ms_per_step"])  # fmt: skip
        print(f"\nfp32: ORT default / OpenVINO time = {ort_ms / ov_ms:.2f} (below 1: ORT faster); "
              f"best ORT fp32 row {best}: {results[best]['ms_per_step'] / ov_ms:.2f}")  # fmt: skip
    for q in ("ort-int8", "ort-int8w", "ort-int8mm", "ort-int8mmw", "ort-nbits8", "ortov", "ortov-int8", "ortov-int8mm"):
        if q in results and ort_ms:
            print(f"{q} / ORT fp32 time = {results[q]['ms_per_step'] / ort_ms:.2f} (below 1: the quantized graph is faster)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reps", type=int, default=None, help="timed steps per row, median (default 3; 20 on GPU)")
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--size", type=int, default=512, help="image side in pixels (latent = size / 8)")
    parser.add_argument("--work", type=Path, default=None, help="where the source and exports go (default: temp)")
    parser.add_argument("--keep", action="store_true", help="keep the work folder (bench/generate_bench.py reuses it)")
    parser.add_argument("--skip-export", action="store_true", help="reuse the exports in --work")
    parser.add_argument("--validate", action="store_true", help="also time photogen's self-check per precision")
    parser.add_argument("--ort-openvino-python", help="an interpreter with onnxruntime-openvino, for the ortov rows")
    parser.add_argument("--openvino-python", default=sys.executable,
                        help="the interpreter for the ov rows (one with `openvino`; default: this one)")  # fmt: skip
    parser.add_argument("--rows", default=",".join(DEFAULT_ROWS), help=f"comma-separated, from {','.join(ALL_ROWS)}")
    parser.add_argument("--gpu", action="store_true", help="CUDA: torch fp16 vs ORT fp16 (bench/gpu_bench.sh runs this)")
    parser.add_argument("--identity", action="store_true",
                        help="the identity adapter's per-step cost (none vs 1 vs 2 people); see bench/identity_bench.py")  # fmt: skip
    parser.add_argument("--phase", help=argparse.SUPPRESS)
    parser.add_argument("--precision", help=argparse.SUPPRESS)
    parser.add_argument("--row", help=argparse.SUPPRESS)
    parser.add_argument("--model", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--static", action="store_true", help=argparse.SUPPRESS)
    args, rest = parser.parse_known_args()
    if args.identity:
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        import identity_bench

        sys.argv = [sys.argv[0], *rest, "--threads", str(args.threads), "--reps", str(args.reps or 3)]
        identity_bench.main()
        return
    if rest:
        parser.error(f"unrecognized arguments: {' '.join(rest)}")
    args.reps = args.reps or (20 if args.gpu or args.phase in ("torch-cuda", "ort-cuda") else 3)

    phases = {
        "build": lambda: phase_build(args.work),
        "export": lambda: phase_export(args.work),
        "convert": lambda: phase_convert(args.work, args.precision),
        "validate": lambda: phase_validate(args.work, args.precision),
        "optimize": lambda: phase_optimize(args.work),
        "torch": lambda: phase_torch(args.work, args.size, args.reps, args.threads),
        "ort": lambda: phase_ort(args.work, args.row, args.model, args.size, args.reps, args.threads, args.static),
        "openvino": lambda: phase_openvino(args.work, args.row, args.model, args.size, args.reps, args.threads),
        "ort-openvino": lambda: phase_ort_openvino(args.work, args.row, args.model, args.size, args.reps, args.threads),
        "torch-cuda": lambda: phase_torch_cuda(args.work, args.reps),
        "ort-cuda": lambda: phase_ort_cuda(args.model, args.reps),
    }
    if args.phase:
        print(json.dumps(phases[args.phase]()))
        return

    work = args.work or Path(tempfile.mkdtemp(prefix="unet-bench-"))
    try:
        if args.gpu:
            gpu_main(work, args.reps)
        else:
            cpu_main(work, args)
    finally:
        if not args.keep and args.work is None:
            shutil.rmtree(work, ignore_errors=True)


# ------------------------------------------------------------------------------------- GPU


def phase_torch_cuda(work: Path, reps: int) -> dict[str, float]:
    import torch
    from diffusers import UNet2DConditionModel

    unet = UNet2DConditionModel.from_pretrained(work / "source" / "unet").to("cuda", torch.float16).eval()
    feed = {k: torch.from_numpy(v).to("cuda", torch.float16) for k, v in _inputs(512).items()}
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
    # inputs and outputs bound on the GPU, as the pipelines' denoising loop binds them (runtime.BoundRunner)
    binding = session.io_binding()
    for name, value in _inputs(512).items():
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


def gpu_main(work: Path, reps: int) -> None:
    print(f"SD 1.5 UNet (random weights), one step at 512x512, batch 1, CUDA, median of {reps}")
    common = ["--work", str(work)]
    _run_phase(["--phase", "build", *common])
    exp = _run_phase(["--phase", "export", *common])
    print(f"export {exp['s']:.0f} s (CPU)")
    _run_phase(["--phase", "convert", "--precision", "fp16", *common])
    fp16 = work / "fp16" / "unet" / "model.onnx"
    rows = {
        "torch fp16": _run_phase(["--phase", "torch-cuda", "--reps", str(reps), *common]),
        "ORT fp16 (CUDA)": _run_phase(["--phase", "ort-cuda", "--model", str(fp16), "--reps", str(reps)]),
    }
    torch_ms = rows["torch fp16"]["ms_per_step"]
    print(f"{'runtime':<18}{'ms/step':>10}{'vs torch':>10}{'peak GPU MB':>13}")
    for name, row in rows.items():
        print(f"{name:<18}{row['ms_per_step']:>10.1f}{torch_ms / row['ms_per_step']:>9.2f}x{row['peak_gpu_mb']:>13.0f}")
    print(f"ORT fp16 UNet: {_tree_mb(fp16.parent):.0f} MB")


if __name__ == "__main__":
    main()
