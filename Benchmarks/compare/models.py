"""The reference models shared by keras_bench.py and torch_bench.py, as in
Sources/ReferenceModels/ReferenceModel.swift. `id` is the model's B-number in the
comparison tables; the dictionary's order is the tables' order."""
import argparse

import numpy as np

MODELS = {
    # LSTM(10) -> Dense(1).
    "vanilla": {"id": "B1", "kind": "lstm", "input": (10, 25), "units": 10, "batch": 32},
    # LSTM(128) -> Dense(1).
    "lstm128": {"id": "B2", "kind": "lstm", "input": (32, 64), "units": 128, "batch": 512},
    # LSTM(64, return_sequences) x3 -> LSTM(64) -> Dense(1).
    "stacked": {"id": "B3", "kind": "stacked", "input": (20, 16), "units": 64, "batch": 128, "layers": 4},
    # LSTM(64) -> RepeatVector(10) -> LSTM(64, return_sequences) -> TimeDistributed(Dense(1, sigmoid)),
    # binary cross-entropy on targets in {0, 1} of shape (10, 1).
    "seq2seq": {"id": "B4", "kind": "seq2seq", "input": (20, 8), "units": 64, "batch": 128,
                "repeat": 10, "target": (10, 1), "loss": "binary_crossentropy"},
    # Bidirectional(LSTM(64), concat) -> Dense(1).
    "bidirectional": {"id": "B5", "kind": "bidirectional", "input": (30, 16), "units": 64, "batch": 128},
    # TimeDistributed Conv2D(8, 3x3, relu), MaxPooling2D(2x2), Flatten -> LSTM(32) -> Dense(1).
    "cnnlstm": {"id": "B6", "kind": "cnnlstm", "input": (8, 16, 16, 1), "units": 32, "batch": 64},
    # LSTM(32, stateful) -> Dense(1): batches in order (no shuffle), row i of each batch continuing
    # row i of the last, state reset at each epoch start; predicts with the same fixed batch.
    "stateful": {"id": "B7", "kind": "stateful", "input": (10, 25), "units": 32, "batch": 32},
    # LSTM(128) -> Dense(1) on 64 steps of 32 features, each sequence's length uniform in [8, 64],
    # zero-padded after it and masked (Keras: Masking; PyTorch: pack_padded_sequence).
    "padded": {"id": "B8", "kind": "padded", "input": (64, 32), "units": 128, "batch": 128, "shortest": 8},
}


def make_data(spec, steps=None):
    """Inputs uniform in [-1, 1) from a fixed seed, `steps` batches' worth, and targets drawn after
    them from the same generator: uniform in [-1, 1), of shape `spec["target"]` (default (1,));
    for binary cross-entropy 1 where that draw is > 0, else 0."""
    batch = spec["batch"]
    steps = steps or (8 if batch >= 256 else 40 if batch >= 64 else 200)  # ReferenceModel.defaultSteps
    rng = np.random.default_rng(42)
    x = rng.uniform(-1, 1, (batch * steps,) + spec["input"]).astype(np.float32)
    y = rng.uniform(-1, 1, (batch * steps,) + spec.get("target", (1,))).astype(np.float32)
    if spec.get("loss") == "binary_crossentropy":
        y = (y > 0).astype(np.float32)
    if spec["kind"] == "padded":
        for sample, length in enumerate(sequence_lengths(spec, len(x))):
            x[sample, length:] = 0
    return x, y, batch


def sequence_lengths(spec, samples):
    """B8's lengths, uniform in [shortest, timesteps] from a fixed seed."""
    return np.random.default_rng(43).integers(spec["shortest"], spec["input"][0] + 1, samples)


def predict_batch(spec):
    """1024, except for the stateful model, whose batch size is fixed (Keras's batch_shape)."""
    return spec["batch"] if spec["kind"] == "stateful" else 1024


def forward_flops(spec):
    """Forward flops of one sample (a multiply-add counts 2): 2·T·4U·(F + U) per LSTM layer and
    direction, over its T steps and F input features; 2·outH·outW·9·C·8 per frame for the
    convolution. Dense heads (TimeDistributed's too), RepeatVector and pooling are left out.

        vanilla, lstm128, stateful: 2·T·4U·(F + U)
        padded:        2·T·4U·(F + U) · (shortest + T) / 2T                (B8: the mean valid steps)
        stacked:       2·T·4U·(F + U) + 3 · 2·T·4U·(U + U)          (B3: 4,751,360)
        seq2seq:       2·T·4U·(F + U) + 2·R·4U·(U + U), R = repeat  (B4: 1,392,640)
        bidirectional: 2 · 2·T·4U·(F + U)
        cnnlstm:       frames · conv + 2·T·4U·(F' + U), F' = the flattened pooled frame
    """
    units = spec["units"]

    def lstm(steps, features):
        return 2 * steps * 4 * units * (features + units)

    kind = spec["kind"]
    if kind in ("lstm", "stateful"):
        return lstm(*spec["input"])
    if kind == "padded":  # the mean valid steps: the work packed sequences do
        steps, features = spec["input"]
        return lstm(steps, features) * (spec["shortest"] + steps) / (2 * steps)
    if kind == "bidirectional":
        return 2 * lstm(*spec["input"])
    if kind == "stacked":
        steps, features = spec["input"]
        return lstm(steps, features) + (spec["layers"] - 1) * lstm(steps, units)
    if kind == "seq2seq":
        return lstm(*spec["input"]) + lstm(spec["repeat"], units)
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
