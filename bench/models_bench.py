#!/usr/bin/python3
"""eave vs ONNX Runtime 1.30 vs PyTorch 1.13 eager on the real models, measured in one run.

For each model and thread count: eave compiles the model (timed), then `eave-run --bench` (a
process holding nothing but the C runtime) times it; ONNX Runtime runs through
tools/ort_run.js --bench (graph optimizations on, intra-op threads = threads); PyTorch runs the
same architecture in eager mode (torch.set_num_threads) in its own process. eave and ORT
alternate for --rounds rounds and each keeps its best median, so that load from elsewhere on a
shared machine does not decide the ratio. All three see the same seeded inputs. Prints a table of median latencies, the eave/ORT ratio, peak RSS of each
process and eave's compile time, and writes it as markdown (--markdown FILE) and JSON.

    /usr/bin/python3 bench/models_bench.py [--runs 30] [--rounds 5] [--threads 1,2] [--models resnet18,...]

This is a benchmark program, not a test: numbers depend on the machine and its load (the
development machine is shared: compare only ratios measured in the same run).
"""
import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "real_models"))
import catalog  # noqa: E402  (the model list and seeded inputs shared with the tests)

# The benchmark configurations: model, inputs, eave --input-shape, torch builder.
CONFIGS = {
    "resnet18": dict(inputs=catalog.BY_NAME["resnet18"].inputs, shape="input=1x3x224x224", torch="resnet18"),
    "resnet50": dict(inputs=catalog.BY_NAME["resnet50"].inputs, shape="input=1x3x224x224", torch="resnet50"),
    "mobilenet_v2": dict(inputs=catalog.BY_NAME["mobilenet_v2"].inputs, shape="input=1x3x224x224",
                         torch="mobilenet_v2"),
    # Prefill of 128 tokens.
    "gpt_decoder": dict(inputs=lambda: {"input_ids": np.random.default_rng(16).integers(
        0, 512, size=(1, 128), dtype=np.int64)}, shape="input_ids=1x128", torch="gpt"),
    "ppocr_v4_det": dict(inputs=lambda: catalog._document(np.random.default_rng(4), 640, 640),
                         shape="x=1x3x640x640", torch=None),
    # One 16 kHz chunk of 512 samples with its recurrent state.
    "silero_vad": dict(inputs=catalog.BY_NAME["silero_vad"].inputs, shape="input=1x512;state=2x1x128;sr=",
                       torch=None),
}

TORCH_RUNNER = r"""
import json, resource, sys, time
import numpy as np, torch
sys.path.insert(0, sys.argv[1])
import export_torch_models as ex
name, threads, runs = sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
torch.set_num_threads(threads)
model = ex.make_gpt() if name == "gpt" else ex.make_cnn(name)
model.eval()
x = torch.from_numpy(np.load(sys.argv[5]))
with torch.no_grad():
    for _ in range(3):
        model(x)
    ms = []
    for _ in range(runs):
        t0 = time.perf_counter()
        model(x)
        ms.append((time.perf_counter() - t0) * 1e3)
ms.sort()
print(json.dumps({"median_ms": ms[len(ms) // 2], "min_ms": ms[0],
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def run_json(cmd, timeout=3600):
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    if r.returncode != 0:
        raise RuntimeError((r.stderr or r.stdout).strip().splitlines()[-1] if (r.stderr or r.stdout) else f"exit {r.returncode}")
    return json.loads(r.stdout.strip().splitlines()[-1])


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=30)
    ap.add_argument("--rounds", type=int, default=5,
                    help="eave and ORT alternate this many times; each keeps its best median")
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--models", default=",".join(CONFIGS))
    ap.add_argument("--build", default=str(REPO / "build"))
    ap.add_argument("--markdown", help="also write the table as markdown to FILE")
    ap.add_argument("--json", help="also write every measurement as JSON to FILE")
    args = ap.parse_args(argv)
    eave = Path(args.build) / "bin" / "eave"
    eave_run = Path(args.build) / "bin" / "eave-run"
    threads = [int(t) for t in args.threads.split(",")]
    ort_missing = catalog.ort_unavailable_reason()
    rows = []
    work = Path(tempfile.mkdtemp(prefix="eave_bench_"))
    for name in args.models.split(","):
        cfg = CONFIGS[name]
        model = catalog.MODELS_DIR / f"{name}.onnx"
        if not model.exists():
            print(f"{name}: skipped ({model} missing: run scripts/fetch-models)", flush=True)
            continue
        inputs = cfg["inputs"]()
        input_args = catalog.write_inputs(inputs, work / name)
        artifact = work / f"{name}.eave"
        cmd = [str(eave), "compile", str(model), "-o", str(artifact)]
        if cfg["shape"]:
            for s in cfg["shape"].split(";"):
                cmd += ["--input-shape", s]
        t0 = time.perf_counter()
        r = subprocess.run(cmd, capture_output=True, text=True)
        compile_s = time.perf_counter() - t0
        compile_error = None if r.returncode == 0 else (r.stderr.strip().splitlines() or ["?"])[-1]
        for t in threads:
            row = {"model": name, "threads": t, "compile_s": round(compile_s, 2)}
            if compile_error:
                row["eave_error"] = compile_error
            eave_cmd = [str(eave_run), str(artifact), *input_args, "--bench", str(args.runs),
                        "--threads", str(t)]
            ort_cmd = None if ort_missing else [catalog.node_binary(), str(catalog.ORT_RUN), str(model),
                                                *input_args, "--bench", str(args.runs), "--threads", str(t)]
            # The machine may be shared: eave and ORT alternate, so that a burst of load from
            # elsewhere hits both, and each keeps the median of its least disturbed round.
            for _ in range(max(1, args.rounds)):
                for key, cmd in (("eave", eave_cmd), ("ort", ort_cmd)):
                    if cmd is None or f"{key}_error" in row:
                        continue
                    try:
                        got = run_json(cmd)
                    except Exception as e:  # noqa: BLE001 - reported in the table
                        row[f"{key}_error"] = str(e)
                        continue
                    if key not in row or got["median_ms"] < row[key]["median_ms"]:
                        row[key] = got
            if cfg["torch"]:
                try:
                    first = next(iter(inputs))
                    row["torch"] = run_json(["/usr/bin/python3", "-c", TORCH_RUNNER, str(REPO / "scripts"),
                                             cfg["torch"], str(t), str(args.runs),
                                             str(work / name / f"{first}.npy")])
                except Exception as e:  # noqa: BLE001
                    row["torch_error"] = str(e)
            rows.append(row)
            print(format_row(row), flush=True)
    table = markdown(rows, args.runs, args.rounds, ort_missing)
    table += runtime_size(Path(args.build) / "lib" / "libeave_runtime.so")
    print()
    print(table)
    if args.markdown:
        Path(args.markdown).write_text(table)
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1))
    return 0


def runtime_size(lib):
    """A markdown line with the stripped size of the shared runtime (target: under 300 KiB)."""
    if not lib.exists():
        return f"\nRuntime size: {lib} not built.\n"
    with tempfile.TemporaryDirectory() as d:
        out = Path(d) / lib.name
        subprocess.run(["strip", "-o", str(out), str(lib)], check=True)
        size = out.stat().st_size
    return (f"\nStripped runtime (libeave_runtime.so, {platform.machine()}, every builtin kernel): "
            f"{size:,} bytes (target: under {300 * 1024:,}).\n")


def ms(d):
    return f"{d['median_ms']:.2f}" if d else "-"


def format_row(r):
    e, o, t = r.get("eave"), r.get("ort"), r.get("torch")
    ratio = f"{e['median_ms'] / o['median_ms']:.2f}" if e and o else "-"
    err = r.get("eave_error", "")
    return (f"{r['model']:14s} threads {r['threads']}  eave {ms(e):>9s} ms  ort {ms(o):>9s} ms  "
            f"torch {ms(t):>9s} ms  eave/ort {ratio:>5s}  compile {r['compile_s']:.1f} s"
            + (f"  (eave: {err})" if err else ""))


def markdown(rows, runs, rounds, ort_missing):
    head = [f"Measured {date.today().isoformat()} on {platform.processor() or platform.machine()} "
            f"({os.cpu_count()} CPUs), median of {runs} runs after 3 warm-up runs, the best of "
            f"{rounds} alternating rounds of eave and ORT; peak RSS of each process. eave: `eave-run --bench`; ORT 1.30: tools/ort_run.js --bench (graph "
            "optimizations on); PyTorch 1.13 eager.",
            ""]
    if ort_missing:
        head.append(f"ONNX Runtime unavailable: {ort_missing}")
    head += ["| model | threads | eave ms | ORT ms | PyTorch ms | eave/ORT | RSS eave / ORT / PyTorch MiB | eave compile s |",
             "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        e, o, t = r.get("eave"), r.get("ort"), r.get("torch")
        ratio = f"{e['median_ms'] / o['median_ms']:.2f}" if e and o else "-"
        rss = " / ".join(f"{d['peak_rss_mb']:.0f}" if d else "-" for d in (e, o, t))
        note = f" ({r['eave_error']})" if r.get("eave_error") else ""
        head.append(f"| {r['model']} | {r['threads']} | {ms(e)}{note} | {ms(o)} | {ms(t)} | {ratio} | {rss} | "
                    f"{r['compile_s']:.1f} |")
    return "\n".join(head) + "\n"


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
