"""The real models (fetched by scripts/fetch-models into $EAVE_CACHE/models) and the seeded
inputs they are tested and benchmarked with; also how to run them through `eave run-reference`
and through ONNX Runtime (tools/ort_run.js).

Inputs (all from numpy's default_rng seeded per model, so every run sees the same data):

  resnet18, resnet50, mobilenet_v2,
  efficientnet_b0,                  input     float32 [1, 3, 224, 224]  standard normal
  mobilenet_v3_small, swin_t
  gpt_decoder                       input_ids int64   [1, 16]           uniform in [0, 512)
  silero_vad (v5)                   input     float32 [1, 512]          32 ms of 16 kHz audio:
                                                                         two tones plus noise
                                    state     float32 [2, 1, 128]       normal * 0.1 (the LSTM
                                                                         state a stream carries)
                                    sr        int64   []                16000
  ppocr_v4_det                      x         float32 [1, 3, 320, 320]  a synthetic document
        (dark glyph-like boxes in rows on a light noisy page), ImageNet-normalized as PaddleOCR
        does. Random noise would make the output map all zeros; 320x320 (the model takes any
        multiple of 32) keeps the naive reference interpreter affordable.
"""
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Dict

import numpy as np

REPO = Path(__file__).resolve().parents[2]
CACHE = Path(os.environ.get("EAVE_CACHE") or Path.home() / ".cache" / "eave")
MODELS_DIR = CACHE / "models"
ORT_RUN = REPO / "tools" / "ort_run.js"


@dataclass(frozen=True)
class RealModel:
    name: str
    make_inputs: Callable[[np.random.Generator], Dict[str, np.ndarray]]
    seed: int
    # Seconds the reference interpreter may take; the ctest timeout is derived from these.
    reference_budget_s: int

    @property
    def path(self) -> Path:
        return MODELS_DIR / f"{self.name}.onnx"

    def unavailable_reason(self):
        if not self.path.exists():
            return f"{self.path} missing: run scripts/fetch-models (or make models)"
        return None

    def inputs(self) -> Dict[str, np.ndarray]:
        return self.make_inputs(np.random.default_rng(self.seed))


def _image(rng):
    return {"input": rng.standard_normal((1, 3, 224, 224), dtype=np.float32)}


def _token_ids(rng):
    return {"input_ids": rng.integers(0, 512, size=(1, 16), dtype=np.int64)}


def _audio_chunk(rng):
    t = np.arange(512) / 16000.0
    audio = 0.3 * np.sin(2 * np.pi * 220.0 * t) + 0.1 * np.sin(2 * np.pi * 1375.0 * t)
    audio += 0.05 * rng.standard_normal(512)
    return {
        "input": audio.astype(np.float32)[None, :],
        "state": (0.1 * rng.standard_normal((2, 1, 128))).astype(np.float32),
        "sr": np.array(16000, dtype=np.int64),
    }


def _document(rng, height=320, width=320):
    page = 235.0 + rng.normal(0.0, 8.0, (height, width, 3))
    for top in range(20, height - 30, 48):
        x = int(rng.integers(10, 60))
        while x < width - 40:
            w, h = int(rng.integers(6, 18)), int(rng.integers(14, 24))
            page[top:top + h, x:x + w] = rng.uniform(10.0, 70.0)
            if w > 8:  # hollow glyphs have inner edges too
                page[top + 3:top + h - 3, x + 3:x + w - 3] = 235.0
            x += w + int(rng.integers(3, 8))
    rgb = np.clip(page, 0.0, 255.0) / 255.0
    mean, std = np.array([0.485, 0.456, 0.406]), np.array([0.229, 0.224, 0.225])
    return {"x": ((rgb - mean) / std).transpose(2, 0, 1)[None].astype(np.float32)}


MODELS = [
    RealModel("resnet18", _image, seed=18, reference_budget_s=300),
    RealModel("resnet50", _image, seed=50, reference_budget_s=900),
    RealModel("mobilenet_v2", _image, seed=2, reference_budget_s=300),
    RealModel("gpt_decoder", _token_ids, seed=16, reference_budget_s=120),
    RealModel("silero_vad", _audio_chunk, seed=5, reference_budget_s=120),
    RealModel("ppocr_v4_det", _document, seed=4, reference_budget_s=600),
    RealModel("efficientnet_b0", _image, seed=7, reference_budget_s=240),
    RealModel("mobilenet_v3_small", _image, seed=3, reference_budget_s=120),
    RealModel("swin_t", _image, seed=11, reference_budget_s=300),
]
BY_NAME = {m.name: m for m in MODELS}


def write_inputs(inputs: Dict[str, np.ndarray], directory: Path) -> list:
    """Saves each input as directory/NAME.npy; returns the NAME=FILE arguments for --input."""
    directory.mkdir(parents=True, exist_ok=True)
    args = []
    for name, array in inputs.items():
        path = directory / f"{name.replace('/', '_')}.npy"
        np.save(path, array)
        args += ["--input", f"{name}={path}"]
    return args


def read_outputs(directory: Path) -> Dict[str, np.ndarray]:
    """The NAME.npy files a run wrote (names with '/' already replaced by '_')."""
    return {p.stem: np.load(p) for p in sorted(directory.glob("*.npy"))}


def node_binary():
    return os.environ.get("EAVE_NODE") or shutil.which("node")


def eave_binary():
    build = os.environ.get("EAVE_BUILD_DIR") or str(REPO / "build")
    return Path(build) / "bin" / "eave"


def ort_unavailable_reason():
    """None when tools/ort_run.js can run ONNX Runtime; otherwise why not."""
    node = node_binary()
    if not node:
        return "node is not installed"
    r = subprocess.run([node, str(ORT_RUN), "--check"], capture_output=True, text=True)
    if r.returncode != 0:
        lines = r.stderr.strip().splitlines() or [f"exit {r.returncode}"]
        return lines[0].removeprefix("ort_run: ")
    return None


def run_ort(model: Path, input_args: list, out_dir: Path, *extra: str, timeout=600):
    cmd = [node_binary(), str(ORT_RUN), str(model), *input_args, "--output-dir", str(out_dir),
           *extra]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)


def run_reference(model: Path, input_args: list, out_dir: Path, timeout=None):
    cmd = [str(eave_binary()), "run-reference", str(model), *input_args, "--output-dir",
           str(out_dir)]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
