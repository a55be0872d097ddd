"""eave.runtime: loading and running artifacts with the runtime extension alone, the signature,
calls, errors with the CLI's messages, threads, benchmark, save and load."""
import subprocess
import sys
import threading

import numpy as np
import pytest

from conftest import EAVE, cli_error, mlp_expected, run_eave

import eave
import eave.runtime


@pytest.fixture(scope="module")
def artifacts(models, tmp_path_factory):
    """The test models compiled by the CLI."""
    d = tmp_path_factory.mktemp("artifacts")
    out = {}
    for name in ("mlp", "mlp_batch", "two_outputs"):
        path = d / f"{name}.eave"
        code, stdout, stderr = run_eave("compile", models[name], "-o", path)
        assert code == 0, stderr
        out[name] = str(path)
    return out


def test_runtime_alone_loads_no_compiler(artifacts):
    """import eave.runtime runs an artifact without the compiler, MLIR or LLVM in the process."""
    script = f"""
import sys, numpy as np
import eave.runtime
m = eave.runtime.load({artifacts['mlp']!r})
y = m(np.ones((2, 8), np.float32))
assert y.shape == (2, 4), y.shape
assert "eave._compiler" not in sys.modules
maps = open("/proc/self/maps").read()
assert "libLLVM" not in maps and "libMLIR" not in maps, "the compiler's libraries are loaded"
print("runtime only: OK")
"""
    p = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    assert "runtime only: OK" in p.stdout


def test_signature_names_dtypes_and_symbolic_dims(artifacts):
    m = eave.runtime.load(artifacts["mlp_batch"])
    assert m.inputs == [eave.TensorInfo("x", np.dtype("float32"), ("batch", 8))]
    assert m.outputs == [eave.TensorInfo("y", np.dtype("float32"), ("batch", 4))]
    assert "x: float32[batch,8]" in repr(m)


def test_call_positional_keyword_and_dict(artifacts):
    m = eave.load(artifacts["mlp"])
    x = np.linspace(-1, 1, 16, dtype=np.float32).reshape(2, 8)
    want = mlp_expected(x)
    for y in (m(x), m(x=x), m({"x": x}), m.run({"x": x})["y"]):
        np.testing.assert_allclose(y, want, rtol=1e-5, atol=1e-5)
    # Python lists take the input's dtype; non-contiguous arrays are fine.
    np.testing.assert_allclose(m(x.tolist()), want, rtol=1e-5, atol=1e-5)
    xt = np.asfortranarray(x)
    np.testing.assert_allclose(m(xt), want, rtol=1e-5, atol=1e-5)


def test_many_outputs_come_back_as_a_list(artifacts):
    m = eave.load(artifacts["two_outputs"])
    a = np.arange(15, dtype=np.float32).reshape(3, 5)
    b = np.full((3, 5), 2, np.float32)
    s, p = m(a, b)
    np.testing.assert_array_equal(s, a + b)
    np.testing.assert_array_equal(p, a * b)
    assert [o.name for o in m.outputs] == ["sum", "prod"]


def test_dynamic_batch(artifacts):
    m = eave.load(artifacts["mlp_batch"])
    for batch in (1, 5, 3):
        x = np.random.default_rng(batch).standard_normal((batch, 8)).astype(np.float32)
        np.testing.assert_allclose(m(x), mlp_expected(x), rtol=1e-4, atol=1e-4)


def npy(tmp_path, name, array):
    path = tmp_path / f"{name}.npy"
    np.save(path, array)
    return str(path)


def test_errors_carry_the_cli_messages(artifacts, tmp_path):
    m = eave.load(artifacts["mlp"])
    art = artifacts["mlp"]
    x = np.ones((2, 8), np.float32)
    cases = [
        # wrong input name
        (lambda: m(z=x), ["run", art, "--input", f"z={npy(tmp_path, 'z', x)}"]),
        # wrong dtype
        (lambda: m(x.astype(np.float64)),
         ["run", art, "--input", f"x={npy(tmp_path, 'x64', x.astype(np.float64))}"]),
        # wrong shape
        (lambda: m(np.ones((3, 8), np.float32)),
         ["run", art, "--input", f"x={npy(tmp_path, 'x38', np.ones((3, 8), np.float32))}"]),
        # missing input
        (lambda: m(), ["run", art]),
    ]
    for call, cli in cases:
        with pytest.raises(eave.Error) as e:
            call()
        assert str(e.value) == cli_error(*cli)
    assert "missing input 'x'" in cli_error("run", art)


def test_bad_artifact_is_an_error_naming_the_file(tmp_path):
    bad = tmp_path / "bad.eave"
    bad.write_bytes(b"EAVEMODL" + b"\0" * 100)
    with pytest.raises(eave.Error) as e:
        eave.load(bad)
    assert str(e.value) == cli_error("run", bad)
    assert str(bad) in str(e.value)
    with pytest.raises(eave.Error):
        eave.load_bytes(b"not an artifact")


def test_threads_and_concurrent_callers(artifacts):
    m = eave.load(artifacts["mlp_batch"], threads=2)
    assert m.threads == 2
    xs = [np.random.default_rng(i).standard_normal((4, 8)).astype(np.float32) for i in range(8)]
    results = [None] * len(xs)

    def work(i):
        for _ in range(20):
            results[i] = m(xs[i])

    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(xs))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for x, y in zip(xs, results):
        np.testing.assert_allclose(y, mlp_expected(x), rtol=1e-4, atol=1e-4)


def test_benchmark_reports_the_figures_of_eave_bench(artifacts):
    m = eave.load(artifacts["mlp_batch"])
    r = m.benchmark(threads=2, runs=10, warmup=1, dims={"batch": 4})
    assert set(r) == {"median_ms", "p90_ms", "min_ms", "peak_rss_mb", "arena_bytes", "threads",
                      "runs"}
    assert 0 <= r["min_ms"] <= r["median_ms"] <= r["p90_ms"]
    assert r["peak_rss_mb"] > 0 and r["threads"] == 2 and r["runs"] == 10
    import json
    code, out, err = run_eave("bench", artifacts["mlp_batch"], "--runs", 5, "--json")
    assert code == 0, err
    cli = json.loads(out)
    assert set(cli) == set(r) and cli["arena_bytes"] == r["arena_bytes"]
    with pytest.raises(eave.Error, match="runs must be positive"):
        m.benchmark(runs=0)


def test_save_load_and_bytes_round_trip(artifacts, tmp_path):
    m = eave.load(artifacts["mlp"])
    data = m.to_bytes()
    again = eave.load_bytes(data)
    x = np.ones((2, 8), np.float32)
    np.testing.assert_array_equal(again(x), m(x))
    path = tmp_path / "copy.eave"
    again.save(path)
    assert path.read_bytes() == data
    m.save(tmp_path / "copy2.eave")
    assert (tmp_path / "copy2.eave").read_bytes() == data
    code, out, err = run_eave("inspect", path)
    assert code == 0, err


def test_string_inputs_and_outputs(models):
    """str, bytes and object arrays (and lists) bind as string tensors; string outputs are
    object arrays of str."""
    m = eave.compile(models["text"])
    assert m.inputs[0].dtype == np.dtype(object) and m.outputs[1].dtype == np.float32
    r = m.run({"words": np.array([["the", "Grüße", "dog"]]), "numbers": ["1.5", "-2", "1e3"]})
    assert r["upper"].dtype == object and r["upper"].tolist() == [["GRüßE", "DOG"]]
    np.testing.assert_array_equal(r["values"], np.array([1.5, -2, 1000], np.float32))
    r = m.run({"words": np.array([[b"The", b"cat"]], dtype=object),
               "numbers": np.array([b"7", b"8", b"9"])})
    assert r["upper"].tolist() == [["CAT"]]
    np.testing.assert_array_equal(r["values"], np.array([7, 8, 9], np.float32))
    with pytest.raises(eave.Error, match="input 'words': element 1 is int, expected str or bytes"):
        m.run({"words": np.array([["a", 3]], dtype=object), "numbers": ["1", "2", "3"]})
    with pytest.raises(eave.Error, match="cannot convert string 'x' to f32"):
        m.run({"words": [["a"]], "numbers": ["1", "x", "3"]})
