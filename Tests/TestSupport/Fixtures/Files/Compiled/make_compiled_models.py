"""Compiled Keras models and what Keras's own fit makes of them, for KerasCompileTests.

Run with Keras 3 (tested with 3.15.1), outside CI:

    /tmp/keras-venv/bin/python Tests/TestSupport/Fixtures/Files/Compiled/make_compiled_models.py

For each compiled model (optimizer with clipping and a schedule as a user writes them):
NAME.keras, saved compiled before training; NAME.trained.keras, saved after one epoch of
`fit` (optimizer state included); NAME.json: the data, the weights after that epoch and
after a second epoch continued from the trained file. accumulation_sgd.keras and .json:
SGD at a constant rate with gradient_accumulation_steps=2 (where Keras's averaging of
micro-batches and Loom's one batch of their rows agree), after one epoch of batch 4.
sgd_momentum_mae.h5 and .json: a model saved compiled as legacy HDF5 (`--legacy-h5` makes
only these). named_metrics.keras and .json: metrics named as users name them, and the keys
and values of Keras's history (`--named-metrics` makes only these). `--check FILE NAME` loads a `.keras`
file Loom saved after one epoch, continues it one epoch in Keras and prints the largest
difference from Keras's own second epoch.
"""
import json
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import numpy as np
import keras

HERE = os.path.dirname(os.path.abspath(__file__))
O = keras.optimizers
S = keras.optimizers.schedules


def optimizers():
    return {
        "sgd_momentum_clipnorm": O.SGD(learning_rate=0.05, momentum=0.9, clipnorm=1.0),
        "adam_cosine_warmup_global_clipnorm": O.Adam(
            learning_rate=S.CosineDecay(0.0, 20, warmup_target=0.01, warmup_steps=4), global_clipnorm=0.5),
        "adamw_clipvalue": O.AdamW(learning_rate=0.01, clipvalue=0.1),
        "lamb": O.Lamb(learning_rate=0.01),
        "nadam_exponential": O.Nadam(learning_rate=S.ExponentialDecay(0.01, 5, 0.7)),
        "rmsprop_momentum": O.RMSprop(learning_rate=0.005, momentum=0.5, weight_decay=0.01),
    }


def data():
    rng = np.random.default_rng(3)
    x = rng.uniform(-1, 1, (32, 5, 3)).astype(np.float32)
    y = (x.sum(axis=(1, 2))[:, None] * 0.2).astype(np.float32)
    return x, y


def model(optimizer):
    keras.utils.set_random_seed(5)
    m = keras.Sequential([keras.Input((5, 3)), keras.layers.LSTM(4), keras.layers.Dense(1)])
    m.compile(optimizer=optimizer, loss="mse", metrics=["mae"])
    return m


def flat(weights):
    return [[float("%.9g" % v) for v in np.asarray(w, dtype=np.float32).ravel()] for w in weights]


if len(sys.argv) == 4 and sys.argv[1] == "--check":
    loom_file, name = sys.argv[2], sys.argv[3]
    expected = json.load(open(os.path.join(HERE, name + ".json")))
    x, y = data()
    m = keras.models.load_model(loom_file)
    m.fit(x, y, epochs=1, batch_size=8, shuffle=False, verbose=0)
    worst = max(float(np.max(np.abs(np.asarray(w).ravel() - np.asarray(e)))) for w, e in zip(m.get_weights(), expected["second"]))
    print(f"{name}: largest difference from Keras's own second epoch {worst:.3g}")
    sys.exit(0 if worst < 1e-5 else 1)

def legacy_h5():
    """sgd_momentum_mae.h5: a whole model saved compiled in the legacy HDF5 format (its
    optimizer and loss in the root attribute `training_config`), and its JSON with the weights
    after one epoch of Keras's fit from the saved weights with that optimizer and loss, fresh
    (Keras 3 does not continue an .h5 file's optimizer state)."""
    x, y = data()
    keras.utils.set_random_seed(5)
    m = keras.Sequential([keras.Input((5, 3)), keras.layers.GRU(4, name="recurrent"), keras.layers.Dense(1, name="head")])
    m.compile(optimizer=O.SGD(learning_rate=0.05, momentum=0.9), loss="mean_absolute_error")
    m.save(os.path.join(HERE, "sgd_momentum_mae.h5"))
    start = m.get_weights()
    again = keras.models.load_model(os.path.join(HERE, "sgd_momentum_mae.h5"), compile=False)
    again.compile(optimizer=O.SGD(learning_rate=0.05, momentum=0.9), loss="mean_absolute_error")
    again.fit(x, y, epochs=1, batch_size=8, shuffle=False, verbose=0)
    with open(os.path.join(HERE, "sgd_momentum_mae.json"), "w") as out:
        json.dump({"keras": keras.__version__, "x": flat([x])[0], "y": flat([y])[0], "start": flat(start),
                   "first": flat(again.get_weights()), "second": []}, out, separators=(",", ":"))
        out.write("\n")


def named_metrics():
    """named_metrics.keras: metrics as a user names them (an object with its own name, a
    function's long name, an object of its default name, a renamed R2Score), saved compiled
    before training; named_metrics.json: the history of one epoch of Keras's fit, keyed as
    Keras logs them."""
    x, y = data()
    keras.utils.set_random_seed(5)
    m = keras.Sequential([keras.Input((5, 3)), keras.layers.LSTM(4), keras.layers.Dense(1)])
    metrics = [keras.metrics.MeanAbsoluteError(name="my_mae"), "mean_squared_error", keras.metrics.RootMeanSquaredError(),
               keras.metrics.R2Score(name="fit")]
    m.compile(optimizer=O.SGD(learning_rate=0.05), loss="mse", metrics=metrics)
    m.save(os.path.join(HERE, "named_metrics.keras"))
    history = m.fit(x, y, epochs=1, batch_size=8, shuffle=False, verbose=0).history
    with open(os.path.join(HERE, "named_metrics.json"), "w") as out:
        json.dump({"keras": keras.__version__, "x": flat([x])[0], "y": flat([y])[0],
                   "history": {key: [float(v) for v in values] for key, values in history.items()}}, out, separators=(",", ":"))
        out.write("\n")


if len(sys.argv) == 2 and sys.argv[1] == "--legacy-h5":
    legacy_h5()
    sys.exit(0)
if len(sys.argv) == 2 and sys.argv[1] == "--named-metrics":
    named_metrics()
    sys.exit(0)

legacy_h5()
named_metrics()
x, y = data()
for name, optimizer in optimizers().items():
    m = model(optimizer)
    m.save(os.path.join(HERE, name + ".keras"))
    start = m.get_weights()
    m.fit(x, y, epochs=1, batch_size=8, shuffle=False, verbose=0)
    first = m.get_weights()
    m.save(os.path.join(HERE, name + ".trained.keras"))
    again = keras.models.load_model(os.path.join(HERE, name + ".trained.keras"))
    again.fit(x, y, epochs=1, batch_size=8, shuffle=False, verbose=0)
    with open(os.path.join(HERE, name + ".json"), "w") as out:
        json.dump({"keras": keras.__version__, "x": flat([x])[0], "y": flat([y])[0], "start": flat(start),
                   "first": flat(first), "second": flat(again.get_weights())}, out, separators=(",", ":"))
        out.write("\n")

m = model(O.SGD(learning_rate=0.1, gradient_accumulation_steps=2))
m.save(os.path.join(HERE, "accumulation_sgd.keras"))
start = m.get_weights()
m.fit(x, y, epochs=1, batch_size=4, shuffle=False, verbose=0)
with open(os.path.join(HERE, "accumulation_sgd.json"), "w") as out:
    json.dump({"keras": keras.__version__, "x": flat([x])[0], "y": flat([y])[0], "start": flat(start), "first": flat(m.get_weights()),
               "second": []}, out, separators=(",", ":"))
    out.write("\n")
