"""Keras 3 (TensorFlow CPU) training and prediction throughput of a reference model.

    python keras_bench.py MODEL --threads N [--rounds R] [--steps S]

The models of Benchmarks/Sources/ReferenceModels (MSE, Adam, synthetic data from a fixed
seed). Prints `keras MODEL threads train_samples_per_s predict_samples_per_s gflops` per
round, with the same flop count as the Swift runner (training counted as 3x the forward).
"""
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
from models import MODELS, forward_flops, make_data, parse_arguments

args = parse_arguments()

import tensorflow as tf

tf.config.threading.set_intra_op_parallelism_threads(args.threads)
tf.config.threading.set_inter_op_parallelism_threads(args.threads)
import keras

spec = MODELS[args.model]
x, y, batch = make_data(spec, args.steps)
layers = keras.layers
if spec["kind"] == "lstm":
    body = [layers.LSTM(spec["units"])]
elif spec["kind"] == "bidirectional":
    body = [layers.Bidirectional(layers.LSTM(spec["units"]))]
else:
    body = [layers.TimeDistributed(layers.Conv2D(8, (3, 3), activation="relu")),
            layers.TimeDistributed(layers.MaxPooling2D((2, 2))), layers.TimeDistributed(layers.Flatten()),
            layers.LSTM(spec["units"])]
model = keras.Sequential([keras.Input(spec["input"])] + body + [layers.Dense(1)])
model.compile(optimizer=keras.optimizers.Adam(), loss="mse")
model.fit(x, y, batch_size=batch, epochs=1, verbose=0)
model.predict(x, batch_size=1024, verbose=0)
flops = 3 * forward_flops(spec)
for _ in range(args.rounds):
    start = time.perf_counter()
    model.fit(x, y, batch_size=batch, epochs=1, verbose=0)
    train = time.perf_counter() - start
    start = time.perf_counter()
    model.predict(x, batch_size=1024, verbose=0)
    predict = time.perf_counter() - start
    n = len(x)
    print(f"keras {args.model} {args.threads} {n / train:.0f} {n / predict:.0f} {flops * n / train / 1e9:.1f}", flush=True)
