"""Keras 3 (TensorFlow CPU) training and prediction throughput of a reference model.

    python keras_bench.py MODEL --threads N [--rounds R] [--steps S]

The models of Sources/ReferenceModels (MSE, Adam, synthetic data from a fixed
seed; seq2seq: binary cross-entropy). Prints `keras MODEL threads train_samples_per_s
predict_samples_per_s gflops` per round, with the same flop count as the Swift runner
(training counted as 3x the forward).

Each timed `fit` is one epoch. The stateful model is built on Input(batch_shape=(32, 10, 25)),
trains with shuffle=False and has its state reset at each epoch start by a callback
(on_epoch_begin, inside the timed fit, as Loom's resetStatesEachEpoch); it predicts in
batches of 32 (its fixed batch) from a reset state. Note: Keras 3's TimeDistributed runs its
Dense once per step and stacks the results, so the sigmoid's logits do not reach the loss:
seq2seq's cross-entropy is computed on the clipped probabilities, not fused with the sigmoid.
"""
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
from models import MODELS, forward_flops, make_data, parse_arguments, predict_batch

args = parse_arguments()

import tensorflow as tf

tf.config.threading.set_intra_op_parallelism_threads(args.threads)
tf.config.threading.set_inter_op_parallelism_threads(args.threads)
import keras

spec = MODELS[args.model]
x, y, batch = make_data(spec, args.steps)
layers = keras.layers
units = spec["units"]
kind = spec["kind"]
head = [layers.Dense(1)]
if kind == "lstm":
    body = [layers.LSTM(units)]
elif kind == "stacked":
    body = [layers.LSTM(units, return_sequences=True) for _ in range(spec["layers"] - 1)] + [layers.LSTM(units)]
elif kind == "seq2seq":
    body = [layers.LSTM(units), layers.RepeatVector(spec["repeat"]), layers.LSTM(units, return_sequences=True)]
    head = [layers.TimeDistributed(layers.Dense(1, activation="sigmoid"))]
elif kind == "bidirectional":
    body = [layers.Bidirectional(layers.LSTM(units))]
elif kind == "stateful":
    body = [layers.LSTM(units, stateful=True)]
elif kind == "padded":
    body = [layers.Masking(0.0), layers.LSTM(units)]
else:
    body = [layers.TimeDistributed(layers.Conv2D(8, (3, 3), activation="relu")),
            layers.TimeDistributed(layers.MaxPooling2D((2, 2))), layers.TimeDistributed(layers.Flatten()),
            layers.LSTM(units)]
stateful = kind == "stateful"
inputs = keras.Input(batch_shape=(batch,) + spec["input"]) if stateful else keras.Input(spec["input"])
model = keras.Sequential([inputs] + body + head)
model.compile(optimizer=keras.optimizers.Adam(), loss=spec.get("loss", "mse"))


def reset_states():
    for layer in model.layers:
        if getattr(layer, "stateful", False):
            layer.reset_state()


class ResetStatesEachEpoch(keras.callbacks.Callback):
    def on_epoch_begin(self, epoch, logs=None):
        reset_states()


fit_options = {"shuffle": False, "callbacks": [ResetStatesEachEpoch()]} if stateful else {}
predict_size = predict_batch(spec)


def predict():
    if stateful:
        reset_states()
    model.predict(x, batch_size=predict_size, verbose=0)


model.fit(x, y, batch_size=batch, epochs=1, verbose=0, **fit_options)
predict()
flops = 3 * forward_flops(spec)
for _ in range(args.rounds):
    start = time.perf_counter()
    model.fit(x, y, batch_size=batch, epochs=1, verbose=0, **fit_options)
    train = time.perf_counter() - start
    start = time.perf_counter()
    predict()
    predict_time = time.perf_counter() - start
    n = len(x)
    print(f"keras {args.model} {args.threads} {n / train:.0f} {n / predict_time:.0f} {flops * n / train / 1e9:.1f}", flush=True)
