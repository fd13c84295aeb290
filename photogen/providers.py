"""The one place ONNX Runtime execution providers are ranked, for the diffusion and the face models.

Which providers exist depends on the ONNX Runtime package installed (they all install the same
`onnxruntime` module, so only one of them may be installed at a time):

- `onnxruntime` (the default): CPU everywhere, plus CoreML on macOS (Apple GPU / Neural Engine).
- `onnxruntime-gpu` (NVIDIA, Linux and Windows): CUDA and TensorRT; `make run GPU=1` installs it.
- `onnxruntime-directml` (Windows, any DirectX 12 GPU): DirectML.
- `onnxruntime-openvino` (Intel's OpenVINO inside ONNX Runtime; optional, CPU): ranked above the plain
  CPU provider when installed, because OpenVINO runs the dynamic-int8 graphs' integer convolutions
  far faster than ONNX Runtime's own kernels (bench/unet_bench.py).

The first available provider wins and CPU always closes the list, so a session runs even when a GPU
provider cannot load its libraries; both kinds of fall-back to the CPU are logged with the fix, once
per ProviderNotices (an engine or a face runtime keeps one for its lifetime).
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Sequence
from typing import Literal

from photogen.errors import PhotogenError

logger = logging.getLogger(__name__)

CPU = "CPUExecutionProvider"
TENSORRT = "TensorrtExecutionProvider"
OPENVINO = "OpenVINOExecutionProvider"  # device CPU (the package's default device_type)
# Best first. TensorRT builds an engine per shape on first use (minutes), so it is only tried when the
# caller asks for it; CUDA is the default on NVIDIA, then the platform accelerators, then OpenVINO on
# the CPU, then ONNX Runtime's own CPU kernels.
PREFERENCE: tuple[str, ...] = ("CUDAExecutionProvider", "CoreMLExecutionProvider", "DmlExecutionProvider", OPENVINO, CPU)
# providers that run on the CPU: `device="cpu"` keeps them, `device="gpu"` does not count them
CPU_PROVIDERS = frozenset({OPENVINO, CPU})
ACCELERATORS = frozenset({TENSORRT, "CUDAExecutionProvider", "CoreMLExecutionProvider", "DmlExecutionProvider"})

Device = Literal["auto", "cpu", "gpu"]

GPU_INSTALL_HINT = (
    "NVIDIA: `make run GPU=1`, or `pip uninstall -y onnxruntime && pip install onnxruntime-gpu`; "
    "Windows with any DirectX 12 GPU: `pip uninstall -y onnxruntime && pip install onnxruntime-directml`"
)



class ProviderNotices:
    """Which fall-back notices were logged already: each is logged once per owner (an engine, a face runtime)."""

    def __init__(self) -> None:
        self._seen: set[tuple[str, ...]] = set()

    def first(self, key: tuple[str, ...]) -> bool:
        """True the first time `key` is seen (the caller logs then), False after."""
        if key in self._seen:
            return False
        self._seen.add(key)
        return True


def available_providers() -> list[str]:
    """The providers the installed ONNX Runtime package offers (not a promise that their libraries load)."""
    import onnxruntime as ort

    return list(ort.get_available_providers())


def nvidia_smi_present() -> bool:
    return shutil.which("nvidia-smi") is not None


def choose_providers(
    available: Sequence[str] | None = None, *, use_tensorrt: bool = False, device: Device = "auto",
    notices: ProviderNotices | None = None,
) -> list[str]:
    """Providers to ask ONNX Runtime for, best first, among those installed; CPU always last.

    `device="cpu"` keeps only the CPU providers (OpenVINO's, when installed, then ONNX Runtime's);
    `device="gpu"` refuses to fall back to the CPU. `notices`: the caller's, so a fall-back is logged once.
    """
    offered = list(available) if available is not None else available_providers()
    order = (TENSORRT, *PREFERENCE) if use_tensorrt else PREFERENCE
    chosen = [p for p in order if p in offered and p != CPU]
    if device == "cpu":
        return [*(p for p in chosen if p in CPU_PROVIDERS), CPU]
    if not any(p not in CPU_PROVIDERS for p in chosen):
        if device == "gpu":
            raise PhotogenError(f"No GPU runtime found ({GPU_INSTALL_HINT}), or run with --device cpu.")
        _notice_cpu_only(offered, notices or ProviderNotices())
    return [*chosen, CPU]


def _notice_cpu_only(offered: Sequence[str], notices: ProviderNotices) -> None:
    if not notices.first(tuple(offered)):
        return
    if nvidia_smi_present():
        logger.warning(
            "An NVIDIA GPU is present but the installed ONNX Runtime offers only %s, so models run on the CPU. %s.",
            ", ".join(offered) or "nothing", GPU_INSTALL_HINT,
        )
    else:
        logger.info("ONNX Runtime runs models on the CPU (no GPU provider in this install). %s.", GPU_INSTALL_HINT)


def note_session_providers(requested: Sequence[str], actual: Sequence[str], notices: ProviderNotices | None = None) -> None:
    """Log (once per `notices`) when a session did not get the provider asked for (e.g. CUDA libraries missing)."""
    if not requested or not actual or actual[0] == requested[0]:
        return
    if not (notices or ProviderNotices()).first(("session", requested[0], actual[0])):
        return
    logger.warning(
        "Asked ONNX Runtime for %s but it runs on %s: the provider's libraries did not load "
        "(`photogen doctor` shows what is installed).", requested[0], actual[0],
    )
