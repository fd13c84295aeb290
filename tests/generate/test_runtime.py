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


def test_bound_runner_gives_the_sessions_outputs_and_reuses_constant_inputs(tiny_exports: dict[str, Path]) -> None:
    """The I/O binding path (CUDA in use) checked with the CPU EP's memory: same numbers, constants copied once."""
    import numpy as np
    import onnxruntime as ort

    from photogen.generate.runtime import BoundRunner, session_options

    session = ort.InferenceSession(str(tiny_exports["fp32"] / "unet" / "model.onnx"), sess_options=session_options(1),
                                   providers=["CPUExecutionProvider"])  # fmt: skip
    bound = BoundRunner(session, "cpu")
    rng = np.random.default_rng(0)
    text = rng.standard_normal((1, 77, 32)).astype(np.float32)
    outputs = []
    for step in range(3):  # as a denoising loop: new latents and timestep each step, the same text array
        feed = {"sample": rng.standard_normal((1, 4, 8, 8)).astype(np.float32),
                "timestep": np.array(900.0 - 300 * step, dtype=np.float32), "encoder_hidden_states": text}  # fmt: skip
        out = bound.run(None, feed)[0]
        np.testing.assert_array_equal(out, session.run(None, feed)[0])
        outputs.append(out)
    assert bound.uploads == 3 * 2 + 1  # latents and timestep each step, the text once
    assert not np.array_equal(outputs[0], outputs[1])
    # a new array with other values is copied, never served from the stale device copy
    other = text + 1.0
    feed["encoder_hidden_states"] = other
    np.testing.assert_array_equal(bound.run(None, feed)[0], session.run(None, feed)[0])


def test_only_gpu_sessions_are_bound() -> None:
    from photogen.generate.runtime import BoundRunner, bind_io

    class _Fake:
        def __init__(self, providers: list[str]) -> None:
            self.providers = providers

        def get_providers(self) -> list[str]:
            return self.providers

    cpu = _Fake(["CPUExecutionProvider"])
    assert bind_io(cpu) is cpu
    cuda = bind_io(_Fake(["CUDAExecutionProvider", "CPUExecutionProvider"]))
    assert isinstance(cuda, BoundRunner) and cuda.device == "cuda"
