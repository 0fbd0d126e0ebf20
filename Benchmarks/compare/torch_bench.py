"""PyTorch (CPU) training and prediction throughput of a reference model.

    python torch_bench.py MODEL --threads N [--rounds R] [--steps S]

The same models as keras_bench.py (models.py), in PyTorch's idiom: nn.LSTM batch-first
(bidirectional=True for the Bidirectional model, the two final states concatenated as Keras
does), per-frame nn.Conv2d/MaxPool2d for the CNN-LSTM (inputs moved to channels-first), MSE,
Adam with Keras's epsilon 1e-7, a plain training loop over shuffled batches. Prints
`torch MODEL threads train_samples_per_s predict_samples_per_s gflops` per round.
"""
import time

from models import MODELS, forward_flops, make_data, parse_arguments

args = parse_arguments()

import torch

torch.set_num_threads(args.threads)
torch.manual_seed(1)
spec = MODELS[args.model]
x_np, y_np, batch = make_data(spec, args.steps)
x, y = torch.from_numpy(x_np), torch.from_numpy(y_np)
units = spec["units"]


class Model(torch.nn.Module):
    def __init__(self):
        super().__init__()
        kind = spec["kind"]
        if kind == "cnnlstm":
            frames, height, width, channels = spec["input"]
            self.conv = torch.nn.Conv2d(channels, 8, 3)
            self.pool = torch.nn.MaxPool2d(2)
            features = ((height - 2) // 2) * ((width - 2) // 2) * 8
        else:
            features = spec["input"][1]
        self.lstm = torch.nn.LSTM(features, units, batch_first=True, bidirectional=kind == "bidirectional")
        self.dense = torch.nn.Linear(units * (2 if kind == "bidirectional" else 1), 1)

    def forward(self, inputs):
        if spec["kind"] == "cnnlstm":
            b, t, h, w, c = inputs.shape
            frames = inputs.reshape(b * t, h, w, c).permute(0, 3, 1, 2)
            features = self.pool(torch.relu(self.conv(frames)))
            inputs = features.permute(0, 2, 3, 1).reshape(b, t, -1)
        _, (h, _) = self.lstm(inputs)
        last = torch.cat([h[-2], h[-1]], dim=1) if spec["kind"] == "bidirectional" else h[-1]
        return self.dense(last)


model = Model()
optimizer = torch.optim.Adam(model.parameters(), lr=1e-3, eps=1e-7)
loss_fn = torch.nn.MSELoss()


def epoch():
    order = torch.randperm(len(x))
    for start in range(0, len(x), batch):
        rows = order[start:start + batch]
        optimizer.zero_grad()
        loss = loss_fn(model(x[rows]), y[rows])
        loss.backward()
        optimizer.step()


def predict():
    with torch.no_grad():
        for start in range(0, len(x), 1024):
            model(x[start:start + 1024])


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
