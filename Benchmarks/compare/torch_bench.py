"""PyTorch (CPU) training and prediction throughput of a reference model.

    python torch_bench.py MODEL --threads N [--rounds R] [--steps S]

The same models as keras_bench.py (nn.LSTM batch-first -> nn.Linear, MSE, Adam with Keras's
epsilon 1e-7), a plain training loop over shuffled batches. Prints
`torch MODEL threads train_samples_per_s predict_samples_per_s gflops` per round.
"""
import argparse
import time

MODELS = {"vanilla": (10, 25, 10, 32), "lstm128": (32, 64, 128, 512)}

parser = argparse.ArgumentParser()
parser.add_argument("model", choices=sorted(MODELS))
parser.add_argument("--threads", type=int, default=1)
parser.add_argument("--rounds", type=int, default=3)
parser.add_argument("--steps", type=int, default=None)
args = parser.parse_args()

import numpy as np
import torch

torch.set_num_threads(args.threads)
torch.manual_seed(1)
timesteps, features, units, batch = MODELS[args.model]
steps = args.steps or (8 if batch >= 256 else 200)
rng = np.random.default_rng(42)
x = torch.from_numpy(rng.uniform(-1, 1, (batch * steps, timesteps, features)).astype(np.float32))
y = torch.from_numpy(rng.uniform(-1, 1, (batch * steps, 1)).astype(np.float32))


class Model(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.lstm = torch.nn.LSTM(features, units, batch_first=True)
        self.dense = torch.nn.Linear(units, 1)

    def forward(self, inputs):
        _, (h, _) = self.lstm(inputs)
        return self.dense(h[-1])


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
flops = 3 * (2 * timesteps * 4 * units * (features + units) + 2 * units)
for _ in range(args.rounds):
    start = time.perf_counter()
    epoch()
    train = time.perf_counter() - start
    start = time.perf_counter()
    predict()
    predicted = time.perf_counter() - start
    n = len(x)
    print(f"torch {args.model} {args.threads} {n / train:.0f} {n / predicted:.0f} {flops * n / train / 1e9:.1f}", flush=True)
