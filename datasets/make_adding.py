"""The adding problem (Hochreiter & Schmidhuber 1997), for the large-batch recipe's runs.

Each sequence has T steps of two features: a value uniform in [0, 1] and a marker, 1 at two
steps (one in each half) and 0 elsewhere; the target is the sum of the two marked values plus
Gaussian noise of standard deviation `noise`. The loss floor (MSE) is noise²; predicting the
mean (1.0) scores var(u₁ + u₂) + noise² = 1/6 + noise² (0.167 at noise 0.01). An LSTM must
carry the first marked value across half the sequence. Written as HDF5 with datasets X
(samples, T, 2) and y (samples, 1).

    python3 datasets/make_adding.py --samples 74000 --timesteps 30 --noise 0.01 --out adding.h5

(needs numpy and h5py; outside CI: the tests never read this file).
"""
import argparse

import h5py
import numpy as np

parser = argparse.ArgumentParser()
parser.add_argument("--samples", type=int, default=74000)
parser.add_argument("--timesteps", type=int, default=30)
parser.add_argument("--noise", type=float, default=0.01)
parser.add_argument("--seed", type=int, default=1)
parser.add_argument("--out", required=True)
args = parser.parse_args()

rng = np.random.default_rng(args.seed)
n, t = args.samples, args.timesteps
values = rng.uniform(0, 1, (n, t)).astype(np.float32)
markers = np.zeros((n, t), dtype=np.float32)
first = rng.integers(0, t // 2, n)
second = rng.integers(t // 2, t, n)
markers[np.arange(n), first] = 1
markers[np.arange(n), second] = 1
target = values[np.arange(n), first] + values[np.arange(n), second] + rng.normal(0, args.noise, n)
with h5py.File(args.out, "w") as f:
    f["X"] = np.stack([values, markers], axis=-1)
    f["y"] = target.astype(np.float32)[:, None]
    f.attrs["loss_floor"] = args.noise ** 2
print(f"wrote {args.out}: {n} sequences of {t} steps; MSE floor {args.noise ** 2:.2e}, "
      f"mean predictor {1 / 6 + args.noise ** 2:.3f}")
