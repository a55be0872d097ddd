"""eave.compare and `eave compare`: every intermediate value of the compiled model against the
reference interpreter (and ONNX Runtime when it is installed)."""
import json
import os
import shutil
import subprocess

import numpy as np
import pytest

from conftest import EAVE, run_eave

import eave


def ort_available():
    cache = os.environ.get("EAVE_CACHE", os.path.expanduser("~/.cache/eave"))
    return shutil.which("node") and os.path.isdir(
        os.path.join(cache, "npm", "node_modules", "onnxruntime-node"))


def test_dispatch_granularity_compares_every_dispatch_output(models):
    r = eave.compare(models["mlp"])
    assert r.ok and r.first_over is None
    assert r.granularity == "dispatch" and r.against == "reference"
    values = [row["value"] for row in r.rows]
    assert values[-1] == "y"
    for row in r.rows:
        assert row["compared"], row
        assert row["within_tolerance"]
        assert row["max_abs_error"] < 1e-4 and row["cosine"] > 0.9999
    text = str(r)
    assert "max abs err" in text and "SNR dB" in text
    assert "every compared value is within tolerance" in text


def test_node_granularity_shows_each_node(models):
    r = eave.compare(models["mlp"], granularity="node")
    assert [row["value"] for row in r.rows] == ["h0", "h1", "h", "y"]
    assert [row["op"] for row in r.rows] == ["MatMul", "Add", "Relu", "Gemm"]
    assert [row["node"] for row in r.rows] == ["fc1", "bias1", "relu1", "fc2"]
    assert all(row["shape"] in ((2, 16), (2, 4)) for row in r.rows)


def test_given_inputs_json_and_cli_agree(models, tmp_path):
    x = np.random.default_rng(5).standard_normal((2, 8)).astype(np.float32)
    np.save(tmp_path / "x.npy", x)
    r = eave.compare(models["mlp"], {"x": x}, granularity="node", json=tmp_path / "py.json")
    code, out, err = run_eave("compare", models["mlp"], "--input", f"x={tmp_path / 'x.npy'}",
                              "--granularity", "node", "--json", tmp_path / "cli.json")
    assert code == 0, err
    assert "max abs err" in out and "\033" not in out  # no colour when piped
    py, cli = (json.loads((tmp_path / f).read_text()) for f in ("py.json", "cli.json"))
    assert py == cli
    assert py["first_over"] is None and len(py["rows"]) == len(r.rows) == 4
    assert {"value", "node", "op", "shape", "max_abs_error", "rel_error", "cosine",
            "snr_db"} <= set(py["rows"][0])


def test_values_a_graph_pass_rewrote_are_compared_with_the_optimized_graph(models):
    """BatchNorm folding leaves the Gemm's output name 'g' on Gemm+BatchNorm: that row is judged
    against the optimized graph's reference, not reported as a mismatch. (Per dispatch, the
    swish x * sigmoid(x) fuses into the Gemm's kernel, so 'g' is not a row there.)"""
    for granularity in ("dispatch", "node"):
        r = eave.compare(models["gemm_bn_swish"], granularity=granularity)
        assert r.ok, str(r)
        g = [row for row in r.rows if row["value"] == "g"]
        if granularity == "node":
            assert g and "rewritten by a graph pass" in g[0]["note"], str(r)
        else:
            assert not g and [row["op"] for row in r.rows] == ["Gemm+Sigmoid+Mul"], str(r)
        assert r.rows[-1]["value"] == "y" and r.rows[-1]["note"] == ""


def test_compare_errors(models):
    with pytest.raises(eave.Error) as e:
        eave.compare(models["mlp"], against="tvm")
    assert str(e.value) == "--against must be reference or onnxruntime, got 'tvm'"
    with pytest.raises(eave.Error, match="the model has no input 'q' \\(its inputs: 'x'\\)"):
        eave.compare(models["mlp"], {"q": np.ones((2, 8), np.float32)})
    code, out, err = run_eave("compare", models["mlp"], "--against", "tvm")
    assert code == 1 and err == f"error: {e.value}\n"


def test_missing_onnxruntime_is_a_user_error(models, tmp_path):
    env = dict(os.environ, EAVE_CACHE=str(tmp_path))  # an empty cache: no onnxruntime-node
    p = subprocess.run([EAVE, "compare", models["mlp"], "--against", "onnxruntime"],
                       capture_output=True, text=True, env=env)
    if "ONNX Runtime" not in p.stderr and shutil.which("node") is None:
        pytest.skip("node is not installed")
    assert p.returncode == 1, p.stderr
    assert p.stderr.startswith("error: ONNX Runtime is not available"), p.stderr
    assert "scripts/fetch-models" in p.stderr


@pytest.mark.skipif(not ort_available(), reason="ONNX Runtime is not installed "
                    "(scripts/fetch-models puts it in $EAVE_CACHE/npm)")
def test_against_onnxruntime(models):
    r = eave.compare(models["mlp"], against="onnxruntime", granularity="node")
    assert r.ok, str(r)
    assert [row["value"] for row in r.rows] == ["h0", "h1", "h", "y"]
    assert all(row["compared"] for row in r.rows)
