"""Keras 3 (TensorFlow CPU) training and prediction throughput of a reference model.

    python keras_bench.py MODEL --threads N [--rounds R] [--steps S]

Prints `keras MODEL threads train_samples_per_s predict_samples_per_s gflops` per round,
training flops counted as 3x the forward flops: 2·T·4U·(F + U) + 2·U per sample.
"""
import argparse
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
MODELS = {"vanilla": (10, 25, 10, 32), "lstm128": (32, 64, 128, 512)}

parser = argparse.ArgumentParser()
parser.add_argument("model", choices=sorted(MODELS))
parser.add_argument("--threads", type=int, default=1)
parser.add_argument("--rounds", type=int, default=3)
parser.add_argument("--steps", type=int, default=None)
args = parser.parse_args()

import numpy as np
import tensorflow as tf

tf.config.threading.set_intra_op_parallelism_threads(args.threads)
tf.config.threading.set_inter_op_parallelism_threads(args.threads)
import keras

timesteps, features, units, batch = MODELS[args.model]
steps = args.steps or (8 if batch >= 256 else 200)
rng = np.random.default_rng(42)
x = rng.uniform(-1, 1, (batch * steps, timesteps, features)).astype(np.float32)
y = rng.uniform(-1, 1, (batch * steps, 1)).astype(np.float32)
model = keras.Sequential([keras.Input((timesteps, features)), keras.layers.LSTM(units), keras.layers.Dense(1)])
model.compile(optimizer=keras.optimizers.Adam(), loss="mse")
model.fit(x, y, batch_size=batch, epochs=1, verbose=0)
model.predict(x, batch_size=1024, verbose=0)
flops = 3 * (2 * timesteps * 4 * units * (features + units) + 2 * units)
for _ in range(args.rounds):
    start = time.perf_counter()
    model.fit(x, y, batch_size=batch, epochs=1, verbose=0)
    train = time.perf_counter() - start
    start = time.perf_counter()
    model.predict(x, batch_size=1024, verbose=0)
    predict = time.perf_counter() - start
    n = len(x)
    print(f"keras {args.model} {args.threads} {n / train:.0f} {n / predict:.0f} {flops * n / train / 1e9:.1f}", flush=True)
