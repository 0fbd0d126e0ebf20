"""Writes the Keras fixtures of masked and weighted training the Swift tests compare against.

Run from a virtual environment with Keras 3 on TensorFlow (outside CI):

    python3 -m venv /tmp/keras-venv && /tmp/keras-venv/bin/pip install tensorflow-cpu h5py
    /tmp/keras-venv/bin/python Tests/TestSupport/Fixtures/Parity/Masks/make_mask_fixtures.py

Each case is a small model with fixed weights (uniform in ±0.5 from a fixed NumPy seed), a
padded batch (right padding, left padding, a gap, a row that is all padding) and, for some,
sample weights, timestep weights or class weights. Its JSON file holds the inputs, targets,
weights, the forward output, the loss, the gradients (Keras's compiled loss under a
GradientTape, mask and weights applied as `fit` applies them), the metric (mae, or accuracy
with class-index targets) as `evaluate` reports it, and the weights and history after one
epoch of `fit` (SGD 0.1, batch 2, no shuffle). Float32 values are written with 9 significant digits, which round-trips them.
Configs/<name>.json holds the model's Keras config (`model.to_json()`), from which the Swift
tests build the Loom model through LoomKeras's decoder. `--configs-only` writes the configs
alone (the data files stay as they are).
"""
import json
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import numpy as np
import keras
import tensorflow as tf
from keras import layers
from keras.src.trainers.data_adapters import data_adapter_utils

HERE = os.path.dirname(os.path.abspath(__file__))
CONFIGS_ONLY = "--configs-only" in sys.argv[1:]
sys.path.insert(0, os.path.dirname(HERE))
from make_keras_fixtures import tensor  # noqa: E402  (the parity fixtures' float and tensor format)


def padded(rng, lengths, timesteps, features, side, pad=0.0):
    """Rows of random values, each `lengths[i]` valid steps, padded with `pad` on `side[i]`."""
    x = np.full((len(lengths), timesteps, features), pad, dtype=np.float32)
    for i, (length, where) in enumerate(zip(lengths, side)):
        values = rng.normal(size=(length, features)).astype(np.float32)
        if where == "post":
            x[i, :length] = values
        else:
            x[i, timesteps - length:] = values
    return x


def compiled(build, weights, loss, metric):
    model = build()
    model.set_weights(weights)
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss=loss, metrics=[metric])
    return model


def fixture(name, build, x, y, loss, seed, sample_weight=None, class_weight=None, metric="mae"):
    model = build()
    os.makedirs(os.path.join(HERE, "Configs"), exist_ok=True)
    with open(os.path.join(HERE, "Configs", name + ".json"), "w") as f:
        f.write(model.to_json())
    if CONFIGS_ONLY:
        # The two models the full run compiles, so that Keras numbers the next models' layers
        # as it did then.
        for _ in range(2):
            build()
        print("wrote the config of", name)
        return
    rng = np.random.default_rng(seed)
    weights = [rng.uniform(-0.5, 0.5, w.shape).astype(np.float32) for w in model.get_weights()]
    model = compiled(build, weights, loss, metric)
    weights_for_loss = sample_weight
    if class_weight is not None:
        weights_for_loss = data_adapter_utils.class_weight_to_sample_weights(y, class_weight)
    with tf.GradientTape() as tape:
        y_pred = model(x, training=True)
        loss_value = model.compute_loss(x=x, y=y, y_pred=y_pred, sample_weight=weights_for_loss, training=True)
    gradients = tape.gradient(loss_value, model.trainable_weights)
    evaluation = model.evaluate(x, y, sample_weight=weights_for_loss, batch_size=len(x), verbose=0, return_dict=True)
    trained = compiled(build, weights, loss, metric)
    history = trained.fit(
        x, y, sample_weight=sample_weight, class_weight=class_weight, batch_size=2, epochs=1, shuffle=False, verbose=0
    )
    record = {
        "name": name,
        "loss": loss,
        "x": tensor(x),
        "y": tensor(y),
        "weights": [tensor(w) for w in weights],
        "output": tensor(model.predict(x, batch_size=len(x), verbose=0)),
        "loss_value": float(loss_value),
        "gradients": [tensor(tf.convert_to_tensor(g)) for g in gradients],
        "metric": metric,
        "evaluate_loss": float(evaluation["loss"]),
        "evaluate_metric": float(evaluation[metric]),
        "fit_loss": float(history.history["loss"][0]),
        "fit_metric": float(history.history[metric][0]),
        "fit_weights": [tensor(w) for w in trained.get_weights()],
    }
    if sample_weight is not None:
        record["sample_weight"] = tensor(sample_weight)
    if class_weight is not None:
        record["class_weight"] = {str(k): v for k, v in class_weight.items()}
    with open(os.path.join(HERE, name + ".json"), "w") as f:
        json.dump(record, f)
    print("wrote", name, "loss", float(loss_value), metric, evaluation[metric])


def main():
    rng = np.random.default_rng(7)
    lengths, sides = [6, 4, 3, 0, 5], ["post", "post", "pre", "post", "pre"]

    # Masking, LSTM returning sequences, Dense on every step: the loss over the valid steps.
    def masking_lstm_sequences():
        return keras.Sequential([keras.Input((6, 3)), layers.Masking(0.0), layers.LSTM(4, return_sequences=True),
                                 layers.Dense(2)])
    x = padded(rng, lengths, 6, 3, sides)
    fixture("masking_lstm_sequences", masking_lstm_sequences, x, rng.normal(size=(5, 6, 2)).astype(np.float32),
            "mse", 1)

    # Many-to-one: the last output is the last valid step's.
    def masking_lstm_last():
        return keras.Sequential([keras.Input((6, 3)), layers.Masking(-1.0), layers.LSTM(4), layers.Dense(1)])
    x = padded(rng, lengths, 6, 3, sides, pad=-1.0)
    x[0, 2] = -1.0  # a gap inside a sequence
    fixture("masking_lstm_last", masking_lstm_last, x, rng.normal(size=(5, 1)).astype(np.float32), "mse", 2)

    # GRU returning sequences on left padding, stacked with a SimpleRNN reading backwards.
    def masking_gru_stacked():
        return keras.Sequential([keras.Input((6, 2)), layers.Masking(0.0), layers.GRU(3, return_sequences=True),
                                 layers.Dropout(0.0),
                                 layers.SimpleRNN(3, return_sequences=True, go_backwards=True),
                                 layers.TimeDistributed(layers.Dense(1))])
    x = padded(rng, [6, 2, 4, 0, 5], 6, 2, ["pre", "pre", "pre", "pre", "post"])
    fixture("masking_gru_stacked", masking_gru_stacked, x, rng.normal(size=(5, 6, 1)).astype(np.float32), "mse", 3)

    # Embedding(mask_zero) under a Bidirectional LSTM returning sequences (zero_output_for_mask).
    def embedding_bidirectional_sequences():
        return keras.Sequential([keras.Input((6,)), layers.Embedding(9, 3, mask_zero=True),
                                 layers.Bidirectional(layers.LSTM(3, return_sequences=True)),
                                 layers.Dense(4, activation="softmax")])
    tokens = np.zeros((5, 6), dtype=np.float32)
    for i, (length, side) in enumerate(zip(lengths, sides)):
        values = rng.integers(1, 9, size=length)
        if side == "post":
            tokens[i, :length] = values
        else:
            tokens[i, 6 - length:] = values
    labels = np.eye(4, dtype=np.float32)[rng.integers(0, 4, size=(5, 6))]
    fixture("embedding_bidirectional_sequences", embedding_bidirectional_sequences, tokens, labels,
            "categorical_crossentropy", 4)

    # Embedding(mask_zero) under a Bidirectional GRU to one output.
    def embedding_bidirectional_last():
        return keras.Sequential([keras.Input((6,)), layers.Embedding(9, 3, mask_zero=True),
                                 layers.Bidirectional(layers.GRU(3), merge_mode="sum"),
                                 layers.Dense(1, activation="sigmoid")])
    fixture("embedding_bidirectional_last", embedding_bidirectional_last, tokens,
            rng.integers(0, 2, size=(5, 1)).astype(np.float32), "binary_crossentropy", 5)

    # Sample weights, a weight a sample.
    def lstm_last():
        return keras.Sequential([keras.Input((5, 2)), layers.LSTM(3), layers.Dense(1)])
    x = rng.normal(size=(4, 5, 2)).astype(np.float32)
    fixture("sample_weights", lstm_last, x, rng.normal(size=(4, 1)).astype(np.float32), "mse", 6,
            sample_weight=np.array([1.0, 0.5, 2.0, 0.0], dtype=np.float32))

    # Timestep weights on a sequence output, under a mask.
    x = padded(rng, [5, 3, 4, 0], 5, 2, ["post", "pre", "post", "post"])
    def masking_lstm_steps():
        return keras.Sequential([keras.Input((5, 2)), layers.Masking(0.0), layers.LSTM(3, return_sequences=True),
                                 layers.Dense(1)])
    fixture("timestep_weights", masking_lstm_steps, x, rng.normal(size=(4, 5, 1)).astype(np.float32), "mse", 7,
            sample_weight=rng.uniform(0, 2, size=(4, 5)).astype(np.float32))

    # Class weights.
    def lstm_classes():
        return keras.Sequential([keras.Input((5, 2)), layers.LSTM(3), layers.Dense(3, activation="softmax")])
    x = rng.normal(size=(6, 5, 2)).astype(np.float32)
    fixture("class_weights", lstm_classes, x, np.eye(3, dtype=np.float32)[[0, 1, 2, 1, 1, 0]],
            "categorical_crossentropy", 8, class_weight={0: 1.0, 1: 2.0, 2: 0.5})

    # Class indices as targets: a label a sample, and a label a step under Embedding's mask.
    fixture("sparse_labels", lstm_classes, x, np.array([0, 1, 2, 1, 1, 0], dtype=np.float32),
            "sparse_categorical_crossentropy", 9, metric="accuracy")

    def embedding_sparse_sequences():
        return keras.Sequential([keras.Input((6,)), layers.Embedding(9, 3, mask_zero=True),
                                 layers.LSTM(4, return_sequences=True), layers.Dense(4, activation="softmax")])
    fixture("embedding_sparse_sequences", embedding_sparse_sequences, tokens,
            rng.integers(0, 4, size=(5, 6)).astype(np.float32), "sparse_categorical_crossentropy", 10,
            metric="accuracy")


if __name__ == "__main__":
    main()
