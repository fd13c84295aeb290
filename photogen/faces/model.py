"""The base every face model task subclasses: lazy loading and a `load()`/`predict()` pair."""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Generic, TypeVar

from photogen.faces.runtime import ModelRuntime, OrtRuntime

In = TypeVar("In")
Out = TypeVar("Out")

# Builds the runtime for a serialized model; tests inject fakes, other engines plug in here.
RuntimeFactory = Callable[[bytes], ModelRuntime]


def ort_runtime_factory(intra_op_threads: int = 0) -> RuntimeFactory:
    """A factory making ONNX Runtime sessions with a fixed thread count."""

    def build(model: bytes) -> ModelRuntime:
        return OrtRuntime(model, intra_op_threads=intra_op_threads)

    return build


class FaceModel(ABC, Generic[In, Out]):
    """One model task. Subclasses implement `_load()` and `_predict()`; the model loads on first use."""

    def __init__(self, runtime_factory: RuntimeFactory | None = None) -> None:
        self._runtime_factory = runtime_factory or ort_runtime_factory()
        self._runtime: ModelRuntime | None = None
        # two UI requests may hit a cold model at once; build its session only once
        self._load_lock = threading.Lock()

    @property
    def loaded(self) -> bool:
        return self._runtime is not None

    @property
    def runtime(self) -> ModelRuntime:
        return self.load()

    def load(self) -> ModelRuntime:
        if self._runtime is None:
            with self._load_lock:
                if self._runtime is None:
                    self._runtime = self._load()
        return self._runtime

    def predict(self, inputs: In) -> Out:
        self.load()
        return self._predict(inputs)

    @abstractmethod
    def _load(self) -> ModelRuntime: ...

    @abstractmethod
    def _predict(self, inputs: In) -> Out: ...
