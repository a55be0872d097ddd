"""Each real model (catalog.py) through the reference interpreter, every output compared to ONNX
Runtime's with compare.py's thresholds. Skips, with the reason, when the model or ORT is missing.

    EAVE_BUILD_DIR=build /usr/bin/python3 -m pytest -q -rs tests/real_models/test_real_models.py
"""
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
