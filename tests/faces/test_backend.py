from __future__ import annotations

import sys
import types
from pathlib import Path

import pytest

from photogen.errors import PhotogenError
from photogen.faces.backend import DEFAULT_BACKEND, FaceBackend, YuNetSFaceBackend, create_backend
from photogen.faces.insightface_backend import INSIGHTFACE_LICENSE, InsightFaceBackend, require_license_acceptance


def test_default_backend_is_yunet_sface_and_satisfies_the_protocol() -> None:
    backend = create_backend()
    assert isinstance(backend, YuNetSFaceBackend) and isinstance(backend, FaceBackend)
    assert backend.name == DEFAULT_BACKEND == "yunet-sface" and backend.embedding_dim == 128


def test_unknown_backend_names_the_choices() -> None:
    with pytest.raises(PhotogenError, match="yunet-sface"):
        create_backend("nope")


def test_insightface_needs_explicit_license_acceptance(tmp_path: Path) -> None:
    assert "non-commercial" in INSIGHTFACE_LICENSE
    with pytest.raises(PhotogenError, match="non-commercial") as info:
        create_backend("insightface-buffalo_l").load()
    assert INSIGHTFACE_LICENSE in str(info.value)  # the license itself is shown
    require_license_acceptance(True)  # accepted: no error


def test_insightface_missing_package_is_a_clear_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setitem(sys.modules, "insightface", None)  # import fails as if not installed
    monkeypatch.setitem(sys.modules, "insightface.model_zoo", None)
    backend = InsightFaceBackend(tmp_path, license_accepted=True)
    with pytest.raises(PhotogenError, match="pip install insightface"):
        backend.load()


def test_insightface_missing_weights_is_a_clear_error_and_nothing_downloads(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    calls: list[str] = []
    zoo = types.ModuleType("insightface.model_zoo")
    zoo.get_model = lambda *a, **k: calls.append("get_model")  # type: ignore[attr-defined]
    package = types.ModuleType("insightface")
    package.model_zoo = zoo  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "insightface", package)
    monkeypatch.setitem(sys.modules, "insightface.model_zoo", zoo)
    backend = InsightFaceBackend(tmp_path / "buffalo_l", license_accepted=True)
    with pytest.raises(PhotogenError, match="det_10g.onnx, w600k_r50.onnx"):
        backend.load()
    assert calls == []
