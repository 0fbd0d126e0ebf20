"""The reference models shared by keras_bench.py and torch_bench.py, as in
Benchmarks/Sources/ReferenceModels/ReferenceModel.swift."""
import argparse

import numpy as np

MODELS = {
    "vanilla": {"kind": "lstm", "input": (10, 25), "units": 10, "batch": 32},
    "lstm128": {"kind": "lstm", "input": (32, 64), "units": 128, "batch": 512},
    "bidirectional": {"kind": "bidirectional", "input": (30, 16), "units": 64, "batch": 128},
    "cnnlstm": {"kind": "cnnlstm", "input": (8, 16, 16, 1), "units": 32, "batch": 64},
}


def make_data(spec, steps=None):
    """Inputs and targets uniform in [-1, 1) from a fixed seed: `steps` batches' worth."""
    batch = spec["batch"]
    steps = steps or (8 if batch >= 256 else 40 if batch >= 64 else 200)
    rng = np.random.default_rng(42)
    x = rng.uniform(-1, 1, (batch * steps,) + spec["input"]).astype(np.float32)
    y = rng.uniform(-1, 1, (batch * steps, 1)).astype(np.float32)
    return x, y, batch


def forward_flops(spec):
    """2·T·4U·(F + U) per LSTM direction; 2·outH·outW·9·C·8 per frame for the convolution."""
    units = spec["units"]

    def lstm(steps, features):
        return 2 * steps * 4 * units * (features + units)

    if spec["kind"] == "lstm":
        return lstm(*spec["input"])
    if spec["kind"] == "bidirectional":
        return 2 * lstm(*spec["input"])
    frames, height, width, channels = spec["input"]
    conv = 2 * (height - 2) * (width - 2) * 9 * channels * 8
    return frames * conv + lstm(frames, ((height - 2) // 2) * ((width - 2) // 2) * 8)


def parse_arguments():
    """MODEL --threads N [--rounds R] [--steps S], the command line of both scripts."""
    parser = argparse.ArgumentParser()
    parser.add_argument("model", choices=sorted(MODELS))
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--steps", type=int, default=None)
    return parser.parse_args()
