"""eave: compile ONNX and PyTorch models to native code and run them with a small C runtime.

    import eave
    m = eave.compile("model.onnx")          # or bytes, an onnx.ModelProto, a torch.nn.Module
    y = m(x)                                # numpy in, numpy out
    m.save("model.eave")
    m = eave.load("model.eave")             # the runtime alone: eave.runtime.load

``import eave`` and ``import eave.runtime`` load only the runtime; the compiler (with MLIR and
LLVM) is imported the first time eave.compile or eave.compare is called.
"""
from eave._errors import Error, InternalError
from eave._version import __version__
from eave.runtime import Model, TensorInfo, load, load_bytes

__all__ = ["Error", "InternalError", "Model", "TensorInfo", "compile", "compare", "load",
           "load_bytes", "__version__"]


def compile(model, *, target="host", cpu=None, precision="fp32", threads=1, input_shapes=None,
            dynamic_dims=None, dim_bounds=None, example_inputs=None, input_names=None,
            output_names=None, opset=17):
    """Compiles a model into a runnable Model (see docs/python.md).

    model: a path to an ONNX file, ONNX bytes, an onnx.ModelProto or a torch.nn.Module
        (exported in memory with torch.onnx.export at `opset`).
    target, cpu, precision: as `eave compile --target/--cpu/--precision` ("fp32" only today).
    threads: threads the returned Model runs with (as `eave run --threads`; 0: all CPUs).
    input_shapes: {"x": (1, 3, 224, 224)}; a str dim names a symbolic dim ("batch"), a string
        spec is taken as the CLI spells it ("1x3x224x224").
    dynamic_dims: {"x": {0: "batch"}}: make those input axes symbolic.
    dim_bounds: {"batch": 16} or {"seq": (1, 512)}: as --dim-bound.
    example_inputs: a tensor, a sequence or a dict: the inputs a torch module is traced with;
        for ONNX models they fix the input shapes.
    input_names, output_names: for torch modules (default: forward's parameter names, and
        "output" or "output_0", "output_1", ...).
    """
    from eave import _compile
    return _compile.compile(model, target=target, cpu=cpu, precision=precision,
                            threads=threads, input_shapes=input_shapes,
                            dynamic_dims=dynamic_dims, dim_bounds=dim_bounds,
                            example_inputs=example_inputs, input_names=input_names,
                            output_names=output_names, opset=opset)


def compare(model, inputs=None, *, against="reference", granularity="dispatch", json=None,
            target="host", cpu=None, precision="fp32", threads=1, input_shapes=None,
            dim_bounds=None, dims=None, seed=42, example_inputs=None, input_names=None,
            output_names=None, opset=17):
    """Compiles `model` with its intermediate values exposed and compares each with the
    reference interpreter (against="reference") or ONNX Runtime ("onnxruntime"), as
    `eave compare`. Returns a CompareReport; print it for the table. `inputs` (a dict, like
    the Model call's) default to seeded random ones; `json` also writes the rows to a file."""
    from eave import _compile
    return _compile.compare(model, inputs, against=against, granularity=granularity,
                            json=json, target=target, cpu=cpu, precision=precision,
                            threads=threads, input_shapes=input_shapes, dim_bounds=dim_bounds,
                            dims=dims, seed=seed, example_inputs=example_inputs,
                            input_names=input_names, output_names=output_names, opset=opset)
