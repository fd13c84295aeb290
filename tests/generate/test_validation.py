"""Every export checks its graphs against torch: drift recorded, bounds enforced, the external-data path covered."""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path

import numpy as np
import pytest

from photogen.generate import commands, quantize
from photogen.generate.export import ExportHooks, export_dir, export_model, onnx_components
from photogen.generate.manifest import MANIFEST_NAME, ExportInvalidError, verify_export
from photogen.generate.sources import installed_model
from photogen.generate.validation import (
    DRIFT_BOUNDS,
    ExportValidationError,
    GraphCheck,
    run_graph,
    standard_checks,
)
from photogen.settings import Settings

logger = logging.getLogger(__name__)

GRAPHS = {"text_encoder", "unet", "vae_encoder", "vae_decoder"}


@pytest.mark.parametrize("precision", ["fp32", "int8", "fp16"])
def test_manifest_records_each_graphs_drift(tiny_exports: dict[str, Path], precision: str) -> None:
    manifest = verify_export(tiny_exports[precision])
    assert set(manifest.validation) == GRAPHS
    for component, drift in manifest.validation.items():
        logger.warning("%s %s: %s", precision, component, drift.describe())
        assert drift.within_bound
        assert drift.ref_mean_abs > 0
    unet = manifest.validation["unet"]
    if precision == "fp32":
        assert unet.max_abs < 1e-4
    else:  # a converted graph really differs (the check ran on the converted file, not the fp32 one)
        assert unet.max_abs > 1e-4
    # the VAE stays fp32 in every precision and is held to the fp32 bound
    assert manifest.validation["vae_decoder"].bound == DRIFT_BOUNDS["fp32"]


def test_recorded_drift_is_what_the_graph_gives(tiny_dir: Path, tiny_exports: dict[str, Path]) -> None:
    """The manifest's number is the graph's: recompute it independently of the export run."""
    check = standard_checks(tiny_dir, {"unet"})["unet"]
    reference = check.reference(check.inputs)
    output = run_graph(tiny_exports["int8"] / "unet" / "model.onnx", check.inputs)
    recorded = verify_export(tiny_exports["int8"]).validation["unet"]
    assert recorded.max_abs == pytest.approx(float(np.abs(output - reference).max()), rel=1e-5)


def _scale_first_conv_weight(export_root: Path, factor: float) -> None:
    import onnx
    from onnx import numpy_helper

    path = export_root / "unet" / "model.onnx"
    model = onnx.load(str(path))
    weights = {n.input[1] for n in model.graph.node if n.op_type == "Conv"}
    for i, tensor in enumerate(model.graph.initializer):
        if tensor.name in weights:
            model.graph.initializer[i].CopyFrom(numpy_helper.from_array(numpy_helper.to_array(tensor) * factor, tensor.name))
            break
    onnx.save_model(model, str(path))


def test_a_broken_graph_is_refused_with_its_numbers(gen_settings: Settings, tiny_exports: dict[str, Path]) -> None:
    installed = installed_model("tiny-test", gen_settings)

    def corrupt(source: Path, out: Path, opset: int) -> dict[str, object]:
        _scale_first_conv_weight(out, 3.0)
        return {}

    hooks = ExportHooks(variant="broken", post_export=corrupt)
    with pytest.raises(ExportValidationError, match=r"unet: max abs [0-9.e+-]+ \(") as err:
        export_model(installed, "fp32", gen_settings, hooks=hooks)
    assert set(err.value.drift) == GRAPHS
    assert not err.value.drift["unet"].within_bound and err.value.drift["text_encoder"].within_bound
    assert "fp32 bound" in str(err.value) and "text_encoder" not in str(err.value)
    # not kept: no export, no staging folder, and the plain export is untouched
    variant_dir = gen_settings.models_dir / "tiny-test" / "broken"
    assert not export_dir(gen_settings, "tiny-test", "fp32", "broken").exists()
    assert not list(variant_dir.glob(".staging-*"))
    assert verify_export(tiny_exports["fp32"]).precision == "fp32"


def test_a_graph_that_does_not_load_is_refused(gen_settings: Settings, tiny_exports: dict[str, Path]) -> None:
    installed = installed_model("tiny-test", gen_settings)

    def truncate(source: Path, out: Path, opset: int) -> dict[str, object]:
        path = out / "unet" / "model.onnx"
        path.write_bytes(path.read_bytes()[:5000])
        return {}

    with pytest.raises(ExportValidationError, match="its unet graph does not run in ONNX Runtime") as err:
        export_model(installed, "fp32", gen_settings, hooks=ExportHooks(variant="truncated", post_export=truncate))
    assert "text_encoder" in err.value.drift  # what was measured before the failure is kept on the error
    assert not export_dir(gen_settings, "tiny-test", "fp32", "truncated").exists()


@pytest.fixture
def own_export(tmp_path: Path, tiny_exports: dict[str, Path]) -> Path:
    copy = tmp_path / "int8"
    shutil.copytree(tiny_exports["int8"], copy)
    return copy


def _edit_manifest(root: Path, edit) -> None:  # noqa: ANN001
    data = json.loads((root / MANIFEST_NAME).read_text())
    edit(data)
    (root / MANIFEST_NAME).write_text(json.dumps(data))


def test_recorded_drift_beyond_todays_bound_is_stale(own_export: Path) -> None:
    _edit_manifest(own_export, lambda d: d["validation"]["unet"].update(mean_abs=d["validation"]["unet"]["ref_mean_abs"]))
    with pytest.raises(ExportInvalidError, match=r"unet drift beyond the int8 bound: .*mean abs"):
        verify_export(own_export)


def test_an_export_without_validation_is_stale(own_export: Path) -> None:
    _edit_manifest(own_export, lambda d: d["validation"].pop("text_encoder"))
    with pytest.raises(ExportInvalidError, match="no validation recorded for \\['text_encoder'\\]"):
        verify_export(own_export)


@pytest.fixture
def external_data(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every graph takes the > 2 GB path: optimum writes external data, our conversions keep it."""
    monkeypatch.setattr(quantize, "EXTERNAL_DATA_BYTES", 1)
    monkeypatch.setenv("FORCE_ONNX_EXTERNAL_DATA", "1")


# fp16 here caught a real bug: without shape inference (skipped past 2 GB) the converter made Resize's scales fp16
@pytest.mark.parametrize("precision", ["int8w", "int8", "int8mm", "fp16"])
def test_the_external_data_branch_exports_validates_and_runs(
    external_data: None, gen_settings: Settings, tiny_dir: Path, tiny_exports: dict[str, Path], precision: str
) -> None:
    installed = installed_model("tiny-test", gen_settings)
    manifest = export_model(installed, precision, gen_settings, hooks=ExportHooks(variant="external"))
    root = export_dir(gen_settings, "tiny-test", precision, "external")
    unet_files = {f for f in manifest.files if f.startswith("unet/")}
    # the weights live beside the graph, and the manifest hashes them too
    assert any(f != "unet/model.onnx" and f.startswith("unet/model") for f in unet_files), unet_files
    assert (root / "vae_decoder" / "model.onnx_data").exists()
    assert set(manifest.validation) == GRAPHS and all(d.within_bound for d in manifest.validation.values())
    # the graph loaded from its external data gives what the in-file graph of the same precision gives
    check = standard_checks(tiny_dir, {"unet"})["unet"]
    external = run_graph(root / "unet" / "model.onnx", check.inputs)
    if precision == "int8":
        inline = run_graph(tiny_exports["int8"] / "unet" / "model.onnx", check.inputs)
        assert np.array_equal(external, inline)
    assert manifest.validation["unet"].max_abs > 1e-4  # quantized, not the fp32 graph
    # a truncated external data file is caught by the manifest
    data = next(root / f for f in unet_files if f != "unet/model.onnx" and not f.endswith(".json"))
    data.write_bytes(data.read_bytes()[:100])
    with pytest.raises(ExportInvalidError, match="truncated"):
        verify_export(root)


def test_int8_weight_only_keeps_fp32_compute_and_stores_int8(gen_settings: Settings, tiny_exports: dict[str, Path]) -> None:
    import onnx

    manifest = commands.export("tiny-test", "int8w", gen_settings)
    root = export_dir(gen_settings, "tiny-test", "int8w")
    graph = onnx.load(str(root / "unet" / "model.onnx")).graph
    ops = {n.op_type for n in graph.node}
    assert "DequantizeLinear" in ops and not ops & {"ConvInteger", "MatMulInteger", "DynamicQuantizeLinear"}
    int8 = sum(int(np.prod(t.dims)) for t in graph.initializer if t.data_type == onnx.TensorProto.INT8)
    fp32 = sum(int(np.prod(t.dims)) for t in graph.initializer if t.data_type == onnx.TensorProto.FLOAT)
    assert int8 > 3 * fp32  # most weights are stored in 8 bits
    fp32_size = (tiny_exports["fp32"] / "unet" / "model.onnx").stat().st_size
    assert (root / "unet" / "model.onnx").stat().st_size < 0.45 * fp32_size
    # weight-only moves the output less than dynamic int8 does
    assert manifest.validation["unet"].mean_abs < verify_export(tiny_exports["int8"]).validation["unet"].mean_abs


def test_int8_dynamic_matmul_quantizes_the_linear_layers_only(gen_settings: Settings, tiny_exports: dict[str, Path]) -> None:
    import onnx

    manifest = commands.export("tiny-test", "int8mm", gen_settings)
    root = export_dir(gen_settings, "tiny-test", "int8mm")
    graph = onnx.load(str(root / "unet" / "model.onnx")).graph
    ops = [n.op_type for n in graph.node]
    # linear layers: int8 weights, activations quantized per call; convolutions int8 on disk with fp32 compute
    # (DequantizeLinear folded at load); attention's own activation-by-activation MatMuls fp32
    assert "MatMulInteger" in ops and "DynamicQuantizeLinear" in ops and "ConvInteger" not in ops
    assert "Conv" in ops and "MatMul" in ops and "DequantizeLinear" in ops
    inits = {t.name: t for t in graph.initializer}
    dequantized = {n.output[0]: inits[n.input[0]] for n in graph.node if n.op_type == "DequantizeLinear"}
    for node in graph.node:
        if node.op_type == "MatMulInteger":
            assert inits[node.input[1]].data_type == onnx.TensorProto.INT8
        if node.op_type == "Conv":
            assert dequantized[node.input[1]].data_type == onnx.TensorProto.INT8
    fp32_size = (tiny_exports["fp32"] / "unet" / "model.onnx").stat().st_size
    assert (root / "unet" / "model.onnx").stat().st_size < 0.45 * fp32_size
    # each activation is quantized once, however many linear layers read it (attention's q, k and v)
    quantized = [n.input[0] for n in graph.node if n.op_type == "DynamicQuantizeLinear"]
    assert len(quantized) == len(set(quantized)) < ops.count("MatMulInteger")
    assert all(d.within_bound for d in manifest.validation.values())
    assert 1e-4 < manifest.validation["unet"].mean_abs
    rows = commands.model_info("tiny-test", gen_settings).drift
    assert "int8 dynamic MatMul" in next(r.precision_label for r in rows if r.precision == "int8mm")


def test_models_info_shows_each_graphs_drift(gen_settings: Settings, tiny_exports: dict[str, Path]) -> None:
    rows = commands.model_info("tiny-test", gen_settings).drift
    fp32 = {r.component: r for r in rows if r.export == "fp32"}
    assert set(fp32) == GRAPHS
    recorded = verify_export(tiny_exports["fp32"]).validation["unet"]
    assert fp32["unet"].max_abs == recorded.max_abs and fp32["unet"].within_bound
    assert "int8 dynamic" in next(r.precision_label for r in rows if r.precision == "int8")
    assert "unet" in fp32["unet"].describe() and "ok" in fp32["unet"].describe()


def test_validation_feeds_only_declared_inputs_and_checks_shapes(tiny_exports: dict[str, Path]) -> None:
    from photogen.generate.validation import validate_graphs

    root = tiny_exports["fp32"]
    assert "unet" in onnx_components(root)
    # a reference of the wrong shape is refused, not broadcast
    bad = GraphCheck("vae_decoder", {"latent_sample": np.zeros((1, 4, 8, 8), np.float32), "unused": np.zeros(1)},
                     lambda feed: np.zeros((1, 3, 7, 7), np.float32))  # fmt: skip
    with pytest.raises(ExportValidationError, match="vae_decoder: max abs nan"):
        validate_graphs(root, [bad], "fp32", "tiny-test")
