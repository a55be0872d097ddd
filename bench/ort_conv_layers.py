#!/usr/bin/python3
"""ONNX Runtime on the layers of bench/layer_bench.cc, for the comparison with eave's kernels.

Writes one single-op ONNX model per layer (seeded weights, bias) and its input under a work
directory, runs `node tools/ort_run.js MODEL --input x=X.npy --bench RUNS --threads 1` on each
and prints ORT's median time and the GFLOP/s it means (pools: window taps/s).

    /usr/bin/python3 bench/ort_conv_layers.py [--runs 200] [--filter SUBSTRING] [--dir DIR]

ORT times whole sessions' Run() calls by wall clock (its own overhead included, a few us); on a
shared machine compare medians taken close together in time, and prefer several runs.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

# name, C, H, W, M, groups, K, stride, pad, pool   (the layers of layer_bench.cc)
LAYERS = [
    ("r18.conv1 7x7/2 3->64 224", 3, 224, 224, 64, 1, 7, 2, 3, False),
    ("r18.maxpool 3x3/2 64 112", 64, 112, 112, 64, 1, 3, 2, 1, True),
    ("r18.l1 3x3 64->64 56", 64, 56, 56, 64, 1, 3, 1, 1, False),
    ("r18.l2.0 3x3/2 64->128 56", 64, 56, 56, 128, 1, 3, 2, 1, False),
    ("r18.l2.ds 1x1/2 64->128 56", 64, 56, 56, 128, 1, 1, 2, 0, False),
    ("r18.l2 3x3 128->128 28", 128, 28, 28, 128, 1, 3, 1, 1, False),
    ("r18.l3 3x3 256->256 14", 256, 14, 14, 256, 1, 3, 1, 1, False),
    ("r18.l4 3x3 512->512 7", 512, 7, 7, 512, 1, 3, 1, 1, False),
    ("r50 1x1 64->256 56", 64, 56, 56, 256, 1, 1, 1, 0, False),
    ("r50 1x1 256->64 56", 256, 56, 56, 64, 1, 1, 1, 0, False),
    ("r50 1x1/2 256->512 56", 256, 56, 56, 512, 1, 1, 2, 0, False),
    ("r50 1x1 512->128 28", 512, 28, 28, 128, 1, 1, 1, 0, False),
    ("r50 1x1 1024->256 14", 1024, 14, 14, 256, 1, 1, 1, 0, False),
    ("r50 1x1 2048->512 7", 2048, 7, 7, 512, 1, 1, 1, 0, False),
    ("mv2 dw 3x3 32 112", 32, 112, 112, 32, 32, 3, 1, 1, False),
    ("mv2 dw 3x3/2 96 112", 96, 112, 112, 96, 96, 3, 2, 1, False),
    ("mv2 dw 3x3 144 56", 144, 56, 56, 144, 144, 3, 1, 1, False),
    ("mv2 dw 3x3 576 14", 576, 14, 14, 576, 576, 3, 1, 1, False),
    ("mv2 dw 3x3 960 7", 960, 7, 7, 960, 960, 3, 1, 1, False),
    ("mv2 pw 1x1 144->24 56", 144, 56, 56, 24, 1, 1, 1, 0, False),
    ("mv2 pw 1x1 24->144 56", 24, 56, 56, 144, 1, 1, 1, 0, False),
    ("mv2 pw 1x1 960->160 7", 960, 7, 7, 160, 1, 1, 1, 0, False),
]


def layer_model(c, h, w, m, groups, k, stride, pad, pool):
    rng = np.random.default_rng(1)
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, c, h, w])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, None)
    attrs = dict(kernel_shape=[k, k], strides=[stride, stride], pads=[pad] * 4)
    inits = []
    if pool:
        node = helper.make_node("MaxPool", ["x"], ["y"], **attrs)
    else:
        wt = rng.uniform(-1, 1, (m, c // groups, k, k)).astype(np.float32)
        b = rng.uniform(-1, 1, (m,)).astype(np.float32)
        inits = [numpy_helper.from_array(wt, "w"), numpy_helper.from_array(b, "b")]
        node = helper.make_node("Conv", ["x", "w", "b"], ["y"], group=groups, **attrs)
    graph = helper.make_graph([node], "layer", [x], [y], inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=200)
    ap.add_argument("--filter", default="")
    ap.add_argument("--dir", default=None)
    args = ap.parse_args()
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    work = args.dir or tempfile.mkdtemp(prefix="ort_layers_")
    os.makedirs(work, exist_ok=True)
    for name, c, h, w, m, groups, k, stride, pad, pool in LAYERS:
        if args.filter not in name:
            continue
        tag = "".join(ch if ch.isalnum() else "_" for ch in name)
        model_path = os.path.join(work, tag + ".onnx")
        x_path = os.path.join(work, tag + "_x.npy")
        onnx.save(layer_model(c, h, w, m, groups, k, stride, pad, pool), model_path)
        np.save(x_path, np.random.default_rng(2).uniform(-1, 1, (1, c, h, w)).astype(np.float32))
        out = subprocess.run(["node", os.path.join(root, "tools/ort_run.js"), model_path,
                              "--input", "x=" + x_path, "--bench", str(args.runs), "--threads", "1"],
                             capture_output=True, text=True)
        if out.returncode != 0:
            print(f"{name}: ort_run failed: {out.stderr.strip()}", file=sys.stderr)
            continue
        r = json.loads(out.stdout.strip().splitlines()[-1])
        oh = (h + 2 * pad - k) // stride + 1
        ow = (w + 2 * pad - k) // stride + 1
        flops = (1.0 if pool else 2.0) * m * oh * ow * (1 if pool else c // groups) * k * k
        print(f"{name:30s} ORT median {r['median_ms'] * 1e3:9.1f} us  min {r['min_ms'] * 1e3:9.1f} us"
              f"  GFLOP/s median {flops / (r['median_ms'] * 1e-3) * 1e-9:7.1f}"
              f" best {flops / (r['min_ms'] * 1e-3) * 1e-9:7.1f}")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
