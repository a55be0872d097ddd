"""eave.runtime: load and run compiled .eave artifacts with the C runtime alone.

This module and its extension (eave._runtime) link nothing from the compiler, MLIR or LLVM:

    import eave.runtime
    m = eave.runtime.load("model.eave", threads=2)
    y = m(x)

Inputs are numpy arrays (or anything numpy.asarray takes, or torch tensors), positional in the
model's input order or by name; the result is one array, or a list when the model has several
outputs. Torch tensors in give torch tensors out.
"""
import os
import shutil
import sys
from typing import NamedTuple, Tuple, Union

import numpy as np

from eave import _runtime
from eave._errors import Error

__all__ = ["Model", "TensorInfo", "load", "load_bytes"]


class TensorInfo(NamedTuple):
    """A model input or output: its name, numpy dtype and shape. A dynamic dim is the name of
    its symbol ("batch"); bf16 values are exchanged as their uint16 bits."""
    name: str
    dtype: np.dtype
    shape: Tuple[Union[int, str, None], ...]


def _is_torch_tensor(x):
    torch = sys.modules.get("torch")
    return torch is not None and isinstance(x, torch.Tensor)


class Model:
    """A loaded artifact with a session to run it. Calls from several threads are safe (they
    run one at a time on the session); the GIL is released while the model runs."""

    def __init__(self, native, threads=1, path=None):
        self._native = native
        self._threads = threads
        self._path = path  # None when loaded from bytes (the native model holds them)
        self._session = None if native.foreign else _runtime.NativeSession(native, threads)
        self.inputs = [TensorInfo(n, d, tuple(s)) for n, d, s, _ in native.inputs()]
        self.outputs = [TensorInfo(n, d, tuple(s)) for n, d, s, _ in native.outputs()]

    @property
    def threads(self):
        """Threads that run kernel tiles in calls (0: one per CPU)."""
        return self._threads

    @property
    def target(self):
        """The target triple the model was compiled for ("x86_64-unknown-linux-gnu")."""
        return self._native.target

    @property
    def runnable(self):
        """False for a model compiled for another architecture or CPU: it can be saved (and
        inspected), and runs where its target does."""
        return not self._native.foreign

    def _check_runnable(self):
        if self._native.foreign:
            raise Error(f"this model was compiled for {self.target} and cannot run here "
                        f"({self._native.foreign}); save it with .save() and run it on its target")

    @property
    def arena_bytes(self):
        """The activation memory the compiler planned for the nominal shapes."""
        return self._native.arena_bytes

    def __repr__(self):
        def fmt(infos):
            return ", ".join(f"{i.name}: {np.dtype(i.dtype).name}"
                             f"[{','.join(str(d) for d in i.shape)}]" for i in infos)
        return f"<eave.Model ({fmt(self.inputs)}) -> ({fmt(self.outputs)})>"

    def _named_inputs(self, args, kwargs):
        """The call's inputs by name, and whether any was a torch tensor."""
        if len(args) == 1 and isinstance(args[0], dict) and not kwargs:
            kwargs, args = args[0], ()
        if len(args) > len(self.inputs):
            names = ", ".join(f"'{i.name}'" for i in self.inputs)
            raise Error(f"got {len(args)} positional inputs, but the model has "
                        f"{len(self.inputs)} (its inputs: {names})")
        named = {}
        for info, value in zip(self.inputs, args):
            named[info.name] = value
        for name, value in kwargs.items():
            if name in named:
                raise Error(f"input '{name}' is given twice (positionally and by name)")
            named[name] = value
        expected = {i.name: i for i in self.inputs}
        arrays, torch_in = {}, False
        for name, value in named.items():
            if _is_torch_tensor(value):
                torch_in = True
                value = value.detach().cpu().contiguous().numpy()
            elif not isinstance(value, np.ndarray):
                # Python numbers and lists take the input's element type; arrays must match it
                # (a wrong dtype is an error, as in the CLI).
                info = expected.get(name)
                value = np.asarray(value, dtype=info.dtype if info else None)
            arrays[name] = np.ascontiguousarray(value)
        return arrays, torch_in

    def run(self, inputs):
        """Runs on a dict of inputs; returns a dict of outputs by name (numpy arrays)."""
        self._check_runnable()
        arrays, _ = self._named_inputs((), dict(inputs))
        outs = self._session.run(arrays)
        return {info.name: y for info, y in zip(self.outputs, outs)}

    def __call__(self, *args, **kwargs):
        self._check_runnable()
        arrays, torch_in = self._named_inputs(args, kwargs)
        outs = self._session.run(arrays)
        if torch_in:
            import torch
            outs = [torch.from_numpy(y) for y in outs]
        return outs[0] if len(outs) == 1 else outs

    def random_inputs(self, dims=None, seed=42):
        """Seeded random inputs for the signature, like `eave bench`'s: floats in [-1, 1),
        integers in [0, 8), random bools, strings of one digit; dynamic dims take dims[name]
        (default 1)."""
        dims = dims or {}
        rng = np.random.default_rng(seed)
        out = {}
        for info in self.inputs:
            shape = tuple(d if isinstance(d, int) else int(dims.get(d, 1)) for d in info.shape)
            dtype = np.dtype(info.dtype)
            if dtype.kind == "f":
                x = rng.uniform(-1.0, 1.0, size=shape)
            elif dtype.kind == "b":
                x = rng.integers(0, 2, size=shape)
            elif dtype.kind == "O":  # strings: digits, as the CLI's random inputs
                x = rng.integers(0, 8, size=shape).astype(str)
            else:
                x = rng.integers(0, 8, size=shape)
            out[info.name] = np.asarray(x, dtype=dtype)
        return out

    def benchmark(self, threads=None, runs=50, warmup=5, inputs=None, dims=None):
        """Times the model as `eave bench` does and returns the same figures: median_ms,
        p90_ms, min_ms, peak_rss_mb (this process), arena_bytes, plus threads and runs.
        Inputs default to seeded random ones (dynamic dims from `dims`, default 1)."""
        self._check_runnable()
        threads = self._threads if threads is None else threads
        if inputs is None:
            arrays = self.random_inputs(dims)
        else:
            arrays, _ = self._named_inputs((), dict(inputs))
        session = (self._session if threads == self._threads
                   else _runtime.NativeSession(self._native, threads))
        return session.benchmark(arrays, runs, warmup)

    def to_bytes(self):
        """The artifact's bytes."""
        if self._path is None:
            return self._native.to_bytes()
        with open(self._path, "rb") as f:
            return f.read()

    def save(self, path):
        """Writes the artifact to `path` (a .eave file that eave.load and `eave run` take)."""
        path = os.fspath(path)
        if self._path is None:
            with open(path, "wb") as f:
                f.write(self._native.to_bytes())
        elif os.path.abspath(path) != os.path.abspath(self._path):
            shutil.copyfile(self._path, path)


def load(path, threads=1):
    """Loads a .eave artifact (memory-mapped; weights are not copied)."""
    path = os.fspath(path)
    return Model(_runtime.NativeModel.load_file(path), threads, path=path)


def load_bytes(data, threads=1, foreign_ok=False):
    """Loads an artifact from bytes (copied). With `foreign_ok`, an artifact for another
    architecture or CPU loads too, for saving and inspection (Model.runnable is False)."""
    return Model(_runtime.NativeModel.load_bytes(bytes(data), foreign_ok), threads)
