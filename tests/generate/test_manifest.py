"""A stale or corrupt export is detected and re-exported, never run."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from photogen.generate import commands
from photogen.generate.export import ensure_export, export_dir
from photogen.generate.manifest import MANIFEST_NAME, ExportInvalidError, SourceInfo, verify_export
from photogen.generate.sources import installed_model
from photogen.settings import Settings


@pytest.fixture
def own_export(tmp_path: Path, tiny_dir: Path, tiny_exports: dict[str, Path]) -> Path:
    """A private copy of the fp32 export that a test may damage."""
    copy = tmp_path / "fp32"
    shutil.copytree(tiny_exports["fp32"], copy)
    return copy


def test_sound_export_verifies(own_export: Path) -> None:
    assert verify_export(own_export).precision == "fp32"


def test_flipped_byte_is_detected(own_export: Path) -> None:
    path = own_export / "unet" / "model.onnx"
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(ExportInvalidError, match="sha256"):
        verify_export(own_export)


def test_truncated_file_is_detected(own_export: Path) -> None:
    path = own_export / "text_encoder" / "model.onnx"
    path.write_bytes(path.read_bytes()[:1000])
    with pytest.raises(ExportInvalidError, match="truncated"):
        verify_export(own_export)


def test_missing_and_unlisted_files_are_detected(own_export: Path) -> None:
    (own_export / "vae_decoder" / "model.onnx").unlink()
    with pytest.raises(ExportInvalidError, match="missing"):
        verify_export(own_export)


def test_unlisted_file_is_detected(own_export: Path) -> None:
    (own_export / "unet" / "model.onnx_data").write_bytes(b"left over")
    with pytest.raises(ExportInvalidError, match="not in the manifest"):
        verify_export(own_export)


def test_export_without_manifest_is_never_trusted(own_export: Path) -> None:
    (own_export / MANIFEST_NAME).unlink()
    with pytest.raises(ExportInvalidError, match="no manifest"):
        verify_export(own_export)


def test_stale_source_is_detected(own_export: Path) -> None:
    other = SourceInfo(kind="hub", repo="someone/else", revision="0" * 40)
    with pytest.raises(ExportInvalidError, match="stale"):
        verify_export(own_export, other)


def test_corrupt_export_is_reexported(tmp_path: Path, tiny_dir: Path) -> None:
    settings = Settings(home=tmp_path / "home", models_dir=tmp_path / "exported")
    commands.import_weights(tiny_dir, settings, name="tiny-test")
    installed = installed_model("tiny-test", settings)
    path, first = ensure_export(installed, "fp32", settings)
    unet = path / "unet" / "model.onnx"
    unet.write_bytes(unet.read_bytes()[:-10])
    # a leftover staging folder stands for an export that was killed: it must not be picked up
    staging = path.parent / ".staging-fp32-deadbeef"
    staging.mkdir()
    again, second = ensure_export(installed, "fp32", settings)
    assert again == path
    assert verify_export(path, installed.source).files == first.files
    assert not staging.exists()
    assert commands.model_info("tiny-test", settings).exports["fp32"] == "ready"


def test_changed_source_makes_export_stale(tmp_path: Path, tiny_dir: Path) -> None:
    settings = Settings(home=tmp_path / "home", models_dir=tmp_path / "exported")
    source = tmp_path / "mine"
    shutil.copytree(tiny_dir, source)
    commands.import_weights(source, settings, name="mine")
    commands.export("mine", "fp32", settings)
    # the user edits the weights and imports the folder again
    (source / "scheduler" / "scheduler_config.json").write_text(
        (source / "scheduler" / "scheduler_config.json").read_text().replace('"beta_end": 0.012', '"beta_end": 0.013')
    )
    commands.import_weights(source, settings, name="mine")
    assert commands.model_info("mine", settings).exports["fp32"].startswith("stale")
    commands.export("mine", "fp32", settings)
    assert commands.model_info("mine", settings).exports["fp32"] == "ready"
    assert verify_export(export_dir(settings, "mine", "fp32")).source == installed_model("mine", settings).source
