"""`photogen doctor`: what this install runs on, measured rather than assumed.

Every fact comes from the running system: versions from the installed metadata, providers from ONNX
Runtime itself, the provider actually used from a real session on a one-node graph, the GPU from
`nvidia-smi` when it answers, sizes from the disk.
"""

from __future__ import annotations

import importlib.metadata as md
import json
import logging
import platform
import shutil
import subprocess
import sys
from pathlib import Path

from pydantic import BaseModel

from photogen.providers import ACCELERATORS, GPU_INSTALL_HINT, OPENVINO, choose_providers
from photogen.settings import Settings, source_checkout

logger = logging.getLogger(__name__)

# each installs the `onnxruntime` module; two at once overwrite each other's files
ORT_PACKAGES = ("onnxruntime", "onnxruntime-gpu", "onnxruntime-directml", "onnxruntime-silicon", "onnxruntime-openvino")


class Gpu(BaseModel):
    name: str
    memory_total_mib: int | None = None
    memory_used_mib: int | None = None
    driver: str | None = None


class Export(BaseModel):
    path: str  # relative to the models directory
    model_id: str | None
    precision: str | None
    bytes: int


class DoctorReport(BaseModel):
    python: str
    python_executable: str
    platform: str
    photogen: str
    photogen_path: str
    source_checkout: str | None
    onnxruntime: str | None
    onnxruntime_packages: list[str]
    providers_available: list[str]
    providers_chosen: list[str]
    provider_used: str | None
    gpus: list[Gpu]
    data_dir: str
    models_dir: str
    models_dir_bytes: int
    installed_models: list[str]
    exports: list[Export]
    problems: list[str]


def _version(dist: str) -> str | None:
    try:
        return md.version(dist)
    except md.PackageNotFoundError:
        return None


def installed_ort_packages() -> list[str]:
    return [f"{name}=={v}" for name in ORT_PACKAGES if (v := _version(name)) is not None]


def nvidia_gpus(timeout: float = 10.0) -> list[Gpu]:
    """GPUs as `nvidia-smi` reports them; none when it is missing or does not answer."""
    exe = shutil.which("nvidia-smi")
    if exe is None:
        return []
    query = "--query-gpu=name,memory.total,memory.used,driver_version"
    try:
        out = subprocess.run([exe, query, "--format=csv,noheader,nounits"], capture_output=True, text=True,
                             timeout=timeout, check=True).stdout  # fmt: skip
    except (OSError, subprocess.SubprocessError) as e:
        logger.info("nvidia-smi did not answer: %s", e)
        return []
    return [_gpu_row(line) for line in out.splitlines() if line.strip()]


def _gpu_row(line: str) -> Gpu:
    name, *rest = [f.strip() for f in line.split(",")]

    def mib(i: int) -> int | None:
        return int(float(rest[i])) if len(rest) > i and rest[i].replace(".", "", 1).isdigit() else None

    return Gpu(name=name, memory_total_mib=mib(0), memory_used_mib=mib(1), driver=rest[2] if len(rest) > 2 else None)


def provider_in_use(providers: list[str]) -> str | None:
    """The provider a real session gets when asked for `providers` (a missing CUDA library shows here)."""
    try:
        import onnxruntime as ort
        from onnx import TensorProto, helper
    except ImportError:
        return None
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1])
    graph = helper.make_graph([helper.make_node("Identity", ["x"], ["y"])], "doctor", [x], [y])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = min(model.ir_version, 8)  # loadable by older ONNX Runtime releases too
    options = ort.SessionOptions()
    options.log_severity_level = 3
    try:
        session = ort.InferenceSession(model.SerializeToString(), sess_options=options, providers=providers)
    except Exception as e:  # noqa: BLE001 - any ORT failure is a fact to report, not a crash
        logger.info("ONNX Runtime could not build a session: %s", e)
        return None
    return session.get_providers()[0]


def folder_bytes(root: Path) -> int:
    if not root.is_dir():
        return 0
    return sum(p.stat().st_size for p in root.rglob("*") if p.is_file() and not p.is_symlink())


def list_exports(models_dir: Path) -> list[Export]:
    from photogen.generate.manifest import MANIFEST_NAME

    exports = []
    for manifest in sorted(models_dir.rglob(MANIFEST_NAME)) if models_dir.is_dir() else []:
        try:
            data = json.loads(manifest.read_text())
        except (OSError, ValueError):
            data = {}
        exports.append(Export(path=str(manifest.parent.relative_to(models_dir)), model_id=data.get("model_id"),
                              precision=data.get("precision"), bytes=folder_bytes(manifest.parent)))  # fmt: skip
    return exports


def diagnose(settings: Settings) -> DoctorReport:
    import photogen

    try:
        import onnxruntime as ort

        ort_version: str | None = ort.__version__
        available = list(ort.get_available_providers())
    except ImportError:
        ort_version, available = None, []
    chosen = choose_providers(available) if ort_version else []
    used = provider_in_use(chosen) if ort_version else None
    gpus = nvidia_gpus()
    packages = installed_ort_packages()
    from photogen.generate.sources import list_installed

    problems = []
    if ort_version is None:
        problems.append("ONNX Runtime is not installed: `pip install onnxruntime` (or onnxruntime-gpu for NVIDIA).")
    if len(packages) > 1:
        problems.append(f"{' and '.join(packages)} are installed together; they overwrite each other's files. "
                        "Uninstall all of them and install one (`make run` does this).")  # fmt: skip
    if gpus and not ACCELERATORS & set(available):
        problems.append(f"{gpus[0].name} is present but ONNX Runtime runs on the CPU: {GPU_INSTALL_HINT}.")
    if chosen and used and used != chosen[0]:
        problems.append(f"ONNX Runtime offers {chosen[0]} but a session got {used}: its libraries (e.g. CUDA, cuDNN) did not load.")
    checkout = source_checkout()
    return DoctorReport(
        python=platform.python_version(),
        python_executable=sys.executable,
        platform=platform.platform(),
        photogen=_version("photogen") or "unknown",
        photogen_path=str(Path(photogen.__file__).resolve().parent),
        source_checkout=str(checkout) if checkout else None,
        onnxruntime=ort_version,
        onnxruntime_packages=packages,
        providers_available=available,
        providers_chosen=chosen,
        provider_used=used,
        gpus=gpus,
        data_dir=str(settings.home),
        models_dir=str(settings.models_dir),
        models_dir_bytes=folder_bytes(settings.models_dir),
        installed_models=list_installed(settings),
        exports=list_exports(settings.models_dir),
        problems=problems,
    )


def cpu_runtime(available: list[str]) -> str:
    """What runs the models on the CPU: OpenVINO inside ONNX Runtime when onnxruntime-openvino is installed."""
    if OPENVINO in available:
        return "OpenVINO (onnxruntime-openvino), ranked above ONNX Runtime's own CPU kernels"
    return ("ONNX Runtime's own kernels (optional: `pip uninstall -y onnxruntime && pip install onnxruntime-openvino` "
            "runs the CPU path through OpenVINO)")  # fmt: skip


def report_lines(report: DoctorReport, *, with_paths: bool = True) -> list[str]:
    """The report as a person reads it; without paths (folders, executables) for someone not at this computer."""
    gpu = "; ".join(
        g.name + (f", {g.memory_total_mib} MiB ({g.memory_used_mib} MiB used)" if g.memory_total_mib else "")
        for g in report.gpus
    ) or "none found (nvidia-smi is not here or did not answer)"
    exports = ", ".join(f"{e.path} ({e.bytes / 1e6:.1f} MB)" for e in report.exports) or "none"
    where = f" ({report.photogen_path}{', source checkout' if report.source_checkout else ''})" if with_paths else ""
    lines = [
        f"Python        {report.python}" + (f" ({report.python_executable})" if with_paths else ""),
        f"photogen      {report.photogen}{where}",
        f"ONNX Runtime  {report.onnxruntime or 'not installed'} ({', '.join(report.onnxruntime_packages) or 'no package'})",
        f"Providers     available: {', '.join(report.providers_available) or 'none'}",
        f"              used: {report.provider_used or 'none'} (asked for {', '.join(report.providers_chosen) or 'nothing'})",
        f"CPU runtime   {cpu_runtime(report.providers_available)}",
        f"GPU           {gpu}",
        f"Installed     {', '.join(report.installed_models) or 'no models'}",
        f"Exports       {exports}",
    ]
    if with_paths:
        lines += [
            f"Data          {report.data_dir}",
            f"Models        {report.models_dir} ({report.models_dir_bytes / 1e6:.1f} MB)",
        ]
    return lines + [f"Problem: {p}" for p in report.problems]
