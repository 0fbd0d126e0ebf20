"""Writes losses.json: Keras 3's Huber and log-cosh losses and their gradients on fixed
predictions and targets, for LossParityTests. Run with Keras 3 on TensorFlow (outside CI;
tested with 3.15.1):

    /tmp/keras-venv/bin/python Tests/TestSupport/Fixtures/Parity/Losses/make_loss_fixtures.py

Errors span both sides of Huber's δ = 1 and values where log-cosh's softplus is large.
Float32 values are written with 9 significant digits.
"""
import json
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import keras
import numpy as np
import tensorflow as tf

HERE = os.path.dirname(os.path.abspath(__file__))
rng = np.random.default_rng(5)
targets = rng.uniform(-2, 2, (6, 4)).astype(np.float32)
predictions = (targets + rng.normal(0, 1.5, (6, 4))).astype(np.float32)
predictions[0, 0] = targets[0, 0] + 30  # log-cosh far out
predictions[0, 1] = targets[0, 1] - 30


def flat(array):
    return [float("%.9g" % v) for v in np.asarray(array, dtype=np.float32).ravel()]


cases = []
for name, loss in [("huber", keras.losses.Huber()), ("log_cosh", keras.losses.LogCosh())]:
    p = tf.Variable(predictions)
    with tf.GradientTape() as tape:
        value = loss(targets, p)
    cases.append({"loss": name, "value": float(value.numpy()), "gradient": flat(tape.gradient(value, p).numpy())})
with open(os.path.join(HERE, "losses.json"), "w") as out:
    json.dump({"keras": keras.__version__, "shape": list(targets.shape), "predictions": flat(predictions),
               "targets": flat(targets), "cases": cases}, out, separators=(",", ":"))
    out.write("\n")
