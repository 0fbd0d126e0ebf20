"""Writes metrics.json: Keras 3's RootMeanSquaredError, mean_absolute_percentage_error and
R2Score as `evaluate` reports them over several batches (the whole-epoch statistics, not a
mean of batch values), for MetricParityTests. Run with Keras 3 on TensorFlow (outside CI;
tested with 3.15.1):

    /work/venv/bin/python Tests/TestSupport/Fixtures/Parity/Metrics/make_metric_fixtures.py

The model is one Dense layer with fixed weights on 10 samples of 3 features and 2 outputs;
batches of 4 leave a short last batch. A target column near zero exercises MAPE's epsilon.
Float32 values are written with 9 significant digits.
"""
import json
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import keras
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
rng = np.random.default_rng(11)
x = rng.uniform(-1, 1, (10, 3)).astype(np.float32)
y = rng.normal(0, 2, (10, 2)).astype(np.float32)
y[3, 1] = 0.0
kernel = rng.normal(0, 1, (3, 2)).astype(np.float32)
bias = np.array([0.25, -0.5], dtype=np.float32)


def flat(array):
    return [float("%.9g" % v) for v in np.asarray(array, dtype=np.float32).ravel()]


model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
model.layers[0].set_weights([kernel, bias])
model.compile(
    optimizer="sgd", loss="mse",
    metrics=[keras.metrics.RootMeanSquaredError(), "mape", keras.metrics.R2Score()])
values = model.evaluate(x, y, batch_size=4, verbose=0, return_dict=True)
# A single output column: R² of one column, MAPE over it.
single = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
single.layers[0].set_weights([kernel[:, :1], bias[:1]])
single.compile(optimizer="sgd", loss="mse", metrics=[keras.metrics.RootMeanSquaredError(), "mape", keras.metrics.R2Score()])
one = single.evaluate(x, y[:, :1], batch_size=3, verbose=0, return_dict=True)
with open(os.path.join(HERE, "metrics.json"), "w") as out:
    json.dump({
        "keras": keras.__version__, "x": flat(x), "y": flat(y), "kernel": flat(kernel), "bias": flat(bias),
        "two_outputs": {k: float(v) for k, v in values.items()},
        "one_output": {k: float(v) for k, v in one.items()},
    }, out, separators=(",", ":"), sort_keys=True)
    out.write("\n")
print(values, one)
