"""Each real model (catalog.py) through the reference interpreter, every output compared to ONNX
Runtime's with compare.py's thresholds. Skips, with the reason, when the model or ORT is missing.

    EAVE_BUILD_DIR=build /usr/bin/python3 -m pytest -q -rs tests/real_models/test_real_models.py
"""
import shutil
import subprocess

import pytest

import catalog
from compare import compare_all


@pytest.mark.parametrize("model", catalog.MODELS, ids=lambda m: m.name)
def test_reference_matches_onnxruntime(model, ort, eave, tmp_path):
    reason = model.unavailable_reason()
    if reason:
        pytest.skip(reason)
    args = catalog.write_inputs(model.inputs(), tmp_path / "inputs")

    r = catalog.run_ort(model.path, args, tmp_path / "ort")
    if r.returncode != 0:
        pytest.fail(f"ONNX Runtime failed on {model.name}:\n{r.stderr}", pytrace=False)

    try:
        r = catalog.run_reference(model.path, args, tmp_path / "reference",
                                  timeout=model.reference_budget_s)
    except subprocess.TimeoutExpired:
        pytest.fail(f"eave run-reference took over {model.reference_budget_s} s on {model.name}",
                    pytrace=False)
    if r.returncode != 0:
        pytest.fail(f"eave run-reference failed on {model.name} (exit {r.returncode}):\n"
                    f"{r.stdout}{r.stderr}", pytrace=False)

    lines, ok = compare_all(catalog.read_outputs(tmp_path / "reference"),
                            catalog.read_outputs(tmp_path / "ort"))
    timing = [l for l in r.stdout.splitlines() if l.startswith("reference run:")]
    print(f"{model.name}, reference vs ORT ({', '.join(timing)}):\n  " + "\n  ".join(lines))
    if not ok:
        pytest.fail(f"{model.name}: reference differs from ONNX Runtime:\n  " + "\n  ".join(lines),
                    pytrace=False)


def run_compiled(model, input_args, out_dir, tmp_path, timeout=900, target=None, runner=None):
    """Compiles `model` with eave (inputs fixed to the test's shapes, for `target` when given)
    and runs the artifact with the runtime-only runner eave-run (`runner`, a command list, when
    given); returns the completed eave-run process."""
    artifact = tmp_path / f"{model.name}.eave"
    shapes = []
    for name, array in model.inputs().items():
        shapes += ["--input-shape", f"{name}={'x'.join(str(d) for d in array.shape)}"]
    if target:
        shapes += ["--target", target]
    r = subprocess.run([str(catalog.eave_binary()), "compile", str(model.path), "-o", str(artifact),
                        *shapes], capture_output=True, text=True, timeout=timeout)
    if r.returncode != 0:
        pytest.fail(f"eave compile failed on {model.name}:\n{r.stdout}{r.stderr}", pytrace=False)
    runner = runner or [str(catalog.eave_binary().parent / "eave-run")]
    return subprocess.run([*runner, str(artifact), *input_args, "--output-dir", str(out_dir)],
                          capture_output=True, text=True, timeout=timeout)


@pytest.mark.parametrize("model", catalog.MODELS, ids=lambda m: m.name)
def test_compiled_matches_onnxruntime_and_reference(model, ort, eave, tmp_path):
    reason = model.unavailable_reason()
    if reason:
        pytest.skip(reason)
    args = catalog.write_inputs(model.inputs(), tmp_path / "inputs")
    r = run_compiled(model, args, tmp_path / "compiled", tmp_path)
    if r.returncode != 0:
        pytest.fail(f"eave-run failed on {model.name}:\n{r.stdout}{r.stderr}", pytrace=False)
    compiled = catalog.read_outputs(tmp_path / "compiled")

    r = catalog.run_ort(model.path, args, tmp_path / "ort")
    if r.returncode != 0:
        pytest.fail(f"ONNX Runtime failed on {model.name}:\n{r.stderr}", pytrace=False)
    lines, ok = compare_all(compiled, catalog.read_outputs(tmp_path / "ort"))
    print(f"{model.name}, compiled vs ORT:\n  " + "\n  ".join(lines))
    failures = [] if ok else ["vs ONNX Runtime:"] + lines

    r = catalog.run_reference(model.path, args, tmp_path / "reference",
                              timeout=model.reference_budget_s)
    if r.returncode != 0:
        pytest.fail(f"eave run-reference failed on {model.name}:\n{r.stdout}{r.stderr}", pytrace=False)
    lines, ok = compare_all(compiled, catalog.read_outputs(tmp_path / "reference"))
    print(f"{model.name}, compiled vs reference:\n  " + "\n  ".join(lines))
    if not ok:
        failures += ["vs the reference interpreter:"] + lines
    if failures:
        pytest.fail(f"{model.name}: compiled outputs differ\n  " + "\n  ".join(failures), pytrace=False)


# One real model on the other targets: compiled for aarch64 (NEON) and riscv64 (RVV), run by
# the cross-built eave-run under qemu-user, against ONNX Runtime on this machine.
CROSS_RUNNERS = {
    "aarch64": ["qemu-aarch64", "-L", "/usr/aarch64-linux-gnu"],
    "riscv64": ["qemu-riscv64", "-cpu", "rv64,v=true", "-L", "/usr/riscv64-linux-gnu"],
}


@pytest.mark.parametrize("arch", sorted(CROSS_RUNNERS))
def test_cross_compiled_matches_onnxruntime(arch, ort, eave, tmp_path):
    model = catalog.BY_NAME["mobilenet_v2"]
    reason = model.unavailable_reason()
    if reason:
        pytest.skip(reason)
    for tool in (f"{arch}-linux-gnu-gcc", f"qemu-{arch}"):
        if not shutil.which(tool):
            pytest.skip(f"{tool} not found (install gcc-{arch}-linux-gnu and qemu-user)")
    build = catalog.eave_binary().parent.parent
    r = subprocess.run([str(catalog.REPO / "scripts" / "build-cross"), str(build)],
                       capture_output=True, text=True)
    if r.returncode != 0:
        pytest.fail(f"scripts/build-cross failed:\n{r.stdout}{r.stderr}", pytrace=False)
    args = catalog.write_inputs(model.inputs(), tmp_path / "inputs")
    runner = CROSS_RUNNERS[arch] + [str(build / "cross" / arch / "eave-run")]
    r = run_compiled(model, args, tmp_path / "compiled", tmp_path, target=arch, runner=runner)
    if r.returncode != 0:
        pytest.fail(f"eave-run ({arch}) failed on {model.name}:\n{r.stdout}{r.stderr}", pytrace=False)
    r = catalog.run_ort(model.path, args, tmp_path / "ort")
    if r.returncode != 0:
        pytest.fail(f"ONNX Runtime failed on {model.name}:\n{r.stderr}", pytrace=False)
    lines, ok = compare_all(catalog.read_outputs(tmp_path / "compiled"),
                            catalog.read_outputs(tmp_path / "ort"))
    print(f"{model.name} on {arch} (qemu) vs ORT:\n  " + "\n  ".join(lines))
    if not ok:
        pytest.fail(f"{model.name} on {arch} differs from ONNX Runtime:\n  " + "\n  ".join(lines),
                    pytrace=False)
