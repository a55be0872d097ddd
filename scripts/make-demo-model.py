#!/usr/bin/python3
"""Writes the small model `make demo` runs: examples/models/tiny_cnn.onnx (a seeded 2-layer CNN
classifier on 1x3x32x32 images, about 30 KB) and a seeded input for it.

Run with Debian's python3 (python3-onnx, python3-numpy). The outputs are committed, so the demo
needs no Python; rerun this only to change the model."""
import os

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

here = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "examples", "models")
rng = np.random.default_rng(7)


def weight(name, *shape, scale=0.2):
    return numpy_helper.from_array((rng.standard_normal(shape) * scale).astype(np.float32), name)


inits = [
    weight("conv1_w", 8, 3, 3, 3), weight("conv1_b", 8),
    weight("conv2_w", 16, 8, 3, 3), weight("conv2_b", 16),
    numpy_helper.from_array(rng.uniform(0.5, 1.5, 16).astype(np.float32), "bn_scale"),
    weight("bn_bias", 16), weight("bn_mean", 16, scale=0.1),
    numpy_helper.from_array(rng.uniform(0.5, 2.0, 16).astype(np.float32), "bn_var"),
    weight("fc_w", 10, 16), weight("fc_b", 10),
]
nodes = [
    helper.make_node("Conv", ["input", "conv1_w", "conv1_b"], ["c1"], name="conv1",
                     kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
    helper.make_node("Relu", ["c1"], ["r1"], name="relu1"),
    helper.make_node("MaxPool", ["r1"], ["p1"], name="pool1", kernel_shape=[2, 2], strides=[2, 2]),
    helper.make_node("Conv", ["p1", "conv2_w", "conv2_b"], ["c2"], name="conv2",
                     kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
    helper.make_node("BatchNormalization", ["c2", "bn_scale", "bn_bias", "bn_mean", "bn_var"],
                     ["b2"], name="bn2"),
    helper.make_node("Relu", ["b2"], ["r2"], name="relu2"),
    helper.make_node("GlobalAveragePool", ["r2"], ["g"], name="gap"),
    helper.make_node("Flatten", ["g"], ["f"], name="flatten"),
    helper.make_node("Gemm", ["f", "fc_w", "fc_b"], ["logits"], name="fc", transB=1),
    helper.make_node("Softmax", ["logits"], ["probs"], name="softmax", axis=1),
]
graph = helper.make_graph(
    nodes, "tiny_cnn",
    [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["batch", 3, 32, 32])],
    [helper.make_tensor_value_info("probs", TensorProto.FLOAT, ["batch", 10])],
    inits)
model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)],
                          producer_name="eave-demo")
model.ir_version = 8
onnx.checker.check_model(model)
onnx.save(model, os.path.join(here, "tiny_cnn.onnx"))
np.save(os.path.join(here, "tiny_cnn_input.npy"),
        rng.standard_normal((1, 3, 32, 32)).astype(np.float32))
print("wrote", os.path.join(here, "tiny_cnn.onnx"))
