"""Shared fixtures for the Python SDK tests: small ONNX models made with onnx.helper whose ops
compile today (MatMul/Gemm with constant weights, elementwise ops), and the paths of the
build. Run through ctest (python/CMakeLists.txt sets PYTHONPATH and EAVE_BUILD_DIR)."""
import os
import subprocess

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

BUILD_DIR = os.environ.get("EAVE_BUILD_DIR", os.path.join(os.path.dirname(__file__), "../../build"))
EAVE = os.path.join(BUILD_DIR, "bin", "eave")

RNG = np.random.default_rng(7)
W1 = RNG.standard_normal((8, 16)).astype(np.float32)
B1 = RNG.standard_normal(16).astype(np.float32)
W2 = RNG.standard_normal((16, 4)).astype(np.float32)
B2 = RNG.standard_normal(4).astype(np.float32)


def mlp_expected(x):
    h = np.maximum(x @ W1 + B1, 0)
    return h @ W2 + B2


def make_mlp(batch=2):
    """x f32 [batch, 8] -> MatMul, Add, Relu, Gemm -> y f32 [batch, 4]."""
    nodes = [
        helper.make_node("MatMul", ["x", "w1"], ["h0"], name="fc1"),
        helper.make_node("Add", ["h0", "b1"], ["h1"], name="bias1"),
        helper.make_node("Relu", ["h1"], ["h"], name="relu1"),
        helper.make_node("Gemm", ["h", "w2", "b2"], ["y"], name="fc2"),
    ]
    graph = helper.make_graph(
        nodes, "mlp",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [batch, 8])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [batch, 4])],
        [numpy_helper.from_array(W1, "w1"), numpy_helper.from_array(B1, "b1"),
         numpy_helper.from_array(W2, "w2"), numpy_helper.from_array(B2, "b2")])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def make_two_outputs():
    """a, b f32 [3, 5] -> sum = a + b, prod = a * b."""
    graph = helper.make_graph(
        [helper.make_node("Add", ["a", "b"], ["sum"], name="add"),
         helper.make_node("Mul", ["a", "b"], ["prod"], name="mul")],
        "two_outputs",
        [helper.make_tensor_value_info("a", TensorProto.FLOAT, [3, 5]),
         helper.make_tensor_value_info("b", TensorProto.FLOAT, [3, 5])],
        [helper.make_tensor_value_info("sum", TensorProto.FLOAT, [3, 5]),
         helper.make_tensor_value_info("prod", TensorProto.FLOAT, [3, 5])])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def make_gemm_batchnorm(swish=True):
    """x f32 [3, 4] -> Gemm -> BatchNormalization (folded into the Gemm by the graph passes) ->
    y, or -> x * sigmoid(x) -> y when `swish`."""
    rng = np.random.default_rng(0)

    def const(name, *shape):
        return numpy_helper.from_array(rng.standard_normal(shape).astype(np.float32), name)

    nodes = [helper.make_node("Gemm", ["x", "w", "b"], ["g"], name="gemm", transB=1),
             helper.make_node("BatchNormalization", ["g", "s", "bb", "m", "v"],
                              ["bn" if swish else "y"], name="bn")]
    if swish:
        nodes += [helper.make_node("Sigmoid", ["bn"], ["sg"], name="sig"),
                  helper.make_node("Mul", ["bn", "sg"], ["y"], name="swish")]
    var = numpy_helper.from_array(rng.uniform(0.5, 2, 6).astype(np.float32), "v")
    graph = helper.make_graph(
        nodes, "gemm_bn", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [3, 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [3, 6])],
        [const("w", 6, 4), const("b", 6), const("s", 6), const("bb", 6), const("m", 6), var])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def make_text():
    """words string [1, n] -> StringNormalizer (upper case, no "the") -> upper; numbers string
    [3] -> Cast -> values f32 [3]."""
    graph = helper.make_graph(
        [helper.make_node("StringNormalizer", ["words"], ["upper"], name="normalize",
                          case_change_action="UPPER", stopwords=["the"]),
         helper.make_node("Cast", ["numbers"], ["values"], name="parse", to=TensorProto.FLOAT)],
        "text",
        [helper.make_tensor_value_info("words", TensorProto.STRING, [1, "n"]),
         helper.make_tensor_value_info("numbers", TensorProto.STRING, [3])],
        [helper.make_tensor_value_info("upper", TensorProto.STRING, None),
         helper.make_tensor_value_info("values", TensorProto.FLOAT, [3])])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def make_unknown_op():
    graph = helper.make_graph(
        [helper.make_node("FrobnicateTensor", ["x"], ["y"], name="weird")], "unknown",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2])])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


@pytest.fixture(scope="session")
def models(tmp_path_factory):
    """Paths of the test models, written once per session."""
    d = tmp_path_factory.mktemp("models")
    out = {}
    for name, model in [("mlp", make_mlp()), ("mlp_batch", make_mlp("batch")),
                        ("two_outputs", make_two_outputs()), ("unknown_op", make_unknown_op()),
                        ("text", make_text()),
                        ("gemm_bn_swish", make_gemm_batchnorm()),
                        ("gemm_bn", make_gemm_batchnorm(swish=False))]:
        path = d / f"{name}.onnx"
        onnx.save(model, str(path))
        out[name] = str(path)
    return out


def run_eave(*args, **kwargs):
    """The eave CLI: (exit code, stdout, stderr)."""
    p = subprocess.run([EAVE, *map(str, args)], capture_output=True, text=True, **kwargs)
    return p.returncode, p.stdout, p.stderr


def cli_error(*args):
    """The message the CLI prints for a user error (after 'error: '), checking it exits 1."""
    code, out, err = run_eave(*args)
    assert code == 1, (code, out, err)
    assert err.startswith("error: "), err
    return err[len("error: "):].strip()
