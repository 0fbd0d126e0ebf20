"""Writes the Keras parity fixtures the Swift tests compare against.

Run from a virtual environment with Keras 3 on TensorFlow (outside CI):

    python3 -m venv /tmp/keras-venv && /tmp/keras-venv/bin/pip install tensorflow-cpu h5py
    /tmp/keras-venv/bin/python Tests/TestSupport/Fixtures/Parity/make_keras_fixtures.py

Each model gets fixed weights (uniform in ±0.5 from a fixed NumPy seed) and a fixed batch;
the JSON file holds the inputs, targets, weights (Keras `get_weights()` order), the forward
output, the loss, the gradients, and the weights after two Adam, two SGD (momentum 0.9,
Nesterov) and two RMSprop steps on that batch, plus each layer's output shape and parameter
count as Keras's summary reports them. Float32 values are written with 9 significant digits,
which round-trips them exactly. Configs/<name>.json holds the model's Keras config
(`model.to_json()`), from which the Swift tests build the Loom model through LoomKeras's
decoder. `--configs-only` writes the configs alone (the data files stay as they are);
`--only NAME[,NAME...]` writes those fixtures alone (the others' models are still built, so
that Keras numbers every layer as a full run does).
"""
import json
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import numpy as np
import keras
import tensorflow as tf

HERE = os.path.dirname(os.path.abspath(__file__))
CONFIGS_ONLY = "--configs-only" in sys.argv[1:]
ONLY = None
if "--only" in sys.argv[1:]:
    if sys.argv.index("--only") + 1 >= len(sys.argv):
        sys.exit("--only takes fixture names: --only NAME[,NAME...]")
    ONLY = set(sys.argv[sys.argv.index("--only") + 1].split(","))


def flat(array):
    return [float("%.9g" % v) for v in np.asarray(array, dtype=np.float32).ravel()]


def tensor(array):
    array = np.asarray(array, dtype=np.float32)
    return {"shape": list(array.shape), "values": flat(array)}


def set_fixed_weights(model, seed):
    rng = np.random.default_rng(seed)
    model.set_weights([rng.uniform(-0.5, 0.5, w.shape).astype(np.float32) for w in model.get_weights()])


def make_loss(name):
    return {
        "mse": keras.losses.MeanSquaredError(),
        "mae": keras.losses.MeanAbsoluteError(),
        "binary_crossentropy": keras.losses.BinaryCrossentropy(),
        "categorical_crossentropy": keras.losses.CategoricalCrossentropy(),
    }[name]


def optimizer_steps(build, weights, x, y, loss, optimizer, steps=2):
    model = build()
    model.set_weights(weights)
    model.compile(optimizer=optimizer, loss=loss)
    after = []
    for _ in range(steps):
        model.train_on_batch(x, y)
        after.append([tensor(w) for w in model.get_weights()])
    return after


def reset(model):
    for layer in model.layers:
        if hasattr(layer, "reset_state"):
            layer.reset_state()


def write_config(name, model):
    os.makedirs(os.path.join(HERE, "Configs"), exist_ok=True)
    with open(os.path.join(HERE, "Configs", name + ".json"), "w") as f:
        f.write(model.to_json())


def fixture(name, build, x, y, loss, seed, extra=None):
    model = build()
    if ONLY is not None and name not in ONLY:
        # The models a full run builds for this fixture (three optimizers', and the extra's),
        # so that Keras numbers the next models' layers as it did then.
        for _ in range(4 if extra else 3):
            build()
        return
    write_config(name, model)
    if CONFIGS_ONLY:
        for _ in range(4 if extra else 3):
            build()
        print("wrote the config of", name)
        return
    set_fixed_weights(model, seed)
    weights = model.get_weights()
    loss_fn = make_loss(loss)
    with tf.GradientTape() as tape:
        output = model(x, training=True)
        loss_value = loss_fn(y, output)
    gradients = tape.gradient(loss_value, model.trainable_weights)
    record = {
        "name": name,
        "loss": loss,
        "x": tensor(x),
        "y": tensor(y),
        "weights": [tensor(w) for w in weights],
        "output": tensor(output),
        "loss_value": float(loss_value),
        "gradients": [tensor(g) for g in gradients],
        "adam": optimizer_steps(build, weights, x, y, loss, keras.optimizers.Adam(learning_rate=0.01)),
        "sgd": optimizer_steps(build, weights, x, y, loss,
                               keras.optimizers.SGD(learning_rate=0.1, momentum=0.9, nesterov=True)),
        "rmsprop": optimizer_steps(build, weights, x, y, loss, keras.optimizers.RMSprop(learning_rate=0.01)),
        "layers": [
            {"name": layer.name, "class": layer.__class__.__name__,
             "output_shape": [d if d is not None else -1 for d in layer.output.shape],
             "params": int(layer.count_params())}
            for layer in model.layers
        ],
    }
    if extra:
        record.update(extra(model, weights))
    with open(os.path.join(HERE, name + ".json"), "w") as f:
        json.dump(record, f, separators=(",", ":"))
    print("wrote", name, "loss", float(loss_value))


def stateful_extra(build, batches, targets):
    """Predictions over consecutive batches (state flows row to row), after a reset, and the
    weights after SGD steps on consecutive batches (state carried through training)."""

    def extra(model, weights):
        reset(model)
        sequence = [tensor(model.predict_on_batch(b)) for b in batches]
        reset(model)
        after_reset = tensor(model.predict_on_batch(batches[0]))
        trained = build()
        trained.set_weights(weights)
        trained.compile(optimizer=keras.optimizers.SGD(learning_rate=0.1), loss="mse")
        reset(trained)
        losses = [float(trained.train_on_batch(b, t)) for b, t in zip(batches, targets)]
        return {
            "batches": [tensor(b) for b in batches],
            "batch_targets": [tensor(t) for t in targets],
            "stateful_predictions": sequence,
            "prediction_after_reset": after_reset,
            "stateful_sgd_losses": losses,
            "stateful_sgd_weights": [tensor(w) for w in trained.get_weights()],
        }

    return extra


def main():
    rng = np.random.default_rng(2024)

    def vanilla():
        return keras.Sequential([keras.Input((10, 25)), keras.layers.LSTM(10), keras.layers.Dense(1)])

    fixture("vanilla", vanilla, rng.normal(size=(4, 10, 25)).astype(np.float32),
            rng.normal(size=(4, 1)).astype(np.float32), "mse", seed=1)

    def sequences():
        return keras.Sequential([keras.Input((6, 3)), keras.layers.LSTM(5, return_sequences=True),
                                 keras.layers.Dense(2)])

    fixture("return_sequences", sequences, rng.normal(size=(3, 6, 3)).astype(np.float32),
            rng.normal(size=(3, 6, 2)).astype(np.float32), "mse", seed=2)

    def backwards():
        return keras.Sequential([keras.Input((7, 2)),
                                 keras.layers.LSTM(4, return_sequences=True, go_backwards=True),
                                 keras.layers.LSTM(3, go_backwards=True), keras.layers.Dense(1)])

    fixture("go_backwards", backwards, rng.normal(size=(3, 7, 2)).astype(np.float32),
            rng.normal(size=(3, 1)).astype(np.float32), "mae", seed=3)

    def softmax():
        return keras.Sequential([keras.Input((5, 4)), keras.layers.LSTM(6),
                                 keras.layers.Dense(3, activation="softmax")])

    labels = np.eye(3, dtype=np.float32)[rng.integers(0, 3, size=5)]
    fixture("categorical", softmax, rng.normal(size=(5, 5, 4)).astype(np.float32), labels,
            "categorical_crossentropy", seed=4)

    def sigmoid():
        return keras.Sequential([keras.Input((5, 4)), keras.layers.LSTM(6),
                                 keras.layers.Dense(1, activation="sigmoid")])

    fixture("binary", sigmoid, rng.normal(size=(5, 5, 4)).astype(np.float32),
            rng.integers(0, 2, size=(5, 1)).astype(np.float32), "binary_crossentropy", seed=5)

    def one_to_one():
        return keras.Sequential([keras.Input((1, 4)), keras.layers.LSTM(5), keras.layers.Dense(1)])

    fixture("one_to_one", one_to_one, rng.normal(size=(4, 1, 4)).astype(np.float32),
            rng.normal(size=(4, 1)).astype(np.float32), "mse", seed=7)

    def many_to_many():
        return keras.Sequential([keras.Input((6, 3)), keras.layers.LSTM(5, return_sequences=True),
                                 keras.layers.TimeDistributed(keras.layers.Dense(1))])

    fixture("many_to_many", many_to_many, rng.normal(size=(3, 6, 3)).astype(np.float32),
            rng.normal(size=(3, 6, 1)).astype(np.float32), "mse", seed=8)

    def encoder_decoder():
        return keras.Sequential([keras.Input((7, 2)), keras.layers.LSTM(6), keras.layers.RepeatVector(3),
                                 keras.layers.LSTM(4, return_sequences=True),
                                 keras.layers.TimeDistributed(keras.layers.Dense(1, activation="sigmoid"))])

    fixture("encoder_decoder", encoder_decoder, rng.normal(size=(4, 7, 2)).astype(np.float32),
            rng.integers(0, 2, size=(4, 3, 1)).astype(np.float32), "binary_crossentropy", seed=9)

    def stacked():
        return keras.Sequential([keras.Input((5, 2))] + [keras.layers.LSTM(4, return_sequences=True) for _ in range(3)]
                                + [keras.layers.LSTM(4), keras.layers.Dense(1)])

    fixture("stacked", stacked, rng.normal(size=(3, 5, 2)).astype(np.float32),
            rng.normal(size=(3, 1)).astype(np.float32), "mse", seed=10)

    for index, (mode, sequences) in enumerate([("concat", True), ("sum", False), ("mul", True), ("ave", False)]):
        def bidirectional(mode=mode, sequences=sequences):
            return keras.Sequential([keras.Input((6, 3)),
                                     keras.layers.Bidirectional(keras.layers.LSTM(4, return_sequences=sequences),
                                                                merge_mode=mode),
                                     keras.layers.Dense(1)])

        target_shape = (3, 6, 1) if sequences else (3, 1)
        fixture("bidirectional_" + mode, bidirectional, rng.normal(size=(3, 6, 3)).astype(np.float32),
                rng.normal(size=target_shape).astype(np.float32), "mse", seed=11 + index)

    def cnn_lstm():
        return keras.Sequential([keras.Input((4, 8, 8, 1)),
                                 keras.layers.TimeDistributed(keras.layers.Conv2D(3, (3, 3), activation="relu")),
                                 keras.layers.TimeDistributed(keras.layers.MaxPooling2D((2, 2))),
                                 keras.layers.TimeDistributed(keras.layers.Flatten()),
                                 keras.layers.LSTM(5), keras.layers.Dense(1)])

    fixture("cnn_lstm", cnn_lstm, rng.normal(size=(3, 4, 8, 8, 1)).astype(np.float32),
            rng.normal(size=(3, 1)).astype(np.float32), "mse", seed=15)

    def one_to_many():
        return keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Conv2D(2, (3, 3), activation="relu"),
                                 keras.layers.MaxPooling2D((2, 2)), keras.layers.Flatten(), keras.layers.RepeatVector(4),
                                 keras.layers.LSTM(5, return_sequences=True),
                                 keras.layers.TimeDistributed(keras.layers.Dense(1))])

    fixture("one_to_many", one_to_many, rng.normal(size=(3, 8, 8, 1)).astype(np.float32),
            rng.normal(size=(3, 4, 1)).astype(np.float32), "mse", seed=16)

    def conv_same_strided():
        return keras.Sequential([keras.Input((7, 7, 2)),
                                 keras.layers.Conv2D(3, (3, 3), strides=(2, 2), padding="same", activation="tanh"),
                                 keras.layers.MaxPooling2D((2, 2), padding="same"), keras.layers.Flatten(),
                                 keras.layers.Dense(1)])

    fixture("conv_same_strided", conv_same_strided, rng.normal(size=(3, 7, 7, 2)).astype(np.float32),
            rng.normal(size=(3, 1)).astype(np.float32), "mse", seed=17)

    def gru():
        return keras.Sequential([keras.Input((6, 3)), keras.layers.GRU(4, return_sequences=True),
                                 keras.layers.GRU(3, go_backwards=True), keras.layers.Dense(1)])

    fixture("gru", gru, rng.normal(size=(3, 6, 3)).astype(np.float32),
            rng.normal(size=(3, 1)).astype(np.float32), "mse", seed=18)

    def simple_rnn():
        return keras.Sequential([keras.Input((6, 3)), keras.layers.SimpleRNN(4, return_sequences=True, go_backwards=True),
                                 keras.layers.SimpleRNN(3), keras.layers.Dense(1)])

    fixture("simple_rnn", simple_rnn, rng.normal(size=(3, 6, 3)).astype(np.float32),
            rng.normal(size=(3, 1)).astype(np.float32), "mse", seed=19)

    def stateful():
        return keras.Sequential([keras.Input(batch_shape=(2, 5, 3)), keras.layers.LSTM(4, stateful=True),
                                 keras.layers.Dense(1)])

    batches = [rng.normal(size=(2, 5, 3)).astype(np.float32) for _ in range(3)]
    targets = [rng.normal(size=(2, 1)).astype(np.float32) for _ in range(3)]
    fixture("stateful", stateful, batches[0], targets[0], "mse", seed=6,
            extra=stateful_extra(stateful, batches, targets))

    def activation_layers():
        return keras.Sequential([keras.Input((6, 3)), keras.layers.LSTM(5, return_sequences=True),
                                 keras.layers.Activation("relu"), keras.layers.Dense(3),
                                 keras.layers.Activation("softmax")])

    labels = np.eye(3, dtype=np.float32)[rng.integers(0, 3, size=(4, 6))]
    fixture("activation_layers", activation_layers, rng.normal(size=(4, 6, 3)).astype(np.float32), labels,
            "categorical_crossentropy", seed=20)


if __name__ == "__main__":
    main()
