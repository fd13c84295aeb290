"""License acceptance, offline download errors and imports; no test touches the network."""

from __future__ import annotations

import socket
import time
from pathlib import Path

import pytest

from photogen.errors import PhotogenError
from photogen.generate import commands
from photogen.generate.catalog import get_model_spec
from photogen.generate.sources import import_model, installed_model, is_license_accepted
from photogen.settings import Settings


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(home=tmp_path / "home", models_dir=tmp_path / "exported")


@pytest.fixture
def closed_endpoint() -> str:
    """A loopback address where nothing listens: connections are refused at once."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def test_download_asks_for_the_license_first(settings: Settings, closed_endpoint: str) -> None:
    with pytest.raises(PhotogenError, match="CreativeML OpenRAIL-M"):
        commands.download("sd15-lcm-lora", settings, accept_license=False, endpoint=closed_endpoint)
    shown: list[str] = []

    def refuse(spec: object) -> bool:
        shown.append(get_model_spec("sd15-lcm-lora").license.name)
        return False

    with pytest.raises(PhotogenError, match="Accept it"):
        commands.download("sd15-lcm-lora", settings, accept_license=refuse, endpoint=closed_endpoint)
    assert shown == ["CreativeML OpenRAIL-M"]
    assert not is_license_accepted(get_model_spec("sd15-lcm-lora"), settings)


def test_offline_download_is_a_clear_error_and_acceptance_is_kept(settings: Settings, closed_endpoint: str) -> None:
    start = time.monotonic()
    with pytest.raises(PhotogenError, match="cannot be reached.*resumes"):
        commands.download("lcm-dreamshaper-v7", settings, accept_license=True, endpoint=closed_endpoint)
    assert time.monotonic() - start < 30
    assert is_license_accepted(get_model_spec("lcm-dreamshaper-v7"), settings)
    assert (settings.home / "licenses.json").exists()


def test_test_model_is_not_downloadable(settings: Settings) -> None:
    with pytest.raises(PhotogenError, match="create-tiny"):
        commands.download("tiny-test", settings)


def test_import_folder_by_reference(settings: Settings, tiny_dir: Path) -> None:
    installed = import_model(tiny_dir, settings, "my-tiny")
    assert installed.source_dir == tiny_dir.resolve() and installed.test_model
    assert installed.source.kind == "folder" and len(installed.source.content_sha256 or "") == 64
    assert installed_model("my-tiny", settings).source == installed.source
    assert "my-tiny" in [m.id for m in commands.list_models(settings)]


def test_import_rejects_what_is_not_a_pipeline(settings: Settings, tmp_path: Path) -> None:
    with pytest.raises(PhotogenError, match="does not exist"):
        import_model(tmp_path / "nothing", settings)
    (tmp_path / "empty").mkdir()
    with pytest.raises(PhotogenError, match="model_index.json"):
        import_model(tmp_path / "empty", settings)
    pickle = tmp_path / "model.ckpt"
    pickle.write_bytes(b"\x80\x04")
    with pytest.raises(PhotogenError, match="pickles are not loaded"):
        import_model(pickle, settings)


def test_import_rejects_a_safetensors_that_is_not_sd(settings: Settings, tmp_path: Path) -> None:
    import torch
    from safetensors.torch import save_file

    path = tmp_path / "lora.safetensors"
    save_file({"lora_unet_down.weight": torch.zeros(2, 2)}, str(path))
    with pytest.raises(PhotogenError, match="not a single-file Stable Diffusion checkpoint"):
        import_model(path, settings)
    garbage = tmp_path / "broken.safetensors"
    garbage.write_bytes(b"not a header")
    with pytest.raises(PhotogenError, match="not a readable"):
        import_model(garbage, settings)


def test_not_installed_model_says_what_to_do(settings: Settings) -> None:
    with pytest.raises(PhotogenError, match=r"download sd-turbo` \(5.2 GB\)"):
        installed_model("sd-turbo", settings)
    with pytest.raises(PhotogenError, match="create-tiny"):
        installed_model("tiny-test", settings)
