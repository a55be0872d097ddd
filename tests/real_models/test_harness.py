"""Checks of the real-model harness itself, fast and independent of which ops the reference
interpreter has: the thresholds in compare.py, tools/ort_run.js (.npy reading and writing for
every dtype, output naming, --bench), the whole reference-vs-ORT path on a model made of
elementwise ops, and every real model's inputs under ORT with and without graph optimizations
(which also shows the thresholds leave room for honest rounding differences).
"""
import json
import subprocess

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper
from onnx.mapping import NP_TYPE_TO_TENSOR_TYPE

import catalog
from compare import MAX_REL_ERR, compare, compare_all


# ---- compare.py ----

def test_compare_accepts_rounding_and_rejects_errors():
    rng = np.random.default_rng(0)
    want = rng.standard_normal((4, 100)).astype(np.float32)
    assert compare("x", want.copy(), want).ok
    assert compare("x", want * np.float32(1 + MAX_REL_ERR / 4), want).ok
    wrong_one = want.copy()
    wrong_one[2, 7] += 0.1 * np.abs(want).max()
    assert not compare("x", wrong_one, want).ok
    assert not compare("x", want[:, ::-1].copy(), want).ok
    assert not compare("x", want.reshape(100, 4), want).ok
    assert not compare("x", want.astype(np.float64), want).ok


def test_compare_floor_ignores_relative_error_near_zero():
    want = np.array([10.0, 1e-7, -3.0], dtype=np.float32)
    got = np.array([10.0, 2e-6, -3.0], dtype=np.float32)  # huge relative, tiny absolute error
    assert compare("x", got, want).ok


def test_compare_nonfinite_and_integers():
    want = np.array([1.0, np.nan, np.inf], dtype=np.float32)
    assert compare("x", want.copy(), want).ok
    assert not compare("x", np.array([1.0, 0.0, np.inf], dtype=np.float32), want).ok
    assert not compare("x", np.array([np.nan, np.nan, np.inf], dtype=np.float32), want).ok
    ids = np.arange(6, dtype=np.int64)
    assert compare("i", ids.copy(), ids).ok
    assert not compare("i", ids + (ids == 3), ids).ok
    mask = np.array([True, False])
    assert not compare("b", ~mask, mask).ok


def test_compare_all_reports_missing_and_extra_outputs():
    a = np.ones(3, dtype=np.float32)
    assert compare_all({"y": a}, {"y": a})[1]
    assert not compare_all({}, {"y": a})[1]
    assert not compare_all({"y": a, "z": a}, {"y": a})[1]
    assert not compare_all({}, {})[1]


# ---- tools/ort_run.js ----

def save_model(graph, path, opset=17):
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return path


ROUNDTRIP_ARRAYS = {
    "f32": np.arange(-6, 6, dtype=np.float32).reshape(3, 4) / 3,
    "f64": np.array([np.pi, -1e300, 5e-324]),
    "i64": np.array([[-(2**62), 2**62 + 5, -1]], dtype=np.int64),
    "i32": np.array([-(2**31), 2**31 - 1, 0, 7], dtype=np.int32),
    "i8": np.array([[[-128, 127]]], dtype=np.int8),
    "u8": np.array([0, 255, 17], dtype=np.uint8),
    "bool": np.array([[True, False, True]]),
    "scalar": np.array(16000, dtype=np.int64),
    "empty": np.zeros((0, 3), dtype=np.float32),
}


def test_ort_run_npy_roundtrip_every_dtype(ort, tmp_path):
    # One Identity per array; outputs named "out/NAME" to check the '/' -> '_' file naming.
    dtypes = {k: NP_TYPE_TO_TENSOR_TYPE[v.dtype] for k, v in ROUNDTRIP_ARRAYS.items()}
    graph = helper.make_graph(
        [helper.make_node("Identity", [k], [f"out/{k}"]) for k in ROUNDTRIP_ARRAYS],
        "roundtrip",
        [helper.make_tensor_value_info(k, dtypes[k], v.shape) for k, v in ROUNDTRIP_ARRAYS.items()],
        [helper.make_tensor_value_info(f"out/{k}", dtypes[k], v.shape)
         for k, v in ROUNDTRIP_ARRAYS.items()])
    model = save_model(graph, tmp_path / "roundtrip.onnx")
    args = catalog.write_inputs(ROUNDTRIP_ARRAYS, tmp_path / "in")
    r = catalog.run_ort(model, args, tmp_path / "out")
    assert r.returncode == 0, r.stderr
    outputs = catalog.read_outputs(tmp_path / "out")
    assert sorted(outputs) == sorted(f"out_{k}" for k in ROUNDTRIP_ARRAYS)
    for k, want in ROUNDTRIP_ARRAYS.items():
        got = outputs[f"out_{k}"]
        assert got.dtype == want.dtype and got.shape == want.shape, k
        assert np.array_equal(got, want), k


def test_ort_run_reports_bad_usage(ort, tmp_path):
    node = catalog.node_binary()
    graph = helper.make_graph([helper.make_node("Identity", ["x"], ["y"])], "g",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2])])
    model = save_model(graph, tmp_path / "id.onnx")
    np.save(tmp_path / "x.npy", np.zeros(2, dtype=np.float32))
    run = lambda *a: subprocess.run([node, str(catalog.ORT_RUN), *a], capture_output=True,
                                    text=True)
    r = run(str(model), "--input", f"nope={tmp_path / 'x.npy'}", "--output-dir", str(tmp_path))
    assert r.returncode == 1 and "no input named 'nope'" in r.stderr
    r = run(str(model), "--output-dir", str(tmp_path))
    assert r.returncode == 1 and "no --input given for model input(s) x" in r.stderr
    np.save(tmp_path / "f.npy", np.asfortranarray(np.arange(4, dtype=np.float32).reshape(2, 2)))
    r = run(str(model), "--input", f"x={tmp_path / 'f.npy'}", "--output-dir", str(tmp_path))
    assert r.returncode == 1 and "Fortran-order" in r.stderr
    r = run(str(model), "--input", "x")
    assert r.returncode == 2 and "NAME=FILE" in r.stderr


def test_ort_run_bench_prints_json(ort, tmp_path):
    graph = helper.make_graph([helper.make_node("Tanh", ["x"], ["y"])], "g",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [64, 64])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [64, 64])])
    model = save_model(graph, tmp_path / "tanh.onnx")
    np.save(tmp_path / "x.npy", np.ones((64, 64), dtype=np.float32))
    r = subprocess.run([catalog.node_binary(), str(catalog.ORT_RUN), str(model), "--input",
                        f"x={tmp_path / 'x.npy'}", "--bench", "5", "--threads", "1"],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    stats = json.loads(r.stdout)
    assert sorted(stats) == ["median_ms", "min_ms", "p90_ms", "peak_rss_mb"]
    assert 0 < stats["min_ms"] <= stats["median_ms"] <= stats["p90_ms"]
    assert stats["peak_rss_mb"] > 1


# ---- the reference-vs-ORT path, end to end, on ops every branch has ----

def test_reference_vs_ort_on_elementwise_model(ort, eave, tmp_path):
    f, i64, b = TensorProto.FLOAT, TensorProto.INT64, TensorProto.BOOL
    graph = helper.make_graph(
        [helper.make_node("Mul", ["x", "w"], ["xw"]),
         helper.make_node("Tanh", ["xw"], ["t"]),
         helper.make_node("Sigmoid", ["x"], ["s"]),
         helper.make_node("Add", ["t", "s"], ["act/sum"]),
         helper.make_node("Greater", ["x", "w"], ["mask"]),
         helper.make_node("Add", ["ids", "ids"], ["ids2"])],
        "elementwise",
        [helper.make_tensor_value_info("x", f, [2, 3, 8]),
         helper.make_tensor_value_info("w", f, [3, 8]),
         helper.make_tensor_value_info("ids", i64, [5])],
        [helper.make_tensor_value_info("act/sum", f, [2, 3, 8]),
         helper.make_tensor_value_info("mask", b, [2, 3, 8]),
         helper.make_tensor_value_info("ids2", i64, [5])])
    model = save_model(graph, tmp_path / "elementwise.onnx")
    rng = np.random.default_rng(1)
    args = catalog.write_inputs({
        "x": rng.standard_normal((2, 3, 8), dtype=np.float32),
        "w": rng.standard_normal((3, 8), dtype=np.float32),
        "ids": rng.integers(-1000, 1000, 5),
    }, tmp_path / "in")
    r = catalog.run_ort(model, args, tmp_path / "ort")
    assert r.returncode == 0, r.stderr
    r = catalog.run_reference(model, args, tmp_path / "reference")
    assert r.returncode == 0, r.stdout + r.stderr
    lines, ok = compare_all(catalog.read_outputs(tmp_path / "reference"),
                            catalog.read_outputs(tmp_path / "ort"))
    assert ok and len(lines) == 3, lines


# ---- the real models' inputs, and the thresholds against honest rounding differences ----

@pytest.mark.parametrize("model", catalog.MODELS, ids=lambda m: m.name)
def test_ort_optimized_matches_unoptimized(model, ort, tmp_path):
    reason = model.unavailable_reason()
    if reason:
        pytest.skip(reason)
    args = catalog.write_inputs(model.inputs(), tmp_path / "inputs")
    for level in ("all", "disabled"):
        r = catalog.run_ort(model.path, args, tmp_path / level, "--graph-opt", level)
        assert r.returncode == 0, f"ORT ({level}) failed on {model.name}:\n{r.stderr}"
    lines, ok = compare_all(catalog.read_outputs(tmp_path / "disabled"),
                            catalog.read_outputs(tmp_path / "all"))
    print(f"{model.name}, ORT unoptimized vs optimized:\n  " + "\n  ".join(lines))
    assert ok, "\n".join(lines)
