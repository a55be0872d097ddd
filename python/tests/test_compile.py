"""eave.compile on ONNX models (path, bytes, ModelProto): results, options that mirror the CLI
flags, errors with the CLI's messages, and the lazy import of the compiler."""
import subprocess
import sys

import numpy as np
import onnx
import pytest

from conftest import cli_error, make_mlp, mlp_expected, run_eave

import eave

X = np.random.default_rng(3).standard_normal((2, 8)).astype(np.float32)


def test_import_eave_leaves_the_compiler_unloaded():
    p = subprocess.run([sys.executable, "-c",
                        "import sys, eave; print('eave._compiler' in sys.modules)"],
                       capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    assert p.stdout.strip() == "False"


def test_compile_from_path_bytes_and_model_proto(models):
    proto = onnx.load(models["mlp"])
    for source in (models["mlp"], proto.SerializeToString(), proto):
        m = eave.compile(source)
        np.testing.assert_allclose(m(X), mlp_expected(X), rtol=1e-5, atol=1e-5)
        assert [i.name for i in m.inputs] == ["x"] and [o.name for o in m.outputs] == ["y"]


def test_compiled_model_saves_an_artifact_the_cli_runs(models, tmp_path):
    m = eave.compile(models["mlp"], threads=2)
    assert m.threads == 2
    path = tmp_path / "mlp.eave"
    m.save(path)
    np.save(tmp_path / "x.npy", X)
    code, out, err = run_eave("run", path, "--input", f"x={tmp_path / 'x.npy'}", "--output-dir",
                              tmp_path / "out")
    assert code == 0, err
    np.testing.assert_allclose(np.load(tmp_path / "out" / "y.npy"), m(X), rtol=1e-6)
    np.testing.assert_array_equal(eave.load(path)(X), m(X))


def test_dynamic_dims_make_an_axis_symbolic(models):
    m = eave.compile(models["mlp"], dynamic_dims={"x": {0: "batch"}})
    assert m.inputs[0].shape == ("batch", 8)
    x = np.random.default_rng(1).standard_normal((5, 8)).astype(np.float32)
    np.testing.assert_allclose(m(x), mlp_expected(x), rtol=1e-4, atol=1e-4)


def test_input_shapes_and_dim_bounds_mirror_the_cli(models):
    m = eave.compile(models["mlp_batch"], input_shapes={"x": ("n", 8)}, dim_bounds={"n": (1, 4)})
    assert m.inputs[0].shape == ("n", 8)
    m(np.ones((4, 8), np.float32))
    with pytest.raises(eave.Error, match=r"axis 0 is 5, outside the bounds \[1, 4\] of symbol .n."):
        m(np.ones((5, 8), np.float32))
    fixed = eave.compile(models["mlp_batch"], input_shapes={"x": "3x8"})
    assert fixed.inputs[0].shape == (3, 8)


def test_example_inputs_fix_an_onnx_models_shapes(models):
    m = eave.compile(models["mlp_batch"], example_inputs=[np.ones((3, 8), np.float32)])
    assert m.inputs[0].shape == (3, 8)
    m = eave.compile(models["mlp_batch"], example_inputs={"x": np.ones((6, 8), np.float32)})
    assert m.inputs[0].shape == (6, 8)


@pytest.mark.parametrize("kwargs,flags", [
    ({"precision": "int8"}, ["--precision", "int8"]),
    ({"target": "sparc"}, ["--target", "sparc"]),
    ({"input_shapes": {"nope": (1, 8)}}, ["--input-shape", "nope=1,8"]),
    ({"input_shapes": {"x": (3, 8)}}, ["--input-shape", "x=3,8"]),
    ({"dim_bounds": {"batch": "5..2"}}, ["--dim-bound", "batch=5..2"]),
])
def test_option_errors_are_the_cli_errors(models, kwargs, flags, tmp_path):
    with pytest.raises(eave.Error) as e:
        eave.compile(models["mlp"], **kwargs)
    assert str(e.value) == cli_error("compile", models["mlp"], "-o", tmp_path / "m.eave", *flags)


def test_precision_names_what_is_supported(models):
    with pytest.raises(eave.Error, match="precision 'int8' is not supported yet: fp32 is the only"):
        eave.compile(models["mlp"], precision="int8")


def test_model_errors_are_the_cli_errors(models, tmp_path):
    with pytest.raises(eave.Error) as e:
        eave.compile(models["unknown_op"])
    assert "unknown op 'FrobnicateTensor'" in str(e.value)
    assert str(e.value) == cli_error("compile", models["unknown_op"], "-o", tmp_path / "u.eave")
    garbage = tmp_path / "garbage.onnx"
    garbage.write_bytes(b"\x08\x07 certainly not protobuf \xff\xff")
    with pytest.raises(eave.Error) as e:
        eave.compile(str(garbage))
    assert str(e.value) == cli_error("compile", garbage, "-o", tmp_path / "g.eave")
    with pytest.raises(eave.Error) as e:
        eave.compile(str(tmp_path / "missing.onnx"))
    missing = tmp_path / "missing.onnx"
    assert str(e.value) == cli_error("compile", missing, "-o", tmp_path / "x.eave")
    with pytest.raises(TypeError, match="takes a path to an ONNX file"):
        eave.compile(42)


def test_dynamic_dims_errors(models):
    with pytest.raises(eave.Error, match="dynamic_dims names 'z', which is not an input"):
        eave.compile(models["mlp"], dynamic_dims={"z": {0: "batch"}})
    with pytest.raises(eave.Error, match="axis 2 is out of range for rank 2"):
        eave.compile(models["mlp"], dynamic_dims={"x": {2: "batch"}})


def test_in_memory_model_proto_with_names_kept():
    proto = make_mlp(batch=1)
    m = eave.compile(proto)
    y = m(X[:1])
    np.testing.assert_allclose(y, mlp_expected(X[:1]), rtol=1e-5, atol=1e-5)


def test_outputs_keep_their_names_through_the_graph_passes(models):
    """BatchNorm folded into the Gemm that feeds the model's output: the output is still 'y'."""
    m = eave.compile(models["gemm_bn"])
    assert [o.name for o in m.outputs] == ["y"]
    assert m.run({"x": np.ones((3, 4), np.float32)})["y"].shape == (3, 6)


def test_a_model_for_another_target_saves_but_does_not_run(models, tmp_path):
    m = eave.compile(models["mlp"], target="aarch64", cpu="neoverse-n1")
    assert m.target.startswith("aarch64") and not m.runnable
    assert [i.name for i in m.inputs] == ["x"]
    with pytest.raises(eave.Error, match="compiled for aarch64.*cannot run here"):
        m(X)
    m.save(tmp_path / "arm.eave")
    code, out, err = run_eave("inspect", tmp_path / "arm.eave")
    assert code == 0 and "aarch64" in out, err
