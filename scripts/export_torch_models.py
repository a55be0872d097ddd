#!/usr/bin/python3
"""Exports the PyTorch-defined real models to ONNX (opset 17) for the real-model tests.

    /usr/bin/python3 scripts/export_torch_models.py OUT_DIR [NAME ...]

Writes OUT_DIR/NAME.onnx for each NAME (default: all of resnet18, resnet50, mobilenet_v2,
gpt_decoder, efficientnet_b0, mobilenet_v3_small, swin_t). Called by scripts/fetch-models; needs Debian's python3-torch/-torchvision/-onnx.

No pretrained weights can be downloaded here, so every model is randomly initialised from a
fixed seed. A freshly initialised BatchNorm (mean 0, var 1, scale 1, bias 0) is an identity that
a compiler could fold away without being tested, so BatchNorm gets seeded random affine
parameters and running statistics calibrated on seeded random images (which also keeps
activations in a sane range through 50 layers), then perturbed by seeded random factors. The
graphs keep their BatchNormalization nodes (PyTorch's eval-mode export would fold them into the
Conv weights): folding them is the compiler's job, and its test. Exports are byte-identical from
run to run.
"""
import math
import os
import sys
import warnings

import torch
import torch.nn as nn
import torch.nn.functional as F
import torchvision

OPSET = 17
SEED = 20240611


def randomize_batchnorm(model: nn.Module, image_shape, seed: int) -> None:
    gen = torch.Generator().manual_seed(seed)
    bns = [m for m in model.modules() if isinstance(m, nn.BatchNorm2d)]
    with torch.no_grad():
        for bn in bns:
            c = bn.num_features
            bn.weight.copy_(torch.rand(c, generator=gen) + 0.5)          # [0.5, 1.5)
            bn.bias.copy_(torch.randn(c, generator=gen) * 0.1)
            bn.reset_running_stats()
            bn.momentum = None  # cumulative average over the calibration batches
        model.train()
        for _ in range(2):
            model(torch.randn(4, *image_shape, generator=gen))
        for bn in bns:
            c = bn.num_features
            std = bn.running_var.sqrt()
            bn.running_mean.add_(torch.randn(c, generator=gen) * 0.1 * std)
            bn.running_var.mul_(torch.rand(c, generator=gen) * 0.6 + 0.7)  # [0.7, 1.3)
    model.eval()


def make_cnn(name: str) -> nn.Module:
    torch.manual_seed(SEED)
    model = getattr(torchvision.models, name)(weights=None)
    randomize_batchnorm(model, (3, 224, 224), SEED + 1)
    return model


class CausalSelfAttention(nn.Module):
    def __init__(self, d_model: int, n_heads: int, max_seq: int):
        super().__init__()
        self.n_heads = n_heads
        self.scale = 1.0 / math.sqrt(d_model // n_heads)
        self.qkv = nn.Linear(d_model, 3 * d_model)
        self.proj = nn.Linear(d_model, d_model)
        self.register_buffer("causal", torch.tril(torch.ones(max_seq, max_seq, dtype=torch.bool)),
                             persistent=False)

    def forward(self, x):
        b, t, d = x.shape
        h = self.n_heads
        q, k, v = self.qkv(x).split(d, dim=2)
        q = q.view(b, t, h, d // h).transpose(1, 2)
        k = k.view(b, t, h, d // h).transpose(1, 2)
        v = v.view(b, t, h, d // h).transpose(1, 2)
        scores = (q @ k.transpose(-2, -1)) * self.scale
        scores = scores.masked_fill(~self.causal[:t, :t], float("-inf"))
        y = F.softmax(scores, dim=-1) @ v
        return self.proj(y.transpose(1, 2).reshape(b, t, d))


class Block(nn.Module):
    def __init__(self, d_model: int, n_heads: int, max_seq: int):
        super().__init__()
        self.ln1 = nn.LayerNorm(d_model)
        self.attn = CausalSelfAttention(d_model, n_heads, max_seq)
        self.ln2 = nn.LayerNorm(d_model)
        self.mlp = nn.Sequential(nn.Linear(d_model, 4 * d_model), nn.GELU(),
                                 nn.Linear(4 * d_model, d_model))

    def forward(self, x):
        x = x + self.attn(self.ln1(x))
        return x + self.mlp(self.ln2(x))


class GPTDecoder(nn.Module):
    """A small GPT-style decoder: token + learned position embeddings, pre-LayerNorm blocks of
    causal self-attention and a GELU MLP, a final LayerNorm and an untied LM head."""

    def __init__(self, vocab=512, d_model=128, n_layers=4, n_heads=4, max_seq=256):
        super().__init__()
        self.tok = nn.Embedding(vocab, d_model)
        self.pos = nn.Embedding(max_seq, d_model)
        self.blocks = nn.ModuleList(Block(d_model, n_heads, max_seq) for _ in range(n_layers))
        self.ln_f = nn.LayerNorm(d_model)
        self.head = nn.Linear(d_model, vocab)

    def forward(self, input_ids):
        positions = torch.arange(input_ids.shape[1], device=input_ids.device)
        x = self.tok(input_ids) + self.pos(positions)
        for block in self.blocks:
            x = block(x)
        return self.head(self.ln_f(x))


def make_gpt() -> nn.Module:
    torch.manual_seed(SEED + 2)
    model = GPTDecoder()
    # Default init leaves LayerNorm at scale 1 / bias 0; randomize it like BatchNorm above.
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.LayerNorm):
                m.weight.copy_(torch.rand_like(m.weight) + 0.5)
                m.bias.copy_(torch.randn_like(m.bias) * 0.1)
    return model.eval()


# name -> (builder, example input, input name, dynamic axes of input and output)
MODELS = {
    "resnet18": (lambda: make_cnn("resnet18"), lambda: torch.randn(1, 3, 224, 224), "input",
                 {0: "batch"}, {0: "batch"}),
    "resnet50": (lambda: make_cnn("resnet50"), lambda: torch.randn(1, 3, 224, 224), "input",
                 {0: "batch"}, {0: "batch"}),
    "mobilenet_v2": (lambda: make_cnn("mobilenet_v2"), lambda: torch.randn(1, 3, 224, 224),
                     "input", {0: "batch"}, {0: "batch"}),
    "gpt_decoder": (make_gpt, lambda: torch.randint(0, 512, (2, 16)), "input_ids",
                    {0: "batch", 1: "seq"}, {0: "batch", 1: "seq"}),
    # Architectures beyond the benchmark set: SiLU and squeeze-excitation (efficientnet_b0),
    # hard-swish and hard-sigmoid (mobilenet_v3_small), shifted-window attention whose padding
    # is shape arithmetic (swin_t).
    "efficientnet_b0": (lambda: make_cnn("efficientnet_b0"), lambda: torch.randn(1, 3, 224, 224),
                        "input", {0: "batch"}, {0: "batch"}),
    "mobilenet_v3_small": (lambda: make_cnn("mobilenet_v3_small"), lambda: torch.randn(1, 3, 224, 224),
                           "input", {0: "batch"}, {0: "batch"}),
    "swin_t": (lambda: make_cnn("swin_t"), lambda: torch.randn(1, 3, 224, 224), "input",
               {0: "batch"}, {0: "batch"}),
}


def export(name: str, out_dir: str) -> str:
    build, example, input_name, in_axes, out_axes = MODELS[name]
    model = build()
    path = os.path.join(out_dir, name + ".onnx")
    tmp = path + ".tmp"
    with torch.no_grad():
        torch.onnx.export(model, (example(),), tmp, opset_version=OPSET,
                          input_names=[input_name], output_names=["logits"],
                          dynamic_axes={input_name: in_axes, "logits": out_axes},
                          do_constant_folding=True,
                          # EVAL would fold BatchNorm into Conv at export; keep it in the graph
                          # (the model is in eval mode, so it exports as inference BatchNorm).
                          training=torch.onnx.TrainingMode.PRESERVE)
    os.replace(tmp, path)
    return path


def main(argv) -> int:
    if len(argv) < 2:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    out_dir, names = argv[1], argv[2:] or list(MODELS)
    unknown = [n for n in names if n not in MODELS]
    if unknown:
        print(f"export_torch_models: unknown model(s) {unknown}; known: {list(MODELS)}",
              file=sys.stderr)
        return 2
    os.makedirs(out_dir, exist_ok=True)
    # The warning is about models in training mode; these are in eval mode (see export()).
    warnings.filterwarnings("ignore", message="It is recommended that constant folding be turned off")
    torch.set_num_threads(1)  # the machine is shared; exporting is not worth more cores
    for name in names:
        print(export(name, out_dir), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
