from __future__ import annotations

import dataclasses

import numpy as np
import onnx
import pytest

from photogen.errors import PhotogenError
from photogen.faces.model_files import SFACE, YUNET, _dequantize, load_model, read_model_bytes


def test_shipped_models_pass_their_digest() -> None:
    assert len(read_model_bytes(YUNET)) > 100_000
    assert len(read_model_bytes(SFACE)) > 10_000_000


def test_wrong_digest_or_missing_package_is_a_clear_error() -> None:
    with pytest.raises(PhotogenError, match="corrupt or a different version"):
        read_model_bytes(dataclasses.replace(YUNET, sha256="0" * 64))
    with pytest.raises(PhotogenError, match="pip install"):
        read_model_bytes(dataclasses.replace(YUNET, package="no_such_package_photogen"))


def test_loaded_graphs_have_free_dims_and_no_weight_dequantization() -> None:
    for model, free in ((YUNET, {2, 3}), (SFACE, {0})):
        proto = onnx.load_from_string(load_model(model))
        assert [i.name for i in proto.graph.input] in (["input"], ["data"])
        dims = proto.graph.input[0].type.tensor_type.shape.dim
        assert {i for i, d in enumerate(dims) if d.dim_param} == free
        assert not [n for n in proto.graph.node if n.op_type == "DequantizeLinear"]


def test_blocked_dequantization_matches_the_onnx_definition() -> None:
    q = np.arange(-6, 6, dtype=np.int8).reshape(2, 6)
    scale = np.array([[0.5, 2.0], [1.0, 0.25]], np.float32)  # blocks of 4 along axis 1 (last one short)
    zero = np.array([[1, 0], [0, -2]], np.int8)
    out = _dequantize(q, scale, zero, axis=1, block_size=4)
    expected = np.empty((2, 6), np.float32)
    for r in range(2):
        for c in range(6):
            b = c // 4
            expected[r, c] = (float(q[r, c]) - zero[r, b]) * scale[r, b]
    np.testing.assert_allclose(out, expected)
    # per-tensor and per-axis
    np.testing.assert_allclose(_dequantize(q, np.array([0.5], np.float32), None, axis=0, block_size=64), q * 0.5)
    per_axis = _dequantize(q, np.array([1.0, 2.0], np.float32), None, axis=0, block_size=0)
    np.testing.assert_allclose(per_axis, q * np.array([[1.0], [2.0]]))
