from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest

from photogen.errors import PhotogenError
from photogen.generate.runtime import SessionCache, choose_providers


def test_providers_in_order_of_preference() -> None:
    available = ["CPUExecutionProvider", "TensorrtExecutionProvider", "CUDAExecutionProvider"]
    assert choose_providers(available) == ["CUDAExecutionProvider", "CPUExecutionProvider"]
    assert choose_providers(available, use_tensorrt=True) == [
        "TensorrtExecutionProvider",
        "CUDAExecutionProvider",
        "CPUExecutionProvider",
    ]
    assert choose_providers(available, device="cpu") == ["CPUExecutionProvider"]
    with pytest.raises(PhotogenError, match="No GPU runtime"):
        choose_providers(["CPUExecutionProvider"], device="gpu")


class _Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _cache(clock: _Clock, built: list[Path], **kw: float) -> SessionCache:
    def builder(path: Path, providers: Sequence[str], threads: int) -> object:
        built.append(path)
        return object()

    return SessionCache(["CPUExecutionProvider"], threads=1, builder=builder, clock=clock, **kw)  # type: ignore[arg-type]


def test_sessions_are_built_once_and_reused(tmp_path: Path) -> None:
    built: list[Path] = []
    cache = _cache(_Clock(), built)
    first = cache.get(tmp_path / "a.onnx")
    assert cache.get(tmp_path / "a.onnx") is first
    assert len(built) == 1


def test_idle_sessions_are_freed(tmp_path: Path) -> None:
    clock, built = _Clock(), []
    cache = _cache(clock, built, idle_seconds=60)
    cache.get(tmp_path / "a.onnx")
    clock.now = 30
    cache.get(tmp_path / "b.onnx")
    clock.now = 80
    assert cache.evict_idle() == 1  # a idle 80 s, b only 50 s
    assert len(cache) == 1
    cache.get(tmp_path / "a.onnx")
    assert len(built) == 3


def test_cache_keeps_at_most_max_sessions(tmp_path: Path) -> None:
    built: list[Path] = []
    cache = _cache(_Clock(), built, max_sessions=2)
    for name in ("a", "b", "c"):
        cache.get(tmp_path / f"{name}.onnx")
    assert len(cache) == 2
    cache.drop(tmp_path)
    assert len(cache) == 0


def test_real_session_uses_explicit_threads(tiny_exports: dict[str, Path]) -> None:
    cache = SessionCache(["CPUExecutionProvider"], threads=1)
    session = cache.get(tiny_exports["fp32"] / "text_encoder" / "model.onnx")
    assert session.get_providers() == ["CPUExecutionProvider"]  # type: ignore[attr-defined]
    assert session.get_session_options().intra_op_num_threads == 1  # type: ignore[attr-defined]
    with pytest.raises(PhotogenError, match="re-export"):
        cache.get(tiny_exports["fp32"] / "nothing" / "model.onnx")
