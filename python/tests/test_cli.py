"""The CLI's contract: --help with examples for every command, exit codes (0 ok, 1 user error
with a message, 2 internal error: tests/tools/run_command_test.cc), profile and its Chrome trace,
and progress that shows on a terminal and stays out of piped output."""
import json
import os
import pty
import re
import subprocess

import numpy as np
import pytest

from conftest import BUILD_DIR, EAVE, cli_error, run_eave


def commands():
    code, out, err = run_eave("--help")
    assert code == 0, err
    block = out.split("commands:")[1].split("\n\n")[0]
    names = [line.split()[0] for line in block.strip().splitlines()]
    assert {"compile", "run", "bench", "inspect", "compare", "profile", "run-reference",
            "conformance", "print"} <= set(names)
    return names


def test_every_command_has_help_with_examples():
    for name in commands():
        code, out, err = run_eave(name, "--help")
        assert code == 0, (name, err)
        assert out.startswith("usage: eave " + name), (name, out)
        examples = out.split("examples:")
        assert len(examples) == 2 and "eave " + name in examples[1], (name, out)
    code, out, err = run_eave("--help")
    assert "examples:" in out and "Exit codes: 0 ok, 1 user error" in out


@pytest.mark.parametrize("args,message", [
    ((), None),
    (("frobnicate",), "unknown command 'frobnicate'"),
    (("compile", "--no-such-flag"), "eave compile: unknown option '--no-such-flag'"),
    (("compile",), "MODEL.onnx"),
    (("run", "/nonexistent/model.eave"), "/nonexistent/model.eave"),
    (("bench", "/nonexistent.eave", "--dim", "batch=abc"), "--dim batch: expected a size"),
    (("profile", "/nonexistent.eave", "--sort", "name"), "--sort must be order or time"),
    (("compare", "/nonexistent.onnx"), "/nonexistent.onnx"),
    (("compile", "/nonexistent.onnx", "--precision", "bf16"),
     "precision 'bf16' is not supported yet"),
    (("run", "x.eave", "--threads", "many"), "option --threads expects an integer"),
])
def test_user_errors_exit_1_with_a_message(args, message):
    code, out, err = run_eave(*args)
    assert code == 1, (code, out, err)
    assert err.strip(), "a user error says what to fix"
    if message:
        assert message in err, err
    assert "internal error:" not in err


@pytest.fixture(scope="module")
def mlp_artifact(models, tmp_path_factory):
    path = tmp_path_factory.mktemp("cli") / "mlp.eave"
    code, out, err = run_eave("compile", models["mlp"], "-o", path)
    assert code == 0, err
    assert out.startswith(f"wrote {path}")
    return str(path)


def test_profile_table_and_chrome_trace(mlp_artifact, tmp_path):
    trace = tmp_path / "trace.json"
    table = tmp_path / "profile.json"
    code, out, err = run_eave("profile", mlp_artifact, "--runs", 5, "--threads", 2, "--trace",
                              trace, "--json", table)
    assert code == 0, err
    assert "GFLOP/s" in out and "fc1 (MatMul)" in out and "fc2 (Gemm)" in out
    rows = json.loads(table.read_text())["steps"]
    assert rows and all(r["ms"] >= 0 for r in rows)
    # Per-step FLOPs from the artifact: the MatMul is 2 * 2 * 8 * 16.
    fc1 = [r for r in rows if "fc1" in r["nodes"]]
    assert fc1 and fc1[0]["flops"] >= 2 * 2 * 8 * 16
    assert all(r["bytes"] > 0 for r in rows)
    events = json.loads(trace.read_text())["traceEvents"]
    steps = [e for e in events if e.get("ph") == "X" and e.get("cat") != "run"]
    runs = [e for e in events if e.get("cat") == "run"]
    assert len(runs) == 5 and len(steps) == 5 * len(rows)
    for e in steps:
        assert e["dur"] >= 0 and {"name", "ts", "pid", "tid", "args"} <= set(e)
    code, out, err = run_eave("profile", mlp_artifact, "--runs", 2, "--sort", "time")
    assert code == 0, err


def test_profile_of_an_artifact_without_step_info():
    smoke = os.path.join(BUILD_DIR, "tests", "runtime", "smoke_x86_64.eave")
    if not os.path.exists(smoke):
        pytest.skip("the runtime tests' smoke artifact is not built")
    code, out, err = run_eave("profile", smoke, "--runs", 2, "--dim", "batch=4")
    assert code == 0, err
    assert "no STEP_INFO" in out


def test_piped_output_is_quiet_and_line_oriented(models, tmp_path):
    code, out, err = run_eave("compile", models["mlp"], "-o", tmp_path / "m.eave")
    assert code == 0 and err == "", err
    assert "\r" not in out and "\033" not in out


def test_progress_shows_on_a_terminal(models, tmp_path):
    pid, fd = pty.fork()
    if pid == 0:
        os.execv(EAVE, [EAVE, "compile", models["mlp"], "-o", str(tmp_path / "t.eave")])
    output = b""
    while True:
        try:
            chunk = os.read(fd, 4096)
        except OSError:
            break
        if not chunk:
            break
        output += chunk
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0, output
    text = output.decode()
    # The status line is drawn with \r and erased before the result line.
    assert "\r" in text and "\033[K" in text, text
    assert re.search(r"wrote .*t\.eave", text)


def test_run_bench_inspect_end_to_end(mlp_artifact, tmp_path):
    x = np.ones((2, 8), np.float32)
    np.save(tmp_path / "x.npy", x)
    code, out, err = run_eave("run", mlp_artifact, "--input", f"x={tmp_path / 'x.npy'}")
    assert code == 0, err
    code, out, err = run_eave("bench", mlp_artifact, "--runs", 3)
    assert code == 0 and "median" in out, err
    code, out, err = run_eave("inspect", mlp_artifact)
    assert code == 0 and "fc1" in out, err
    assert "the model has no input 'q' (its inputs: 'x')" == cli_error(
        "bench", mlp_artifact, "--input", f"q={tmp_path / 'x.npy'}")


def test_string_tensors_through_npy_files(models, tmp_path):
    """eave run and eave-run read numpy str and bytes arrays and write str arrays."""
    artifact = tmp_path / "text.eave"
    code, out, err = run_eave("compile", models["text"], "-o", artifact)
    assert code == 0, err
    np.save(tmp_path / "words.npy", np.array([["the", "Grüße", "日本"]]))
    np.save(tmp_path / "numbers.npy", np.array([b"1.5", b"-2", b"1e3"]))
    runner = os.path.join(os.path.dirname(EAVE), "eave-run")
    for tool in (EAVE, runner):
        out_dir = tmp_path / os.path.basename(tool)
        out_dir.mkdir()
        args = ([tool, "run"] if tool == EAVE else [tool]) + [
            str(artifact), "--input", f"words={tmp_path / 'words.npy'}",
            "--input", f"numbers={tmp_path / 'numbers.npy'}", "--output-dir", str(out_dir)]
        p = subprocess.run(args, capture_output=True, text=True)
        assert p.returncode == 0, p.stderr
        upper = np.load(out_dir / "upper.npy")
        assert upper.dtype == np.dtype("<U5") and upper.tolist() == [["GRüßE", "日本"]]
        np.testing.assert_array_equal(np.load(out_dir / "values.npy"),
                                      np.array([1.5, -2, 1000], np.float32))
