from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from photogen.faces.model_files import YUNET, load_model
from photogen.faces.recognition import SFaceEmbedder
from photogen.faces.runtime import ModelRuntime, OrtRuntime, preferred_providers


def test_providers_follow_preference_and_end_with_cpu() -> None:
    assert preferred_providers(["CPUExecutionProvider", "CUDAExecutionProvider"]) == [
        "CUDAExecutionProvider",
        "CPUExecutionProvider",
    ]
    assert preferred_providers(["CPUExecutionProvider", "AzureExecutionProvider"]) == ["CPUExecutionProvider"]
    assert preferred_providers([]) == ["CPUExecutionProvider"]


def test_ort_runtime_runs_yunet_at_any_size() -> None:
    runtime = OrtRuntime(load_model(YUNET), intra_op_threads=1)
    assert isinstance(runtime, ModelRuntime)
    assert "CPUExecutionProvider" in runtime.providers
    names = [o.name for o in runtime.get_outputs()]
    # the shipped graph is fixed at 640x640; we freed it, so 320x480 must run and give a 40x60 grid
    outputs = dict(zip(names, runtime.run(names, {"input": np.zeros((1, 3, 320, 480), np.float32)}), strict=True))
    assert outputs["cls_8"].shape == (1, 40 * 60, 1)
    assert outputs["kps_32"].shape == (1, 10 * 15, 10)


@dataclass
class _Info:
    name: str
    shape: Sequence[int | str | None]


class FakeRuntime:
    """Satisfies the runtime Protocol with no weights: returns one fixed vector a row."""

    def __init__(self) -> None:
        self.calls = 0

    def run(self, output_names: Sequence[str] | None, input_feed: Mapping[str, np.ndarray]) -> list[np.ndarray]:
        self.calls += 1
        (batch,) = input_feed.values()
        return [np.tile(np.arange(1, 129, dtype=np.float32), (len(batch), 1))]

    def get_inputs(self) -> Sequence[_Info]:
        return [_Info("data", ["n", 3, 112, 112])]

    def get_outputs(self) -> Sequence[_Info]:
        return [_Info("fc1", ["n", 128])]


def test_models_load_lazily_once_and_accept_an_injected_runtime() -> None:
    built: list[bytes] = []
    fake = FakeRuntime()

    def factory(model: bytes) -> FakeRuntime:
        built.append(model)
        return fake

    embedder = SFaceEmbedder(factory, batch_size=4)
    assert not embedder.loaded and not built  # constructing loads nothing
    out = embedder.predict(np.zeros((10, 112, 112, 3), np.uint8))
    embedder.predict(np.zeros((1, 112, 112, 3), np.uint8))
    assert len(built) == 1 and embedder.loaded  # one session, reused
    assert fake.calls == 3 + 1  # batches of 4: 4, 4, 2; then 1
    assert out.shape == (10, 128) and out.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(out, axis=1), 1.0, rtol=1e-6)
