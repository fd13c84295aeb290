"""End to end on CPU: text encoder + 4 UNet steps + VAE decode at 512x512, full-size SD 1.5 architecture
(random weights), per stage and total: photogen's ORT pipeline vs OpenVINO vs torch (diffusers), one run.

    python bench/unet_bench.py --work /tmp/sd15 --keep --rows torch     # builds the source and fp32 export once
    python bench/generate_bench.py --work /tmp/sd15 [--steps 4] [--size 512] [--reps 3] [--threads N]
        [--engines photogen-ort,photogen-int8mm,photogen-ortov,openvino,torch]
        [--ort-openvino-python /tmp/ovenv/bin/python] [--openvino-python PYTHON]

Each engine runs in its own process (its peak RSS is its own), batch 1 without classifier-free guidance
(as the few-step LCM family runs), the same LCM scheduler, prompt, seed, threads and static shapes:
  photogen-ort  photogen's own TextToImagePipeline on the fp32 export (runtime.session_options)
  photogen-int8mm  the same on the int8mm export (int8 dynamic MatMuls; text encoder and UNet)
  photogen-ortov   the same pipeline and fp32 export with the providers photogen chooses itself, in an
                interpreter with onnxruntime-openvino (--ort-openvino-python): OpenVINO's execution provider
  openvino      the same three ONNX graphs compiled by OpenVINO (f32), the same scheduler loop
  torch         diffusers' StableDiffusionPipeline on the source folder (eager fp32)
Median of --reps after one warm-up generation. Ratios are printed against photogen-ort.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

PROMPT = "a watercolor of two friends on a beach at sunset"
ENGINES = ("photogen-ort", "openvino", "torch")
# engine -> the export it runs
_EXPORT = {"photogen-ort": "fp32", "photogen-int8mm": "int8mm", "photogen-ortov": "fp32"}


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _median_stages(run, reps: int) -> dict[str, float]:  # noqa: ANN001
    run()  # warm-up: allocators, kernels, OpenVINO's first-inference work
    samples = [run() for _ in range(reps)]
    return {k: float(np.median([s[k] for s in samples])) for k in samples[0]}


def engine_photogen(work: Path, size: int, steps: int, reps: int, threads: int, engine_name: str = "photogen-ort"
                    ) -> dict[str, float]:  # fmt: skip
    from photogen.generate.catalog import get_model_spec
    from photogen.generate.manifest import ExportManifest, SourceInfo
    from photogen.generate.pipelines import TextToImagePipeline
    from photogen.generate.runtime import SessionCache
    from photogen.generate.stable_diffusion import OnnxStableDiffusion

    precision = _EXPORT[engine_name]
    manifest = ExportManifest(model_id="sd15-random", precision=precision, opset=17, source=SourceInfo(kind="folder"),
                              files={}, versions={})  # fmt: skip
    spec = get_model_spec("lcm-dreamshaper-v7")
    # photogen-ortov: what photogen chooses itself (OpenVINO's provider first where onnxruntime-openvino is installed)
    providers = None if engine_name == "photogen-ortov" else ["CPUExecutionProvider"]
    cache = SessionCache(providers, threads=threads)
    engine = OnnxStableDiffusion(work / precision, manifest, spec, cache)
    pipe = TextToImagePipeline(engine)
    t0 = time.perf_counter()
    for component in ("text_encoder", "unet", "vae_decoder"):
        engine.session(component)
    load_s = time.perf_counter() - t0

    def run() -> dict[str, float]:
        t = pipe(PROMPT, steps=steps, guidance_scale=1.0, width=size, height=size, seed=0)[0].timings
        return {"text_s": t["encode_prompt_s"], "unet_s": t["denoise_s"], "vae_s": t["decode_s"], "total_s": t["total_s"]}

    return {**_median_stages(run, reps), "load_s": load_s, "peak_rss_mb": _peak_rss_mb(), "provider": cache.providers[0]}


def _scheduler(work: Path, steps: int):  # noqa: ANN202
    from diffusers import LCMScheduler

    scheduler = LCMScheduler.from_pretrained(work / "fp32" / "scheduler")
    scheduler.set_timesteps(steps)
    return scheduler


def _token_ids(work: Path) -> np.ndarray:
    from transformers import CLIPTokenizer

    tokenizer = CLIPTokenizer.from_pretrained(work / "fp32" / "tokenizer")
    return tokenizer([PROMPT], padding="max_length", max_length=77, truncation=True, return_tensors="np").input_ids


def engine_openvino(work: Path, size: int, steps: int, reps: int, threads: int) -> dict[str, float]:
    import openvino as ov
    import torch

    core = ov.Core()
    config = {"INFERENCE_NUM_THREADS": threads, "INFERENCE_PRECISION_HINT": "f32", "PERFORMANCE_HINT": "LATENCY"}
    latent = size // 8
    shapes = {
        "text_encoder": {"input_ids": [1, 77]},
        "unet": {"sample": [1, 4, latent, latent], "timestep": [], "encoder_hidden_states": [1, 77, 768]},
        "vae_decoder": {"latent_sample": [1, 4, latent, latent]},
    }
    t0 = time.perf_counter()
    compiled = {}
    for component, shape in shapes.items():
        model = core.read_model(str(work / "fp32" / component / "model.onnx"))
        model.reshape({k: ov.PartialShape(v) for k, v in shape.items()})
        compiled[component] = core.compile_model(model, "CPU", config).create_infer_request()
    load_s = time.perf_counter() - t0
    ids = _token_ids(work).astype(np.int64)
    scaling = float(json.loads((work / "fp32" / "vae_decoder" / "config.json").read_text()).get("scaling_factor", 0.18215))

    def first(request, feed):  # noqa: ANN001, ANN202
        return np.asarray(next(iter(request.infer(feed).values())))

    def run() -> dict[str, float]:
        t0 = time.perf_counter()
        text = first(compiled["text_encoder"], {"input_ids": ids}).astype(np.float32)
        t1 = time.perf_counter()
        scheduler = _scheduler(work, steps)
        generator = torch.Generator("cpu").manual_seed(0)
        latents = torch.randn((1, 4, latent, latent), generator=generator) * scheduler.init_noise_sigma
        for t in scheduler.timesteps:
            model_in = scheduler.scale_model_input(latents, t).numpy()
            noise = first(compiled["unet"], {"sample": model_in, "timestep": np.array(float(t), np.float32),
                                             "encoder_hidden_states": text})  # fmt: skip
            latents = scheduler.step(torch.from_numpy(noise), t, latents, generator=generator, return_dict=False)[0]
        t2 = time.perf_counter()
        first(compiled["vae_decoder"], {"latent_sample": latents.numpy() / scaling})
        t3 = time.perf_counter()
        return {"text_s": t1 - t0, "unet_s": t2 - t1, "vae_s": t3 - t2, "total_s": t3 - t0}

    return {**_median_stages(run, reps), "load_s": load_s, "peak_rss_mb": _peak_rss_mb()}


def engine_torch(work: Path, size: int, steps: int, reps: int, threads: int) -> dict[str, float]:
    import torch
    from diffusers import LCMScheduler, StableDiffusionPipeline

    torch.set_num_threads(threads)
    t0 = time.perf_counter()
    pipe = StableDiffusionPipeline.from_pretrained(work / "source", safety_checker=None, requires_safety_checker=False)
    pipe.scheduler = LCMScheduler.from_config(pipe.scheduler.config)
    load_s = time.perf_counter() - t0
    stamps: dict[str, float] = {}

    # diffusers' own pipeline end to end; the stage split comes from hooks on its modules
    def stamp(name: str):  # noqa: ANN202
        def hook(*_: object) -> None:
            stamps[name] = time.perf_counter()

        return hook

    pipe.text_encoder.register_forward_hook(stamp("text_done"))
    pipe.vae.decoder.register_forward_pre_hook(stamp("vae_start"))

    def run() -> dict[str, float]:
        t0 = time.perf_counter()
        with torch.inference_mode():
            pipe(PROMPT, num_inference_steps=steps, guidance_scale=1.0, height=size, width=size,
                 generator=torch.Generator("cpu").manual_seed(0), output_type="np")  # fmt: skip
        t3 = time.perf_counter()
        return {"text_s": stamps["text_done"] - t0, "unet_s": stamps["vae_start"] - stamps["text_done"],
                "vae_s": t3 - stamps["vae_start"], "total_s": t3 - t0}  # fmt: skip

    return {**_median_stages(run, reps), "load_s": load_s, "peak_rss_mb": _peak_rss_mb()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--work", type=Path, required=True, help="unet_bench.py --keep's folder (source/ and fp32/)")
    parser.add_argument("--steps", type=int, default=4)
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--engines", default=",".join(ENGINES))
    parser.add_argument("--ort-openvino-python", help="an interpreter with onnxruntime-openvino (photogen-ortov)")
    parser.add_argument("--openvino-python", default=sys.executable, help="an interpreter with openvino (openvino)")
    parser.add_argument("--engine", help=argparse.SUPPRESS)
    args = parser.parse_args()
    runners = {"openvino": engine_openvino, "torch": engine_torch}
    if args.engine:
        if args.engine in _EXPORT:
            result = engine_photogen(args.work, args.size, args.steps, args.reps, args.threads, args.engine)
        else:
            result = runners[args.engine](args.work, args.size, args.steps, args.reps, args.threads)
        print(json.dumps(result))
        return
    if not (args.work / "fp32" / "unet" / "model.onnx").exists():
        parser.error(f"{args.work} has no fp32 export: run bench/unet_bench.py --work {args.work} --keep first")
    print(f"SD 1.5 architecture (random weights), {args.size}x{args.size}, {args.steps} steps, batch 1, no CFG, "
          f"{args.threads} threads, median of {args.reps} after a warm-up")  # fmt: skip
    results = {}
    for engine in args.engines.split(","):
        common = ["--work", str(args.work), "--steps", str(args.steps), "--size", str(args.size),
                  "--reps", str(args.reps), "--threads", str(args.threads)]  # fmt: skip
        python = {"photogen-ortov": args.ort_openvino_python, "openvino": args.openvino_python}.get(engine) or sys.executable
        out = subprocess.run([python, __file__, "--engine", engine, *common], check=True,
                             stdout=subprocess.PIPE, text=True)  # fmt: skip
        results[engine] = json.loads(out.stdout.strip().splitlines()[-1])
        print(f"  {engine}: {results[engine]}", file=sys.stderr, flush=True)
    print(f"{'engine':<14}{'text s':>8}{'UNet s':>8}{'VAE s':>8}{'total s':>9}{'load s':>8}{'peak RSS MB':>13}"
          f"{'total vs photogen':>19}")  # fmt: skip
    base = results.get("photogen-ort", {}).get("total_s")
    for engine, r in results.items():
        ratio = f"{r['total_s'] / base:.2f}x" if base else "-"
        print(f"{engine:<14}{r['text_s']:>8.2f}{r['unet_s']:>8.2f}{r['vae_s']:>8.2f}{r['total_s']:>9.2f}"
              f"{r['load_s']:>8.1f}{r['peak_rss_mb']:>13.0f}{ratio:>19}")  # fmt: skip
    if base:
        for engine, r in results.items():
            if engine != "photogen-ort":
                print(f"photogen-ort is {r['total_s'] / base:.2f}x as fast as {engine} end to end "
                      f"(UNet stage {r['unet_s'] / results['photogen-ort']['unet_s']:.2f}x)")  # fmt: skip


if __name__ == "__main__":
    main()
