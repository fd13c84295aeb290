from __future__ import annotations

import logging

import pytest

from photogen import providers
from photogen.errors import PhotogenError
from photogen.faces.runtime import preferred_providers
from photogen.generate.runtime import choose_providers as generate_choose
from photogen.providers import CPU, ProviderNotices, choose_providers, note_session_providers

CUDA, TRT, COREML, DML = "CUDAExecutionProvider", "TensorrtExecutionProvider", "CoreMLExecutionProvider", "DmlExecutionProvider"

# what each ONNX Runtime package reports from get_available_providers() (order as the packages list them)
ORT_GPU_LINUX = [TRT, CUDA, CPU]
ORT_MACOS = [COREML, "AzureExecutionProvider", CPU]
ORT_DIRECTML = [DML, CPU]
ORT_CPU = ["AzureExecutionProvider", CPU]


@pytest.mark.parametrize(
    ("available", "expected"),
    [
        (ORT_GPU_LINUX, [CUDA, CPU]),
        (ORT_MACOS, [COREML, CPU]),
        (ORT_DIRECTML, [DML, CPU]),
        (ORT_CPU, [CPU]),
        ([], [CPU]),
        ([CPU, DML, COREML, CUDA], [CUDA, COREML, DML, CPU]),
    ],
)
def test_best_provider_first_and_cpu_always_last(available: list[str], expected: list[str]) -> None:
    assert choose_providers(available) == expected
    # the diffusion and the face models rank the same way: one ranking
    assert generate_choose(available) == expected
    assert preferred_providers(available) == expected


def test_tensorrt_only_on_request_and_cpu_forced_on_request() -> None:
    assert choose_providers(ORT_GPU_LINUX, use_tensorrt=True) == [TRT, CUDA, CPU]
    assert choose_providers(ORT_MACOS, use_tensorrt=True) == [COREML, CPU]
    assert choose_providers(ORT_GPU_LINUX, device="cpu") == [CPU]


def test_gpu_demanded_without_a_gpu_provider_says_what_to_install() -> None:
    with pytest.raises(PhotogenError, match="onnxruntime-gpu"):
        choose_providers(ORT_CPU, device="gpu")
    assert choose_providers(ORT_DIRECTML, device="gpu") == [DML, CPU]


def test_cpu_fallback_is_logged_once_with_the_fix(monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setattr(providers, "nvidia_smi_present", lambda: False)
    notices = ProviderNotices()  # an engine's: its fall-backs are logged once
    with caplog.at_level(logging.INFO, logger="photogen.providers"):
        choose_providers(ORT_CPU, notices=notices)
        choose_providers(ORT_CPU, notices=notices)
        choose_providers(ORT_GPU_LINUX, notices=notices)
    notices = [r for r in caplog.records if "CPU" in r.getMessage()]
    assert len(notices) == 1
    assert notices[0].levelno == logging.INFO
    assert "onnxruntime-gpu" in notices[0].getMessage()


def test_cpu_fallback_with_an_nvidia_gpu_present_is_a_warning(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(providers, "nvidia_smi_present", lambda: True)
    with caplog.at_level(logging.INFO, logger="photogen.providers"):
        choose_providers(ORT_CPU)
    assert [r.levelno for r in caplog.records] == [logging.WARNING]
    assert "make run GPU=1" in caplog.records[0].getMessage()


def test_a_session_that_lost_its_provider_is_logged(caplog: pytest.LogCaptureFixture) -> None:
    notices = ProviderNotices()
    with caplog.at_level(logging.INFO, logger="photogen.providers"):
        note_session_providers([CUDA, CPU], [CUDA, CPU], notices)
        assert caplog.records == []
        note_session_providers([CUDA, CPU], [CPU], notices)
        note_session_providers([CUDA, CPU], [CPU], notices)
    assert len(caplog.records) == 1
    assert "CUDAExecutionProvider" in caplog.records[0].getMessage()
    assert caplog.records[0].levelno == logging.WARNING


OPENVINO = "OpenVINOExecutionProvider"
# onnxruntime-openvino's list (it replaces the plain package's module)
ORT_OPENVINO = [OPENVINO, CPU]


def test_openvino_runs_the_cpu_when_installed() -> None:
    assert choose_providers(ORT_OPENVINO) == [OPENVINO, CPU]
    assert generate_choose(ORT_OPENVINO) == [OPENVINO, CPU]
    assert preferred_providers(ORT_OPENVINO) == [OPENVINO, CPU]
    # it runs on the CPU: kept when the CPU is forced, below any GPU, and not a GPU when one is demanded
    assert choose_providers(ORT_OPENVINO, device="cpu") == [OPENVINO, CPU]
    assert choose_providers([OPENVINO, CUDA, CPU]) == [CUDA, OPENVINO, CPU]
    assert choose_providers([OPENVINO, CUDA, CPU], device="cpu") == [OPENVINO, CPU]
    with pytest.raises(PhotogenError, match="onnxruntime-gpu"):
        choose_providers(ORT_OPENVINO, device="gpu")


def test_fallbacks_are_logged_once_per_owner(monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setattr(providers, "nvidia_smi_present", lambda: False)
    with caplog.at_level(logging.INFO, logger="photogen.providers"):
        choose_providers(ORT_CPU, notices=ProviderNotices())
        choose_providers(ORT_CPU, notices=ProviderNotices())
    assert len([r for r in caplog.records if "CPU" in r.getMessage()]) == 2


def test_this_machine_gets_what_its_onnxruntime_offers() -> None:
    import onnxruntime as ort

    chosen = choose_providers()
    assert set(chosen) <= set(ort.get_available_providers()) | {CPU}
    assert chosen[-1] == CPU
