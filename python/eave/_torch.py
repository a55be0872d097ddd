"""PyTorch modules to ONNX bytes, in memory, with torch.onnx.export: the front door of
eave.compile for torch.nn.Module. Input and output names are kept (forward's parameter names,
and "output" / "output_N" unless given), dynamic_dims become dynamic axes, and an export
failure is an eave.Error that names the PyTorch op at fault."""
import inspect
import io
import re
import warnings
from collections.abc import Mapping

import torch

from eave._errors import Error

# Op names in torch.onnx's error messages: "aten::fft_rfft", "prim::PythonOp", "onnx::...".
_OP = re.compile(r"\b((?:aten|prim|quantized|torchvision|onnx)::[A-Za-z0-9_.]+)")


def _forward_parameters(module):
    """Names of forward's positional parameters ("*args" gives input_0, input_1, ...)."""
    names = []
    for p in inspect.signature(module.forward).parameters.values():
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD):
            names.append(p.name)
        elif p.kind == p.VAR_POSITIONAL:
            names.append(None)
            break
    return names


def _example_args(module, example_inputs, input_shapes):
    """Positional example tensors for tracing, with forward's names for them."""
    params = _forward_parameters(module)

    def name(i):
        if i < len(params) and params[i] is not None:
            return params[i]
        return f"input_{i}"

    if example_inputs is None:
        if not input_shapes:
            raise Error("compiling a torch.nn.Module needs example_inputs (the tensors to trace "
                        "it with) or input_shapes")
        example_inputs = {}
        for k, dims in input_shapes.items():
            if not all(isinstance(d, int) for d in dims):
                raise Error(f"input_shapes for '{k}': a torch module is traced with concrete "
                            "sizes; name dynamic dims with dynamic_dims instead")
            example_inputs[k] = torch.randn(*dims)
    if isinstance(example_inputs, torch.Tensor):
        example_inputs = (example_inputs,)
    if isinstance(example_inputs, Mapping):
        known = [p for p in params if p is not None]
        unknown = [k for k in example_inputs if k not in known]
        if unknown:
            raise Error(f"example_inputs names '{unknown[0]}', which is not a parameter of "
                        f"{type(module).__name__}.forward (its parameters: {', '.join(known)})")
        ordered = [p for p in known if p in example_inputs]
        gaps = [p for p in known[:len(ordered)] if p not in example_inputs]
        if gaps:
            raise Error(f"example_inputs leaves out '{gaps[0]}', which comes before parameters "
                        f"it gives in {type(module).__name__}.forward")
        return tuple(example_inputs[p] for p in ordered), ordered
    args = tuple(torch.as_tensor(x) if not isinstance(x, torch.Tensor) else x
                 for x in example_inputs)
    return args, [name(i) for i in range(len(args))]


def _output_names(module, args):
    """"output" for one tensor, "output_N" for a tuple/list, the keys of a dict, the fields of a
    named tuple (in the order torch.onnx flattens them)."""
    with torch.no_grad():
        out = module(*args)
    if isinstance(out, torch.Tensor):
        return ["output"]
    if isinstance(out, Mapping):
        return [str(k) for k in out]
    if isinstance(out, tuple) and hasattr(out, "_fields"):
        return list(out._fields)
    if isinstance(out, (tuple, list)):
        return [f"output_{i}" for i in range(len(out))]
    return ["output"]


def export(module, *, example_inputs, input_shapes, dynamic_dims, input_names, output_names,
           opset):
    """The module as ONNX bytes."""
    args, names = _example_args(module, example_inputs, input_shapes)
    input_names = list(input_names) if input_names else names
    was_training = module.training
    module.eval()
    try:
        output_names = list(output_names) if output_names else _output_names(module, args)
        for k in dynamic_dims or {}:
            if k not in input_names and k not in output_names:
                raise Error(f"dynamic_dims names '{k}', which is neither an input nor an output "
                            f"(inputs: {', '.join(input_names)}; outputs: "
                            f"{', '.join(output_names)})")
        f = io.BytesIO()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # tracer warnings are noise here
            try:
                torch.onnx.export(module, args, f, input_names=input_names,
                                  output_names=output_names,
                                  dynamic_axes={k: dict(v)
                                                for k, v in (dynamic_dims or {}).items()},
                                  opset_version=opset, do_constant_folding=True)
            except Exception as e:  # torch.onnx raises many kinds; all end up here
                message = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
                op = _OP.search(str(e))
                if op:
                    raise Error(f"cannot export {type(module).__name__} to ONNX (opset {opset}): "
                                f"PyTorch op '{op.group(1)}' is not supported by torch.onnx. "
                                f"{message}") from e
                raise Error(f"cannot export {type(module).__name__} to ONNX (opset {opset}): "
                            f"{type(e).__name__}: {message}") from e
    finally:
        module.train(was_training)
    return f.getvalue()
