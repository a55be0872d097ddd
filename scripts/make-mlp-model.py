#!/usr/bin/python3
"""Writes examples/models/mlp.onnx, the model examples/hello.py compiles: a seeded two-layer
perceptron on 1x64 inputs (MatMul, Add, Relu, Gemm; about 10 KB), made of ops the
compiled backend handles today.

Run with Debian's python3 (python3-onnx, python3-numpy). The output is committed; rerun this
only to change the model."""
import os

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

here = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "examples", "models")
rng = np.random.default_rng(11)


def weight(name, *shape, scale=0.2):
    return numpy_helper.from_array((rng.standard_normal(shape) * scale).astype(np.float32), name)


nodes = [
    helper.make_node("MatMul", ["input", "fc1_w"], ["fc1"], name="fc1"),
    helper.make_node("Add", ["fc1", "fc1_b"], ["fc1_biased"], name="fc1_bias"),
    helper.make_node("Relu", ["fc1_biased"], ["hidden"], name="relu"),
    helper.make_node("Gemm", ["hidden", "fc2_w", "fc2_b"], ["logits"], name="fc2"),
]
graph = helper.make_graph(
    nodes, "mlp",
    [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 64])],
    [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, 10])],
    [weight("fc1_w", 64, 32), weight("fc1_b", 32), weight("fc2_w", 32, 10), weight("fc2_b", 10)])
model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)],
                          producer_name="eave scripts/make-mlp-model.py")
onnx.checker.check_model(model)
onnx.save(model, os.path.join(here, "mlp.onnx"))
print("wrote", os.path.join(here, "mlp.onnx"))
