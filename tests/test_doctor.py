from __future__ import annotations

import json
import os
import platform
from pathlib import Path

import onnxruntime as ort
import pytest
from typer.testing import CliRunner

import photogen
from photogen import doctor
from photogen.cli import app
from photogen.doctor import diagnose, report_lines
from photogen.generate.manifest import MANIFEST_NAME
from photogen.generate.sources import SOURCE_RECORD
from photogen.settings import Settings

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def home(tmp_path: Path) -> Settings:
    settings = Settings(home=tmp_path / "home", models_dir=tmp_path / "exports")
    export = settings.models_dir / "tiny-test" / "fp32"
    (export / "unet").mkdir(parents=True)
    (export / "unet" / "model.onnx").write_bytes(b"\0" * 3000)
    (export / MANIFEST_NAME).write_text(json.dumps({"model_id": "tiny-test", "precision": "fp32"}))
    (settings.home / "models" / "tiny-test").mkdir(parents=True)
    (settings.home / "models" / "tiny-test" / SOURCE_RECORD).write_text("{}")
    return settings


def test_the_report_is_what_this_machine_has(home: Settings) -> None:
    report = diagnose(home)
    assert report.python == platform.python_version()
    assert report.onnxruntime == ort.__version__
    assert report.providers_available == ort.get_available_providers()
    assert report.providers_chosen[-1] == "CPUExecutionProvider"
    assert report.provider_used == report.providers_chosen[0]  # a real session got what was asked for
    assert report.onnxruntime_packages == [f"onnxruntime=={ort.__version__}"]
    assert Path(report.photogen_path) == Path(photogen.__file__).resolve().parent
    assert report.source_checkout == str(REPO)
    assert report.data_dir == str(home.home) and report.models_dir == str(home.models_dir)
    manifest_bytes = (home.models_dir / "tiny-test" / "fp32" / MANIFEST_NAME).stat().st_size
    assert report.models_dir_bytes == 3000 + manifest_bytes
    assert report.installed_models == ["tiny-test"]
    assert [(e.path, e.model_id, e.precision, e.bytes) for e in report.exports] == [
        ("tiny-test/fp32", "tiny-test", "fp32", 3000 + manifest_bytes)
    ]
    assert report.problems == []
    text = "\n".join(report_lines(report))
    assert ort.__version__ in text and "tiny-test/fp32" in text


def test_a_gpu_without_its_runtime_is_named_with_the_fix(home: Settings, tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    fake = tmp_path / "bin" / "nvidia-smi"
    fake.parent.mkdir()
    fake.write_text("#!/bin/sh\necho 'NVIDIA H100 80GB HBM3, 81559, 1203, 550.54.15'\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{fake.parent}{os.pathsep}{os.environ['PATH']}")
    report = diagnose(home)
    assert [(g.name, g.memory_total_mib, g.memory_used_mib, g.driver) for g in report.gpus] == [
        ("NVIDIA H100 80GB HBM3", 81559, 1203, "550.54.15")
    ]
    assert "CUDAExecutionProvider" not in ort.get_available_providers()  # this machine's ONNX Runtime is CPU-only
    assert any("H100" in p and "onnxruntime-gpu" in p for p in report.problems)


def test_a_provider_that_does_not_load_is_caught_by_a_real_session(home: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    # what onnxruntime-gpu reports when the CUDA libraries are missing: offered, but sessions fall back
    monkeypatch.setattr(doctor, "choose_providers", lambda available: ["CUDAExecutionProvider", "CPUExecutionProvider"])
    report = diagnose(home)
    assert report.provider_used == "CPUExecutionProvider"
    assert any("did not load" in p for p in report.problems)


def test_two_onnxruntime_packages_are_a_problem(home: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    versions = {"onnxruntime": "1.32.0", "onnxruntime-gpu": "1.31.1"}
    monkeypatch.setattr(doctor, "_version", lambda name: versions.get(name, "0.1.0" if name == "photogen" else None))
    report = diagnose(home)
    assert report.onnxruntime_packages == ["onnxruntime==1.32.0", "onnxruntime-gpu==1.31.1"]
    assert any("overwrite each other" in p for p in report.problems)


def test_cli_doctor_json_matches_the_report(home: Settings) -> None:
    result = CliRunner().invoke(app, ["doctor", "--json"], env={"PHOTOGEN_MODELS_DIR": str(home.models_dir),
                                                               "PHOTOGEN_HOME": str(home.home)})  # fmt: skip
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data == diagnose(home).model_dump(mode="json")
    plain = CliRunner().invoke(app, ["doctor"], env={"PHOTOGEN_MODELS_DIR": str(home.models_dir)})
    assert "ONNX Runtime" in plain.output and ort.__version__ in plain.output


def test_openvino_is_reported_as_the_cpu_runtime_when_installed(home: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    # what onnxruntime-openvino reports (it replaces the plain package's module)
    monkeypatch.setattr(ort, "get_available_providers", lambda: ["OpenVINOExecutionProvider", "CPUExecutionProvider"])
    monkeypatch.setattr(doctor, "provider_in_use", lambda chosen: chosen[0])
    report = diagnose(home)
    assert report.providers_chosen == ["OpenVINOExecutionProvider", "CPUExecutionProvider"]
    assert any(line.startswith("CPU runtime") and "OpenVINO (onnxruntime-openvino)" in line for line in report_lines(report))
    # without it the line says how to get it
    assert "onnxruntime-openvino" in doctor.cpu_runtime(["CPUExecutionProvider"])
