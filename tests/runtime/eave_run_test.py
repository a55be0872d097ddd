"""eave-run end to end: writes an input .npy, runs the smoke artifact, checks the output .npy.

    eave_run_test.py EAVE_RUN MODEL.eave OUT_DIR
"""
import os
import subprocess
import sys

try:
    import numpy as np
except ImportError:
    print("SKIP: numpy is not installed for /usr/bin/python3")
    sys.exit(77)

eave_run, model, out_dir = sys.argv[1:4]
os.makedirs(out_dir, exist_ok=True)
x = (np.arange(5 * 16, dtype=np.float32).reshape(5, 16) % 13) * np.float32(0.1) - np.float32(0.5)
x_path = os.path.join(out_dir, "x.npy")
np.save(x_path, x)
run = subprocess.run([eave_run, model, "--input", f"x={x_path}", "--output-dir", out_dir,
                      "--threads", "2"], capture_output=True, text=True)
print(run.stdout, run.stderr)
assert run.returncode == 0, run.returncode
z = np.load(os.path.join(out_dir, "z.npy"))
expected = 2 * (np.exp(x) + np.float32(0.5) * np.arange(16, dtype=np.float32))
assert z.shape == (5, 16) and z.dtype == np.float32, (z.shape, z.dtype)
np.testing.assert_allclose(z, expected, rtol=1e-6)

# A wrong input name is an error that lists the model's inputs.
bad = subprocess.run([eave_run, model, "--input", f"y={x_path}", "--output-dir", out_dir],
                     capture_output=True, text=True)
assert bad.returncode == 1 and "no input 'y' (its inputs: 'x')" in bad.stderr, bad.stderr
print("eave-run: OK")
