"""The one place ONNX Runtime execution providers are ranked, for the diffusion and the face models.

Which providers exist depends on the ONNX Runtime package installed (they all install the same
`onnxruntime` module, so only one of them may be installed at a time):

- `onnxruntime` (the default): CPU everywhere, plus CoreML on macOS (Apple GPU / Neural Engine).
- `onnxruntime-gpu` (NVIDIA, Linux and Windows): CUDA and TensorRT; `make run GPU=1` installs it.
- `onnxruntime-directml` (Windows, any DirectX 12 GPU): DirectML.

The first available provider wins and CPU always closes the list, so a session runs even when a GPU
provider cannot load its libraries; both kinds of fall-back to the CPU are logged once with the fix.
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
# Best first. TensorRT builds an engine per shape on first use (minutes), so it is only tried when the
# caller asks for it; CUDA is the default on NVIDIA, then the platform accelerators, then the CPU.
PREFERENCE: tuple[str, ...] = ("CUDAExecutionProvider", "CoreMLExecutionProvider", "DmlExecutionProvider", CPU)
ACCELERATORS = frozenset({TENSORRT, "CUDAExecutionProvider", "CoreMLExecutionProvider", "DmlExecutionProvider"})

Device = Literal["auto", "cpu", "gpu"]

GPU_INSTALL_HINT = (
    "NVIDIA: `make run GPU=1`, or `pip uninstall -y onnxruntime && pip install onnxruntime-gpu`; "
    "Windows with any DirectX 12 GPU: `pip uninstall -y onnxruntime && pip install onnxruntime-directml`"
)

_noticed: set[tuple[str, ...]] = set()


def available_providers() -> list[str]:
    """The providers the installed ONNX Runtime package offers (not a promise that their libraries load)."""
    import onnxruntime as ort

    return list(ort.get_available_providers())


def nvidia_smi_present() -> bool:
    return shutil.which("nvidia-smi") is not None


def choose_providers(
    available: Sequence[str] | None = None, *, use_tensorrt: bool = False, device: Device = "auto"
) -> list[str]:
    """Providers to ask ONNX Runtime for, best first, among those installed; CPU always last.

    `device="cpu"` forces the CPU; `device="gpu"` refuses to fall back to it.
    """
    offered = list(available) if available is not None else available_providers()
    if device == "cpu":
        return [CPU]
    order = (TENSORRT, *PREFERENCE) if use_tensorrt else PREFERENCE
    chosen = [p for p in order if p in offered and p != CPU]
    if not chosen:
        if device == "gpu":
            raise PhotogenError(f"No GPU runtime found ({GPU_INSTALL_HINT}), or run with --device cpu.")
        _notice_cpu_only(offered)
    return [*chosen, CPU]


def _notice_cpu_only(offered: Sequence[str]) -> None:
    key = tuple(offered)
    if key in _noticed:
        return
    _noticed.add(key)
    if nvidia_smi_present():
        logger.warning(
            "An NVIDIA GPU is present but the installed ONNX Runtime offers only %s, so models run on the CPU. %s.",
            ", ".join(offered) or "nothing", GPU_INSTALL_HINT,
        )
    else:
        logger.info("ONNX Runtime runs models on the CPU (no GPU provider in this install). %s.", GPU_INSTALL_HINT)


def note_session_providers(requested: Sequence[str], actual: Sequence[str]) -> None:
    """Log once when a session did not get the provider asked for (e.g. CUDA libraries missing)."""
    if not requested or not actual or actual[0] == requested[0]:
        return
    key = ("session", requested[0], actual[0])
    if key in _noticed:
        return
    _noticed.add(key)
    logger.warning(
        "Asked ONNX Runtime for %s but it runs on %s: the provider's libraries did not load "
        "(`photogen doctor` shows what is installed).", requested[0], actual[0],
    )
