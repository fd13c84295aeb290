"""Precision conversions of a saved fp32 ONNX graph, in place: int8 dynamic, int8 weight-only, fp16.

Every conversion works from the saved file, so no torch module is alive while it runs. A graph whose
weights live in an external data file (a full-size UNet) is converted in a child process: its peak
memory is its own, and what the exporting process still holds (Python rarely hands freed memory back
to the system) is not added to it. Past EXTERNAL_DATA_BYTES a converted graph is saved with its
weights in `model.onnx_data` beside it, because protobuf cannot hold more than 2 GiB.

    python -m photogen.generate.quantize MODEL.onnx PRECISION [EXTERNAL_DATA_BYTES]   (the child's entry)
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np

from photogen.errors import PhotogenError

logger = logging.getLogger(__name__)

# protobuf cannot hold more than 2 GiB; past this, weights go in an external data file
EXTERNAL_DATA_BYTES = 1_800_000_000
# Weight-bearing ops of "int8 dynamic". MatMulConstBOnly keeps attention's activation-by-activation MatMuls in fp32.
_INT8_OP_TYPES = ("Conv", "MatMul", "Gemm", "Gather")
# the dynamic MatMuls' weights: 7 bits, so no uint8 x int8 pair sum saturates int16 (quantize_matmuls_dynamic_int8)
_REDUCED_INT8_MAX = 63.0
# (op type, input index of the weight) whose constant weights the weight-only int8 stores in 8 bits
_WEIGHT_SLOTS = {"Conv": 1, "MatMul": 1, "Gemm": 1, "Gather": 0}


def convert_precision(model_path: Path, precision: str, external_over: int | None = None) -> None:
    """Convert one saved fp32 graph in place; a graph with external data is converted in a child process.

    `external_over`: the weight bytes past which a graph is saved with external data (EXTERNAL_DATA_BYTES)."""
    external_over = EXTERNAL_DATA_BYTES if external_over is None else external_over
    if precision == "fp32":
        return
    if uses_external_data(model_path, external_over):
        _convert_in_child(model_path, precision, external_over)
        return
    convert_here(model_path, precision, external_over)


def convert_here(model_path: Path, precision: str, external_over: int) -> None:
    if precision == "int8":
        quantize_weights_int8(model_path, external_over)
    elif precision == "int8w":
        quantize_weights_only_int8(model_path, external_over)
    elif precision == "int8mm":
        # the convolutions' (and embeddings') weights int8 on disk, folded to fp32 at load (as int8w);
        # the linear layers int8 with activations quantized per call
        quantize_weights_only_int8(model_path, external_over, op_types=("Conv", "Gemm", "Gather"))
        quantize_matmuls_dynamic_int8(model_path, external_over)
    elif precision == "fp16":
        convert_to_fp16(model_path, external_over)
    else:
        raise ValueError(f"unknown precision {precision!r}")


def _convert_in_child(model_path: Path, precision: str, external_over: int) -> None:
    cmd = [sys.executable, "-m", "photogen.generate.quantize", str(model_path), precision, str(external_over)]
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        raise PhotogenError(
            f"Converting {model_path.parent.name} to {precision} failed (exit {done.returncode}; killed for memory "
            f"when negative): {done.stderr.strip()[-400:]}"
        )


def tensor_bytes(model: Any) -> int:
    """The weights' size. Not `ModelProto.ByteSize()`: protobuf cannot size a message over 2 GB,
    which a full-size fp32 UNet is."""
    total = 0
    for tensor in model.graph.initializer:
        total += len(tensor.raw_data) or 4 * (len(tensor.float_data) + len(tensor.int32_data)) + 8 * len(tensor.int64_data)
    return total


def save_onnx(model: Any, path: Path, external_over: int) -> None:
    import onnx

    data_file = path.with_name(path.name + "_data")
    if data_file.exists():
        data_file.unlink()
    if tensor_bytes(model) > external_over:
        onnx.save_model(
            model, str(path), save_as_external_data=True, all_tensors_to_one_file=True, location=data_file.name
        )
    else:
        onnx.save_model(model, str(path))


def uses_external_data(model_path: Path, external_over: int) -> bool:
    size = sum(f.stat().st_size for f in model_path.parent.iterdir() if f.is_file() and f.name.startswith(model_path.name))
    return size > external_over


def quantize_weights_int8(model_path: Path, external_over: int, op_types: tuple[str, ...] = _INT8_OP_TYPES) -> None:
    """"int8 dynamic": int8 weights and int8 activations scaled per call (ConvInteger/MatMulInteger); no calibration.

    Quantized from the saved file: ORT's quantizer reads external data itself."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    out = model_path.with_name("model.int8.onnx")
    quantize_dynamic(
        model_path,
        out,
        op_types_to_quantize=list(op_types),
        weight_type=QuantType.QInt8,
        per_channel=True,
        use_external_data_format=uses_external_data(model_path, external_over),
        extra_options={"MatMulConstBOnly": True},
    )
    data_file = model_path.with_name(model_path.name + "_data")
    if data_file.exists():
        data_file.unlink()
    os.replace(out, model_path)


def _per_channel_axis(op_type: str, node: Any, ndim: int) -> int:
    if op_type == "Conv" or op_type == "Gather":
        return 0  # output channels / one scale per embedding row
    if op_type == "Gemm":
        trans_b = next((a.i for a in node.attribute if a.name == "transB"), 0)
        return 0 if trans_b else 1
    return ndim - 1  # MatMul's B is (K, N): one scale per output column


def quantize_weights_only_int8(model_path: Path, external_over: int, op_types: tuple[str, ...] = tuple(_WEIGHT_SLOTS)
                               ) -> None:  # fmt: skip
    """"int8 weight-only": weights stored as int8 (symmetric, per output channel) with a DequantizeLinear in
    front; activations and compute stay fp32. ONNX Runtime folds the DequantizeLinear at load when
    `session.disable_quant_qdq` is set (runtime.session_options does), so a step runs at fp32 speed from a
    download and disk about a quarter of fp32's.

    Hand-written because ORT's quantizers do weight-only only for MatMul (MatMulNBits), while most of a
    UNet's weights are convolutions; this covers Conv, MatMul, Gemm and embedding tables (Gather)."""
    import onnx
    from onnx import helper, numpy_helper

    model = onnx.load(str(model_path), load_external_data=True)
    graph = model.graph
    inits = {t.name: t for t in graph.initializer}
    chosen: dict[str, tuple[str, Any]] = {}
    for node in graph.node:
        slot = _WEIGHT_SLOTS.get(node.op_type) if node.op_type in op_types else None
        if slot is None or len(node.input) <= slot:
            continue
        name = node.input[slot]
        tensor = inits.get(name)
        if tensor is None or tensor.data_type != onnx.TensorProto.FLOAT or len(tensor.dims) < 2 or name in chosen:
            continue
        chosen[name] = (node.op_type, node)
    dequant_nodes = []
    for name, (op_type, node) in chosen.items():
        tensor = inits[name]
        weights = numpy_helper.to_array(tensor)
        axis = _per_channel_axis(op_type, node, weights.ndim)
        reduce_axes = tuple(a for a in range(weights.ndim) if a != axis)
        scale = np.abs(weights).max(axis=reduce_axes) / 127.0
        scale[scale == 0] = 1.0
        shape = [1] * weights.ndim
        shape[axis] = -1
        quantized = np.clip(np.round(weights / scale.reshape(shape)), -127, 127).astype(np.int8)
        graph.initializer.remove(tensor)
        graph.initializer.extend([
            numpy_helper.from_array(quantized, f"{name}_int8"),
            numpy_helper.from_array(scale.astype(np.float32), f"{name}_scale"),
            numpy_helper.from_array(np.zeros(scale.shape, dtype=np.int8), f"{name}_zero"),
        ])  # fmt: skip
        dequant_nodes.append(
            helper.make_node("DequantizeLinear", [f"{name}_int8", f"{name}_scale", f"{name}_zero"], [name],
                             name=f"{name}_dequantize", axis=axis)  # fmt: skip
        )
        del weights, quantized
    # the dequantizers read only initializers, so they go first in topological order
    nodes = list(graph.node)
    del graph.node[:]
    graph.node.extend([*dequant_nodes, *nodes])
    logger.info("int8 weight-only: %d weight tensors of %s stored in 8 bits", len(chosen), model_path.parent.name)
    save_onnx(model, model_path, external_over)


def quantize_matmuls_dynamic_int8(model_path: Path, external_over: int) -> None:
    """The MatMuls with a constant weight (attention and feed-forward projections) in dynamic int8: weights
    int8 per output column, activations quantized per call (DynamicQuantizeLinear -> MatMulInteger -> Cast ->
    Mul, the pattern ONNX Runtime fuses into DynamicQuantizeMatMul). The same graph ORT's quantize_dynamic
    makes for op type MatMul, written here in one pass over the loaded model: quantize_dynamic holds
    several copies of a full-size UNet (10.3 GB peak here).

    Weights use 7 bits (-63..63; ORT's `reduce_range`): x86 CPUs without VNNI multiply uint8 activations by
    int8 weights with an instruction that adds pairs into int16 and saturates past 32767 (255 * 127 * 2
    does); 255 * 63 * 2 does not. On the full-size UNet 8-bit weights drifted 5.9% from fp32 here (AVX2,
    no VNNI) where OpenVINO ran the same graph at 1.0%; 7-bit weights drift 1.0% at the same speed."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    model = onnx.load(str(model_path), load_external_data=True)
    graph = model.graph
    inits = {t.name: t for t in graph.initializer}
    uses: dict[str, int] = {}
    for node in graph.node:
        for name in node.input:
            uses[name] = uses.get(name, 0) + 1
    quantized_inputs: dict[str, tuple[str, str, str]] = {}
    quantized_weights: set[str] = set()
    nodes = []
    for node in graph.node:
        weight = inits.get(node.input[1]) if node.op_type == "MatMul" else None
        if weight is None or weight.data_type != TensorProto.FLOAT or len(weight.dims) != 2:
            nodes.append(node)
            continue
        x, out, base = node.input[0], node.output[0], node.name or node.output[0]
        if x not in quantized_inputs:
            quantized_inputs[x] = (f"{x}_quantized", f"{x}_scale", f"{x}_zero_point")
            nodes.append(helper.make_node("DynamicQuantizeLinear", [x], list(quantized_inputs[x]), name=f"{x}_quantize"))
        xq, x_scale, x_zero = quantized_inputs[x]
        wname = f"{weight.name}_int8"
        if wname not in quantized_weights:
            quantized_weights.add(wname)
            w = numpy_helper.to_array(weight)  # (K, N): one scale per output column
            scale = np.abs(w).max(axis=0) / _REDUCED_INT8_MAX
            scale[scale == 0] = 1.0
            graph.initializer.extend([
                numpy_helper.from_array(np.clip(np.round(w / scale), -_REDUCED_INT8_MAX, _REDUCED_INT8_MAX)
                                        .astype(np.int8), wname),
                numpy_helper.from_array(scale.astype(np.float32), f"{wname}_scale"),
                numpy_helper.from_array(np.zeros(scale.shape, dtype=np.int8), f"{wname}_zero"),
            ])  # fmt: skip
            del w
        nodes += [
            helper.make_node("MatMulInteger", [xq, wname, x_zero, f"{wname}_zero"], [f"{out}_int32"], name=f"{base}_quant"),
            helper.make_node("Cast", [f"{out}_int32"], [f"{out}_cast"], to=TensorProto.FLOAT, name=f"{base}_cast"),
            helper.make_node("Mul", [x_scale, f"{wname}_scale"], [f"{out}_scales"], name=f"{base}_scales"),
            helper.make_node("Mul", [f"{out}_cast", f"{out}_scales"], [out], name=f"{base}_rescale"),
        ]  # fmt: skip
        uses[weight.name] -= 1
        if uses[weight.name] == 0:
            graph.initializer.remove(weight)
    del graph.node[:]
    graph.node.extend(nodes)
    logger.info("int8 dynamic MatMul: %d activations quantized per call in %s", len(quantized_inputs), model_path.parent.name)
    save_onnx(model, model_path, external_over)


def matmul_nbits_int8(model_path: Path, external_over: int, block_size: int = 32, accuracy_level: int = 4) -> None:
    """MatMuls with a constant weight become ONNX Runtime's MatMulNBits, 8 bits per weight in blocks of
    `block_size` along K (symmetric: zero point 128, one fp32 scale per block). accuracy_level 4 computes
    with int8 activations quantized per block at run time (MLAS's int8 kernels); 0 dequantizes to fp32."""
    import onnx
    from onnx import helper, numpy_helper

    model = onnx.load(str(model_path), load_external_data=True)
    graph = model.graph
    inits = {t.name: t for t in graph.initializer}
    used_elsewhere = {i for n in graph.node if n.op_type != "MatMul" for i in n.input}
    nodes = []
    for node in graph.node:
        weight = inits.get(node.input[1]) if node.op_type == "MatMul" else None
        if weight is None or weight.data_type != onnx.TensorProto.FLOAT or len(weight.dims) != 2:
            nodes.append(node)
            continue
        w = numpy_helper.to_array(weight)  # (K, N)
        k, n = w.shape
        blocks = -(-k // block_size)
        padded = np.zeros((blocks * block_size, n), dtype=np.float32)
        padded[:k] = w
        per_block = padded.T.reshape(n, blocks, block_size)
        scale = np.abs(per_block).max(axis=2) / 127.0
        scale[scale == 0] = 1.0
        packed = (np.clip(np.round(per_block / scale[:, :, None]), -127, 127) + 128).astype(np.uint8)
        base = f"{node.input[1]}_{node.name or len(nodes)}_nbits"
        graph.initializer.extend([numpy_helper.from_array(packed, f"{base}_q"),
                                  numpy_helper.from_array(scale.reshape(-1).astype(np.float32), f"{base}_scale")])  # fmt: skip
        nodes.append(helper.make_node("MatMulNBits", [node.input[0], f"{base}_q", f"{base}_scale"], list(node.output),
                                      name=f"{node.name}_nbits", domain="com.microsoft", K=k, N=n, bits=8,
                                      block_size=block_size, accuracy_level=accuracy_level))  # fmt: skip
        if weight.name not in used_elsewhere and sum(1 for m in graph.node if weight.name in m.input) == 1:
            graph.initializer.remove(weight)
            del inits[weight.name]
    del graph.node[:]
    graph.node.extend(nodes)
    if not any(o.domain == "com.microsoft" for o in model.opset_import):
        model.opset_import.append(helper.make_opsetid("com.microsoft", 1))
    save_onnx(model, model_path, external_over)


def convert_to_fp16(model_path: Path, external_over: int) -> None:
    """fp16 weights and compute; inputs and outputs stay fp32 so the runtime loop is the same for all precisions."""
    import onnx
    from onnxruntime.transformers.float16 import convert_float_to_float16

    external = uses_external_data(model_path, external_over)
    if external:
        # the converter's own shape inference works on protos under 2 GB only; without types it turns
        # Resize's scales into fp16 and the graph no longer loads, so infer from the file first
        inferred = model_path.with_name("model.inferred.onnx")
        onnx.shape_inference.infer_shapes_path(str(model_path), str(inferred))
        model = onnx.load(str(inferred), load_external_data=True)
        inferred.unlink()
    else:
        model = onnx.load(str(model_path), load_external_data=True)
    model = convert_float_to_float16(model, keep_io_types=True, disable_shape_infer=external)
    save_onnx(model, model_path, external_over)


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO)
    convert_here(Path(sys.argv[1]), sys.argv[2], int(sys.argv[3]) if len(sys.argv) > 3 else EXTERNAL_DATA_BYTES)
