from __future__ import annotations

from pathlib import Path

import pytest

import photogen.settings as settings_module
from photogen.settings import Settings, default_models_dir, source_checkout

REPO = Path(__file__).resolve().parents[1]


def test_a_source_checkout_exports_into_exported_models() -> None:
    assert source_checkout() == REPO
    assert Settings().models_dir == REPO / "exported_models"


@pytest.mark.parametrize("where", ["lib/python3.11/site-packages", "lib/python3/dist-packages", "somewhere"])
def test_an_installed_package_exports_into_the_user_cache(
    where: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    installed = tmp_path / where / "photogen" / "settings.py"
    monkeypatch.setattr(settings_module, "__file__", str(installed))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    assert source_checkout() is None
    assert default_models_dir() == tmp_path / "cache" / "photogen" / "exported_models"
    assert Settings().models_dir == tmp_path / "cache" / "photogen" / "exported_models"


def test_photogen_models_dir_overrides_both(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PHOTOGEN_MODELS_DIR", str(tmp_path / "mine"))
    assert Settings().models_dir == tmp_path / "mine"
    monkeypatch.setattr(settings_module, "__file__", str(tmp_path / "site-packages" / "photogen" / "settings.py"))
    assert Settings().models_dir == tmp_path / "mine"
