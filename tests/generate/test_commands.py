"""What `photogen models ...` and the Models tab share: two-repo downloads, a full disk during export, deleting."""

from __future__ import annotations

import errno
from pathlib import Path

import pytest

from photogen.errors import PhotogenError
from photogen.generate import commands
from photogen.generate import export as export_module
from photogen.generate.catalog import get_model_spec
from photogen.generate.export import export_dir
from photogen.generate.manifest import verify_export
from photogen.generate.sources import lora_weights_dir
from photogen.settings import Settings
from tests.generate.fake_hub import FakeHub, FakeRepo, serve


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(home=tmp_path / "home", models_dir=tmp_path / "exported")


def test_lcm_lora_model_downloads_its_base_and_its_lora(settings: Settings, tiny_dir: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    spec = get_model_spec("sd15-lcm-lora")
    assert spec.hf_repo and spec.lora_repo
    lora = FakeRepo({"pytorch_lora_weights.safetensors": b"\x08" * 4096, "README.md": b"# lora"}, commit="f" * 40)
    with serve(FakeHub({spec.hf_repo: FakeRepo.from_folder(tiny_dir), spec.lora_repo: lora})) as hub:
        monkeypatch.setenv("HF_ENDPOINT", hub.url)
        installed = commands.download("sd15-lcm-lora", settings, accept_license=True)
    assert installed.source.lora_repo == spec.lora_repo and installed.source.lora_revision == "f" * 40
    weights = lora_weights_dir(installed, settings)
    assert (weights / "pytorch_lora_weights.safetensors").read_bytes() == b"\x08" * 4096
    assert not (weights / "README.md").exists()  # only what the export needs


def test_a_full_disk_during_export_leaves_no_half_written_export(settings: Settings, tiny_dir: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    commands.import_weights(tiny_dir, settings, "tiny-test")
    real = export_module.write_manifest

    def full_disk(*args: object, **kwargs: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(export_module, "write_manifest", full_disk)
    with pytest.raises(PhotogenError, match="disk holding .* is full.*nothing half-written was kept.*export again"):
        commands.export("tiny-test", "fp32", settings)
    out = export_dir(settings, "tiny-test", "fp32")
    assert not out.exists() and not list(out.parent.glob(".staging-*"))
    assert commands.model_info("tiny-test", settings).exports["fp32"] == "missing"

    monkeypatch.setattr(export_module, "write_manifest", real)
    manifest = commands.export("tiny-test", "fp32", settings)
    assert verify_export(out, manifest.source).precision == "fp32"


def test_other_write_errors_during_export_say_which_folder(settings: Settings, tiny_dir: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    commands.import_weights(tiny_dir, settings, "tiny-test")

    def denied(*args: object, **kwargs: object) -> None:
        raise PermissionError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(export_module, "write_manifest", denied)
    with pytest.raises(PhotogenError, match=r"could not be written to .*exported \(Permission denied\); nothing half-written") as caught:
        commands.export("tiny-test", "fp32", settings)
    assert "full" not in str(caught.value)
    assert not export_dir(settings, "tiny-test", "fp32").exists()


def test_delete_says_when_there_is_nothing_to_delete(settings: Settings) -> None:
    with pytest.raises(PhotogenError, match="'lcm-dreamshaper-v7' is not installed and has no exports"):
        commands.delete_model("lcm-dreamshaper-v7", settings)
    with pytest.raises(PhotogenError, match="has no fp16 export"):
        commands.delete_export("lcm-dreamshaper-v7", "fp16", settings)
    with pytest.raises(PhotogenError, match="Unknown precision 'fp8'"):
        commands.delete_export("lcm-dreamshaper-v7", "fp8", settings)


def test_a_deleted_model_is_not_used_from_memory_once_forgotten(settings: Settings, tiny_dir: Path) -> None:
    from photogen.generate.commands import GenerationEngine, GenerationRequest

    commands.import_weights(tiny_dir, settings, "tiny-test")
    engine = GenerationEngine(settings, providers=["CPUExecutionProvider"])
    request = GenerationRequest(mode="text", prompt="a lighthouse", model_id="tiny-test", precision="int8", steps=1)
    assert len(engine.generate(request).images) == 1
    commands.delete_model("tiny-test", settings)
    assert len(engine.generate(request).images) == 1  # still loaded: this is what forget() is for
    engine.forget("tiny-test")
    with pytest.raises(PhotogenError, match="'tiny-test' is not installed"):
        engine.generate(request)


def test_listing_models_again_with_one_file_hashes_reads_no_export_twice(gen_settings: Settings, tiny_exports: dict,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    from photogen.generate import manifest as manifest_module
    from photogen.generate.manifest import FileHashes

    hashed: list[str] = []
    real = manifest_module.sha256_file
    monkeypatch.setattr(manifest_module, "sha256_file", lambda path: hashed.append(str(path)) or real(path))
    hashes = FileHashes()
    first = commands.list_models(gen_settings, hashes)
    read_once = len(hashed)
    assert read_once > 0 and [m for m in first if m.id == "tiny-test"][0].exports["fp32"] == "ready"
    assert commands.list_models(gen_settings, hashes) == first
    assert len(hashed) == read_once, "an unchanged export was hashed again"
    commands.list_models(gen_settings)  # without one, every listing reads the files afresh
    assert len(hashed) == 2 * read_once


def test_the_default_precision_is_fp16_on_a_gpu_and_fp32_on_a_cpu() -> None:
    assert commands.default_precision(["CUDAExecutionProvider", "CPUExecutionProvider"]) == "fp16"
    assert commands.default_precision(["DmlExecutionProvider", "CPUExecutionProvider"]) == "fp16"
    assert commands.default_precision(["OpenVINOExecutionProvider", "CPUExecutionProvider"]) == "fp32"
    assert commands.default_precision(["CPUExecutionProvider"]) == "fp32"
