#!/usr/bin/python3
"""Hello, eave: an ONNX file in, a numpy result out, with the public Python API only.

    make && PYTHONPATH=build/python /usr/bin/python3 examples/hello.py [MODEL.onnx]

Compiles the model for this machine, runs it once on seeded random inputs, prints the outputs
and checks them against the reference interpreter. (The default model, examples/models/mlp.onnx,
is made by scripts/make-mlp-model.py.)"""
import os
import sys

import numpy as np

import eave

path = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "models", "mlp.onnx")
model = eave.compile(path)          # ONNX -> native code for this CPU, in memory
print(model)
inputs = model.random_inputs()      # seeded, the right shapes and dtypes
outputs = model(**inputs)           # numpy in, numpy out
for info, y in zip(model.outputs, outputs if isinstance(outputs, list) else [outputs]):
    print(f"{info.name}: {y.dtype}{list(y.shape)} {np.array2string(y.ravel()[:6], precision=4)}")

report = eave.compare(path, inputs)  # every intermediate value against the reference interpreter
print("agrees with the reference interpreter" if report.ok else report)
sys.exit(0 if report.ok else 1)
