"""ONNX Runtime sessions: provider choice, thread settings and a cache that frees idle sessions.

Every diffusion session is built here, so the thread policy lives in one place; providers are ranked
in photogen.providers (shared with the face models).
"""

from __future__ import annotations

import functools
import logging
import threading
import time
import weakref
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from photogen.errors import PhotogenError
from photogen.providers import ProviderNotices, choose_providers, note_session_providers

logger = logging.getLogger(__name__)

class InferenceRunner(Protocol):
    """The part of an ONNX Runtime session the pipelines use; tests can pass a fake."""

    def run(self, output_names: Sequence[str] | None, input_feed: dict[str, np.ndarray]) -> list[np.ndarray]: ...

    def get_inputs(self) -> list[Any]: ...

    def get_outputs(self) -> list[Any]: ...


def session_options(threads: int) -> Any:
    import onnxruntime as ort

    opts = ort.SessionOptions()
    # 0 lets ORT use one thread per physical core; a fixed count avoids contention when the UI also
    # runs face models beside the diffusion sessions
    opts.intra_op_num_threads = threads
    # the diffusion graphs are a single chain of big ops: parallel branches do not pay for their threads
    opts.inter_op_num_threads = 1
    opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    # int8 weight-only graphs store weights as int8 + DequantizeLinear: this folds them to fp32 at load, so a
    # step runs fp32 kernels instead of dequantizing every weight every step. The QDQ fusions it turns off
    # need quantized activations, which no photogen graph has (int8 dynamic uses ConvInteger/MatMulInteger).
    opts.add_session_config_entry("session.disable_quant_qdq", "1")
    return opts


def build_session(model_path: Path, providers: Sequence[str], threads: int, notices: ProviderNotices | None = None
                  ) -> InferenceRunner:  # fmt: skip
    import onnxruntime as ort

    if not model_path.exists():
        raise PhotogenError(f"{model_path} is missing: re-export the model with `photogen models export`.")
    try:
        session = ort.InferenceSession(str(model_path), sess_options=session_options(threads), providers=list(providers))
    except Exception as e:  # ORT raises its own Fail/InvalidGraph/RuntimeException types
        msg = str(e)
        if "bad_alloc" in msg or "Failed to allocate" in msg:
            raise PhotogenError(
                f"Not enough memory to load {model_path.parent.name}: close other apps or use --precision int8."
            ) from e
        raise PhotogenError(
            f"ONNX Runtime could not load {model_path}: {msg[:300]}. Re-export with `photogen models export`."
        ) from e
    note_session_providers(providers, session.get_providers(), notices)
    return bind_io(session)


# the providers whose sessions photogen runs through I/O binding, and the device name ORT gives their memory
_BOUND_DEVICES = {"CUDAExecutionProvider": "cuda"}


def bind_io(session: Any) -> InferenceRunner:
    """A session on a GPU provider runs through I/O binding (BoundRunner); on the CPU it is used as it is."""
    device = _BOUND_DEVICES.get(session.get_providers()[0])
    return BoundRunner(session, device) if device else session


class BoundRunner:
    """Runs a session with ONNX Runtime's I/O binding: inputs are copied to the device as OrtValues and the
    outputs are allocated there by ORT, then copied back once.

    An input passed as the same numpy array as in the previous call (the prompt embedding and the identity
    inputs, the same every denoising step) is not copied again: its device copy is reused. The arrays are
    held by weak reference, so a new array never hits a stale copy. The pipelines never modify an input in
    place between calls; a caller that does must pass a new array.
    """

    def __init__(self, session: Any, device: str, device_id: int = 0) -> None:
        self.session = session
        self.device = device
        self.device_id = device_id
        self._uploaded: dict[str, tuple[weakref.ref[np.ndarray], Any]] = {}
        self.uploads = 0  # device copies made (tests check that constant inputs are copied once)

    def get_inputs(self) -> list[Any]:
        return self.session.get_inputs()

    def get_outputs(self) -> list[Any]:
        return self.session.get_outputs()

    def get_providers(self) -> list[str]:
        return self.session.get_providers()

    def _device_value(self, name: str, value: np.ndarray) -> Any:
        import onnxruntime as ort

        cached = self._uploaded.get(name)
        if cached is not None and cached[0]() is value:
            return cached[1]
        # np.require, not ascontiguousarray: that one turns a 0-d timestep into shape (1,)
        device_value = ort.OrtValue.ortvalue_from_numpy(np.require(value, requirements='C'), self.device, self.device_id)
        self.uploads += 1
        try:
            self._uploaded[name] = (weakref.ref(value), device_value)
        except TypeError:  # not weak-referenceable (a numpy scalar): copied every call
            self._uploaded.pop(name, None)
        return device_value

    def run(self, output_names: Sequence[str] | None, input_feed: dict[str, np.ndarray]) -> list[np.ndarray]:
        binding = self.session.io_binding()
        for name, value in input_feed.items():
            binding.bind_ortvalue_input(name, self._device_value(name, value))
        for name in output_names or [o.name for o in self.session.get_outputs()]:
            binding.bind_output(name, self.device, self.device_id)
        self.session.run_with_iobinding(binding)
        return binding.copy_outputs_to_cpu()


@dataclass
class _Entry:
    session: InferenceRunner
    last_used: float


class SessionCache:
    """Builds each session once and reuses it; frees sessions idle for `idle_seconds` or past `max_sessions`.

    Eviction happens on access (no background thread), so an app that is idle for hours keeps its memory
    until the next request or until `evict_idle()` is called, e.g. from a UI timer.
    """

    def __init__(self, providers: Sequence[str] | None = None, threads: int = 0, idle_seconds: float = 600.0,
                 max_sessions: int = 8, builder: Callable[[Path, Sequence[str], int], InferenceRunner] | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:  # fmt: skip
        # the cache's provider fall-back notices: each logged once for the cache's (the engine's) lifetime
        self.notices = ProviderNotices()
        self.providers = list(providers) if providers is not None else choose_providers(notices=self.notices)
        self.threads = threads
        self.idle_seconds = idle_seconds
        self.max_sessions = max_sessions
        self._builder = builder or functools.partial(build_session, notices=self.notices)
        self._clock = clock
        self._entries: OrderedDict[Path, _Entry] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, model_path: Path) -> InferenceRunner:
        key = model_path.resolve()
        with self._lock:
            now = self._clock()
            self._evict_idle_locked(now)
            entry = self._entries.get(key)
            if entry is None:
                logger.info("loading %s on %s", key, self.providers[0])
                entry = _Entry(self._builder(key, self.providers, self.threads), now)
                self._entries[key] = entry
            entry.last_used = now
            self._entries.move_to_end(key)
            while len(self._entries) > self.max_sessions:
                evicted, _ = self._entries.popitem(last=False)
                logger.info("freed session %s (cache full)", evicted)
            return entry.session

    def evict_idle(self) -> int:
        with self._lock:
            return self._evict_idle_locked(self._clock())

    def _evict_idle_locked(self, now: float) -> int:
        idle = [k for k, e in self._entries.items() if now - e.last_used > self.idle_seconds]
        for key in idle:
            del self._entries[key]
            logger.info("freed idle session %s", key)
        return len(idle)

    def drop(self, under: Path) -> None:
        """Forget every session loaded from under `under` (before an export replaces its files)."""
        root = under.resolve()
        with self._lock:
            for key in [k for k in self._entries if k.is_relative_to(root)]:
                del self._entries[key]

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)
