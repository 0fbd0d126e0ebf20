"""PyTorch (CPU) training and prediction throughput of a reference model.

    python torch_bench.py MODEL --threads N [--rounds R] [--steps S]

The same models as keras_bench.py (models.py), in PyTorch's idiom: nn.LSTM batch-first
(bidirectional=True for the Bidirectional model, the two final states concatenated as Keras
does), per-frame nn.Conv2d/MaxPool2d for the CNN-LSTM (inputs moved to channels-first), MSE,
Adam with Keras's epsilon 1e-7, a plain training loop over shuffled batches. Prints
`torch MODEL threads train_samples_per_s predict_samples_per_s gflops` per round.

- stacked: one nn.LSTM(num_layers=4), the same math as four LSTMs each feeding its whole
  sequence to the next (no dropout between them); the top layer's last step feeds the Dense.
  Measured no slower than four separate nn.LSTMs (CPU time per epoch within noise).
- seq2seq: the encoder's last hidden state repeated 10 times (expand, no copy) is the decoder
  LSTM's input; nn.Linear(64, 1) on its (B, 10, 64) output gives logits, trained with
  BCEWithLogitsLoss (sigmoid and cross-entropy fused); predict applies the sigmoid.
- stateful: batches in order, no shuffle; (h, c) carried from batch to batch, detached (the
  gradient stops at the batch, as in Keras), reset to zeros at each epoch start; predict runs
  batches of the training batch size (Keras's fixed batch_shape) in order from a reset state.
"""
import time

from models import MODELS, forward_flops, make_data, parse_arguments, predict_batch, sequence_lengths

args = parse_arguments()

import torch

torch.set_num_threads(args.threads)
torch.manual_seed(1)
spec = MODELS[args.model]
x_np, y_np, batch = make_data(spec, args.steps)
x, y = torch.from_numpy(x_np), torch.from_numpy(y_np)
lengths = torch.from_numpy(sequence_lengths(spec, len(x_np))) if spec["kind"] == "padded" else None
units = spec["units"]
kind = spec["kind"]


class Model(torch.nn.Module):
    def __init__(self):
        super().__init__()
        if kind == "cnnlstm":
            frames, height, width, channels = spec["input"]
            self.conv = torch.nn.Conv2d(channels, 8, 3)
            self.pool = torch.nn.MaxPool2d(2)
            features = ((height - 2) // 2) * ((width - 2) // 2) * 8
        else:
            features = spec["input"][1]
        self.lstm = torch.nn.LSTM(features, units, num_layers=spec.get("layers", 1), batch_first=True,
                                  bidirectional=kind == "bidirectional")
        if kind == "seq2seq":
            self.decoder = torch.nn.LSTM(units, units, batch_first=True)
        self.dense = torch.nn.Linear(units * (2 if kind == "bidirectional" else 1), 1)

    def forward(self, inputs, state=None, lengths=None):
        """The outputs (logits for seq2seq); the stateful model also returns its final (h, c);
        the padded model's rows are packed by their `lengths`."""
        if kind == "padded":
            packed = torch.nn.utils.rnn.pack_padded_sequence(inputs, lengths, batch_first=True, enforce_sorted=False)
            _, (h, _) = self.lstm(packed)
            return self.dense(h[-1])
        if kind == "cnnlstm":
            b, t, h, w, c = inputs.shape
            frames = inputs.reshape(b * t, h, w, c).permute(0, 3, 1, 2)
            features = self.pool(torch.relu(self.conv(frames)))
            inputs = features.permute(0, 2, 3, 1).reshape(b, t, -1)
        if kind == "stateful":
            _, state = self.lstm(inputs, state)
            return self.dense(state[0][-1]), state
        _, (h, _) = self.lstm(inputs)
        if kind == "seq2seq":
            repeated = h[-1].unsqueeze(1).expand(-1, spec["repeat"], -1)
            decoded, _ = self.decoder(repeated)
            return self.dense(decoded)
        last = torch.cat([h[-2], h[-1]], dim=1) if kind == "bidirectional" else h[-1]
        return self.dense(last)


model = Model()
optimizer = torch.optim.Adam(model.parameters(), lr=1e-3, eps=1e-7)
loss_fn = torch.nn.BCEWithLogitsLoss() if spec.get("loss") == "binary_crossentropy" else torch.nn.MSELoss()


def epoch():
    if kind == "stateful":
        state = None  # zeros: the state is reset at the epoch's start
        for start in range(0, len(x), batch):
            optimizer.zero_grad()
            outputs, state = model(x[start:start + batch], state)
            loss = loss_fn(outputs, y[start:start + batch])
            loss.backward()
            optimizer.step()
            state = tuple(s.detach() for s in state)
        return
    order = torch.randperm(len(x))
    for start in range(0, len(x), batch):
        rows = order[start:start + batch]
        optimizer.zero_grad()
        loss = loss_fn(model(x[rows], lengths=None if lengths is None else lengths[rows]), y[rows])
        loss.backward()
        optimizer.step()


def predict():
    size = predict_batch(spec)
    with torch.no_grad():
        state = None
        for start in range(0, len(x), size):
            if kind == "stateful":
                _, state = model(x[start:start + size], state)
            elif kind == "seq2seq":
                torch.sigmoid(model(x[start:start + size]))
            else:
                model(x[start:start + size], lengths=None if lengths is None else lengths[start:start + size])


epoch()
predict()
flops = 3 * forward_flops(spec)
for _ in range(args.rounds):
    start = time.perf_counter()
    epoch()
    train = time.perf_counter() - start
    start = time.perf_counter()
    predict()
    predicted = time.perf_counter() - start
    n = len(x)
    print(f"torch {args.model} {args.threads} {n / train:.0f} {n / predicted:.0f} {flops * n / train / 1e9:.1f}", flush=True)
