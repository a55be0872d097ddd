"""eave.compile and eave.compare: turn the Python arguments into ONNX bytes and the CLI's option
spellings, and call the compiler extension (eave._compiler, imported here and only here)."""
import os
import sys
from collections.abc import Mapping, Sequence

import numpy as np

from eave import _compiler
from eave._errors import Error
from eave.runtime import load_bytes

__all__ = ["compile", "compare", "CompareReport"]


def _is_torch_module(model):
    torch = sys.modules.get("torch")  # a module can only exist if torch is imported
    return torch is not None and isinstance(model, torch.nn.Module)


def _shape_of(value):
    """The shape of an example input (numpy array, torch tensor or nested lists)."""
    shape = getattr(value, "shape", None)
    if shape is None:
        shape = np.asarray(value).shape
    return tuple(int(d) for d in shape)


def _dims_spec(name, dims):
    """An input shape as `--input-shape` spells it ("1,3,224,224"; names stay symbolic)."""
    if isinstance(dims, str):
        return dims
    if not isinstance(dims, Sequence):
        raise Error(f"input_shapes for '{name}': expected a sequence of dims or a string like "
                    f"'1x3x224x224', got {dims!r}")
    parts = []
    for d in dims:
        if isinstance(d, (int, np.integer)) and not isinstance(d, bool):
            parts.append(str(int(d)))
        elif isinstance(d, str) and d:
            parts.append(d)
        else:
            raise Error(f"input_shapes for '{name}': a dim must be a size or a name, got {d!r}")
    return ",".join(parts)


def _bound_spec(name, bound):
    """A dim bound as `--dim-bound` spells it: 16 -> "16", (1, 512) -> "1..512"."""
    if isinstance(bound, str):
        return bound
    if isinstance(bound, Sequence) and len(bound) == 2:
        return f"{int(bound[0])}..{int(bound[1])}"
    if isinstance(bound, (int, np.integer)):
        return str(int(bound))
    raise Error(f"dim_bounds for '{name}': expected MAX, (MIN, MAX) or 'MIN..MAX', got {bound!r}")


def _onnx_source(model, export_args):
    """(a path or ONNX bytes, directory for external data) for any model argument."""
    if isinstance(model, (str, os.PathLike)):
        # The compiler reads the file itself, as `eave compile` does (same errors).
        path = os.fspath(model)
        return path, os.path.dirname(os.path.abspath(path))
    if isinstance(model, (bytes, bytearray, memoryview)):
        return bytes(model), ""
    if type(model).__name__ == "ModelProto" and hasattr(model, "SerializeToString"):
        return model.SerializeToString(), ""
    if _is_torch_module(model):
        from eave import _torch
        return _torch.export(model, **export_args), ""
    raise TypeError("eave.compile takes a path to an ONNX file, ONNX bytes, an onnx.ModelProto "
                    f"or a torch.nn.Module, not {type(model).__name__}")


def _flags(source, base_dir, target, cpu, precision, input_shapes, dim_bounds, example_inputs,
           from_torch):
    """The CLI's compile flags for these arguments."""
    shapes = {}
    if example_inputs is not None and not from_torch:
        # For an ONNX model, example inputs fix the input shapes (dynamic_dims still apply).
        if isinstance(example_inputs, Mapping):
            named = dict(example_inputs)
        else:
            if not isinstance(example_inputs, (list, tuple)):
                example_inputs = [example_inputs]
            names = _compiler.input_names(source, base_dir)
            named = dict(zip(names, example_inputs))
        shapes.update({k: _shape_of(v) for k, v in named.items()})
    if input_shapes and not from_torch:
        shapes.update(input_shapes)
    return {
        "target": target,
        "cpu": cpu or "",
        "precision": precision,
        "input_shapes": [f"{k}={_dims_spec(k, v)}" for k, v in shapes.items()],
        "dim_bounds": [f"{k}={_bound_spec(k, v)}" for k, v in (dim_bounds or {}).items()],
    }


def _dynamic(dynamic_dims):
    out = {}
    for name, axes in (dynamic_dims or {}).items():
        if not isinstance(axes, Mapping):
            raise Error(f"dynamic_dims for '{name}': expected {{axis: 'name'}}, got {axes!r}")
        out[name] = {int(a): str(s) for a, s in axes.items()}
    return out


def _prepare(model, *, target, cpu, precision, input_shapes, dim_bounds, dynamic_dims,
             example_inputs, input_names, output_names, opset):
    """(source, base_dir, CLI flags, dynamic dims still to apply) for the compiler."""
    from_torch = _is_torch_module(model)
    source, base_dir = _onnx_source(model, dict(
        example_inputs=example_inputs, input_shapes=input_shapes, dynamic_dims=dynamic_dims,
        input_names=input_names, output_names=output_names, opset=opset))
    flags = _flags(source, base_dir, target, cpu, precision, input_shapes, dim_bounds,
                   example_inputs, from_torch)
    # A torch export carries its dynamic axes already; for ONNX they are applied when compiling.
    return source, base_dir, flags, {} if from_torch else _dynamic(dynamic_dims)


def compile(model, *, threads, **options):
    source, base_dir, flags, dynamic = _prepare(model, **options)
    # A model for another target can still be saved: it loads for inspection only.
    return load_bytes(_compiler.compile(source, base_dir, flags, dynamic), threads=threads,
                      foreign_ok=True)


class CompareReport:
    """What eave.compare found: `rows` (a dict per value: value, node, op, dtype, shape,
    compared, within_tolerance, max_abs_error, rel_error, cosine, snr_db, note), `first_over`
    (the first row over tolerance, or None) and `ok`. str() gives the CLI's table."""

    def __init__(self, result):
        self.against = result["against"]
        self.granularity = result["granularity"]
        self.rows = result["rows"]
        index = result["first_over"]
        self.first_over = None if index is None else self.rows[index]
        self.first_over_index = index
        self._table = result["table"]
        self._json = result["json"]

    @property
    def ok(self):
        """True when every compared value is within tolerance."""
        return self.first_over is None

    def to_json(self):
        return self._json

    def __str__(self):
        return self._table

    def __repr__(self):
        state = "ok" if self.ok else f"first over tolerance: {self.first_over['value']!r}"
        return f"<eave.CompareReport {len(self.rows)} values against {self.against}, {state}>"


def compare(model, inputs, *, against, granularity, json, threads, dims, seed, **options):
    source, base_dir, flags, dynamic = _prepare(model, dynamic_dims=None, **options)
    arrays = {}
    for name, value in (inputs or {}).items():
        if hasattr(value, "detach"):  # a torch tensor
            value = value.detach().cpu().numpy()
        arrays[name] = np.ascontiguousarray(np.asarray(value))
    result = _compiler.compare(source, base_dir, flags, dynamic, arrays, against, granularity,
                               {k: int(v) for k, v in (dims or {}).items()}, int(seed),
                               int(threads))
    report = CompareReport(result)
    if json is not None:
        with open(os.fspath(json), "w") as f:
            f.write(report.to_json())
    return report
