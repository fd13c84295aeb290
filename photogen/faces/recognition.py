"""Identity embeddings with SFace: aligned 112x112 faces in, unit-length 128-d vectors out."""

from __future__ import annotations

import numpy as np

from photogen.faces.alignment import ALIGNED_SIZE
from photogen.faces.model import FaceModel, RuntimeFactory
from photogen.faces.model_files import SFACE, load_model
from photogen.faces.runtime import ModelRuntime

SFACE_DIM = 128


def l2_normalize(vectors: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length (zero rows stay zero), as float32."""
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=-1, keepdims=True)
    return (vectors / np.maximum(norms, 1e-12)).astype(np.float32)


class SFaceEmbedder(FaceModel[np.ndarray, np.ndarray]):
    """SFace (OpenCV Zoo, 2021dec, int8) in ONNX Runtime.

    `predict` takes aligned RGB crops, (N, 112, 112, 3) uint8, and returns (N, 128) float32 rows
    of unit length, so a dot product is the cosine similarity.
    """

    dim = SFACE_DIM

    # Faces per run. One core, after `_prelu_as_relu`: 7.3 ms a face alone, 6.6-6.8 in batches of
    # 2-4, 8.5-9.2 in batches of 16-32 (the activations of a big batch no longer stay in cache).
    def __init__(self, runtime_factory: RuntimeFactory | None = None, *, batch_size: int = 4) -> None:
        super().__init__(runtime_factory)
        self.batch_size = batch_size

    def _load(self) -> ModelRuntime:
        runtime = self._runtime_factory(load_model(SFACE))
        self._input_name = runtime.get_inputs()[0].name
        return runtime

    def _predict(self, inputs: np.ndarray) -> np.ndarray:
        crops = np.asarray(inputs)
        if crops.ndim == 3:
            crops = crops[None]
        if crops.shape[1:] != (ALIGNED_SIZE, ALIGNED_SIZE, 3):
            raise ValueError(f"SFace takes aligned (N, 112, 112, 3) crops, got {crops.shape}")
        if len(crops) == 0:
            return np.zeros((0, self.dim), dtype=np.float32)
        rows = []
        for start in range(0, len(crops), self.batch_size):
            # the network normalises internally; it wants raw 0..255 values, channels first
            blob = crops[start : start + self.batch_size].astype(np.float32).transpose(0, 3, 1, 2)
            (features,) = self.runtime.run(None, {self._input_name: np.ascontiguousarray(blob)})
            rows.append(features.reshape(len(blob), -1))
        return l2_normalize(np.concatenate(rows))
