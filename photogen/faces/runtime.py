"""The inference runtime behind the face models, kept behind a tiny Protocol.

The face models only need `run`, `get_inputs` and `get_outputs`, so ONNX Runtime can be swapped
for another engine and tests can inject a fake without loading any weights.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any, Protocol, runtime_checkable

import numpy as np

from photogen.providers import choose_providers, note_session_providers

logger = logging.getLogger(__name__)


class TensorInfo(Protocol):
    """What a runtime says about one graph input or output (ONNX Runtime's NodeArg fits)."""

    @property
    def name(self) -> str: ...

    @property
    def shape(self) -> Sequence[int | str | None]: ...


@runtime_checkable
class ModelRuntime(Protocol):
    """A loaded model that maps named input arrays to output arrays."""

    def run(self, output_names: Sequence[str] | None, input_feed: Mapping[str, np.ndarray]) -> list[np.ndarray]: ...

    def get_inputs(self) -> Sequence[TensorInfo]: ...

    def get_outputs(self) -> Sequence[TensorInfo]: ...


def preferred_providers(available: Sequence[str] | None = None) -> list[str]:
    """Providers to ask ONNX Runtime for, best first, limited to what this install offers."""
    return choose_providers(available)


class OrtRuntime:
    """An ONNX Runtime session built once from a model (path or serialized bytes) and reused."""

    def __init__(
        self,
        model: str | bytes,
        *,
        intra_op_threads: int = 0,
        providers: Sequence[str] | None = None,
    ) -> None:
        import onnxruntime as ort

        options = ort.SessionOptions()
        # 0 lets ONNX Runtime use one thread per physical core; callers running several models
        # side by side pass a smaller number to avoid thread contention between them.
        options.intra_op_num_threads = max(0, int(intra_op_threads))
        # the face graphs are straight chains of convolutions: no parallel branches to overlap
        options.inter_op_num_threads = 1
        # idle workers spin-waiting steal the cores that decode the next photos while indexing
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        # photos come in every size: a memory plan cached per input shape only adds up (-46 MiB peak
        # over shared/faces, measured with bench/faces_bench.py)
        options.enable_mem_pattern = False
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        # the shipped int8 models carry unused initializers that ONNX Runtime warns about at length
        options.log_severity_level = 3
        chosen = list(providers) if providers is not None else preferred_providers()
        self._session = ort.InferenceSession(model, sess_options=options, providers=chosen)
        logger.debug("ONNX Runtime session on %s", self._session.get_providers())
        note_session_providers(chosen, self._session.get_providers())

    @property
    def providers(self) -> list[str]:
        return list(self._session.get_providers())

    def run(self, output_names: Sequence[str] | None, input_feed: Mapping[str, np.ndarray]) -> list[np.ndarray]:
        outputs: list[Any] = self._session.run(list(output_names) if output_names else None, dict(input_feed))
        return [np.asarray(o) for o in outputs]

    def get_inputs(self) -> Sequence[TensorInfo]:
        return self._session.get_inputs()

    def get_outputs(self) -> Sequence[TensorInfo]:
        return self._session.get_outputs()
