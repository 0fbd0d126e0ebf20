"""Writes optimizers.json: Keras 3's learning-rate schedules and optimizer updates, for
OptimizerParityTests.

Run from a virtual environment with Keras 3 on TensorFlow (outside CI; tested with Keras 3.15.1):

    python3 -m venv /tmp/keras-venv && /tmp/keras-venv/bin/pip install tensorflow-cpu
    /tmp/keras-venv/bin/python Tests/TestSupport/Fixtures/Parity/Optimizers/make_optimizer_fixtures.py

Schedules: each schedule's rate at 20 update counts. Optimizers: two variables (a (5, 3)
kernel and a (3,) bias) from fixed values, three fixed gradient sets; the variables after
the first and after the third update, for each optimizer at its defaults and with each kind
of clipping and weight decay. LARS, which Keras lacks, against the NumPy reference below
(You et al. 2017, Algorithm 1, in float32). Float32 values are written with 9 significant
digits, which round-trips them exactly.
"""
import json
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import numpy as np
import keras

HERE = os.path.dirname(os.path.abspath(__file__))
STEPS = [0, 1, 2, 3, 5, 7, 10, 15, 20, 30, 49, 50, 51, 75, 99, 100, 101, 150, 333, 1000]
SHAPES = [(5, 3), (3,)]


def flat(array):
    return [float("%.9g" % v) for v in np.asarray(array, dtype=np.float32).ravel()]


S = keras.optimizers.schedules
SCHEDULES = [
    ("exponential:decay-steps=100,decay-rate=0.5", S.ExponentialDecay(0.1, 100, 0.5)),
    ("exponential:decay-steps=30,decay-rate=0.9,staircase=true", S.ExponentialDecay(0.1, 30, 0.9, staircase=True)),
    ("piecewise:boundaries=10/100/150,values=0.5/0.1/0.01/0.005", S.PiecewiseConstantDecay([10, 100, 150], [0.5, 0.1, 0.01, 0.005])),
    ("polynomial:decay-steps=100", S.PolynomialDecay(0.1, 100)),
    ("polynomial:decay-steps=40,end=0.001,power=2,cycle=true", S.PolynomialDecay(0.1, 40, 0.001, power=2.0, cycle=True)),
    ("inverse-time:decay-steps=10,decay-rate=0.5", S.InverseTimeDecay(0.1, 10, 0.5)),
    ("inverse-time:decay-steps=7,decay-rate=2,staircase=true", S.InverseTimeDecay(0.1, 7, 2.0, staircase=True)),
    ("cosine:decay-steps=100", S.CosineDecay(0.1, 100)),
    ("cosine:decay-steps=200,alpha=0.1,warmup-target=0.5,warmup-steps=50", S.CosineDecay(0.1, 200, alpha=0.1, warmup_target=0.5, warmup_steps=50)),
    ("cosine:initial=0,decay-steps=300,warmup-target=0.2,warmup-steps=100", S.CosineDecay(0.0, 300, warmup_target=0.2, warmup_steps=100)),
    ("cosine-restarts:first-decay-steps=20", S.CosineDecayRestarts(0.1, 20)),
    ("cosine-restarts:first-decay-steps=30,t-mul=1,m-mul=0.5,alpha=0.05", S.CosineDecayRestarts(0.1, 30, t_mul=1.0, m_mul=0.5, alpha=0.05)),
]

O = keras.optimizers
OPTIMIZERS = [
    ("sgd", {}, lambda **k: O.SGD(**k)),
    ("sgd", {"momentum": 0.9, "nesterov": 1}, lambda **k: O.SGD(momentum=0.9, nesterov=True, **k)),
    ("adam", {}, lambda **k: O.Adam(**k)),
    ("adamw", {}, lambda **k: O.AdamW(**k)),
    ("rmsprop", {"momentum": 0.5}, lambda **k: O.RMSprop(momentum=0.5, **k)),
    ("adagrad", {}, lambda **k: O.Adagrad(**k)),
    ("adamax", {}, lambda **k: O.Adamax(**k)),
    ("nadam", {}, lambda **k: O.Nadam(**k)),
    ("lamb", {}, lambda **k: O.Lamb(**k)),
    ("lion", {}, lambda **k: O.Lion(**k)),
]
EXTRAS = [
    ("none", {}),
    ("clipnorm", {"clipnorm": 0.5}),
    ("global_clipnorm", {"global_clipnorm": 0.7}),
    ("clipvalue", {"clipvalue": 0.3}),
    ("weight_decay", {"weight_decay": 0.1}),
]

rng = np.random.default_rng(7)
start = [rng.uniform(-1, 1, shape).astype(np.float32) for shape in SHAPES]
gradients = [[rng.uniform(-2, 2, shape).astype(np.float32) for shape in SHAPES] for _ in range(3)]
# One variable's gradient is zero in the second set (norms of 0 and a trust ratio of 1).
gradients[1][1][:] = 0


def run(make, rate, extra):
    variables = [keras.Variable(value) for value in start]
    optimizer = make(learning_rate=rate, **extra)
    optimizer.build(variables)
    after = []
    for g in gradients:
        optimizer.apply([keras.ops.convert_to_tensor(x) for x in g], variables)
        after.append([flat(v.numpy()) for v in variables])
    return after


def lars_reference(rate, momentum=0.9, eta=0.001, decay=0.0, epsilon=0.0, clip=None):
    f = np.float32
    weights = [w.copy() for w in start]
    velocities = [np.zeros_like(w) for w in start]
    after = []
    for g in gradients:
        g = [x.copy() for x in g]
        if clip is not None:
            norm = np.sqrt(sum(np.sum(np.square(x, dtype=f), dtype=f) for x in g), dtype=f)
            scale = f(clip) * min(f(1) / norm, f(1) / f(clip))
            g = [x * scale for x in g]
        for i, (w, x) in enumerate(zip(weights, g)):
            wn = np.sqrt(np.sum(np.square(w, dtype=f), dtype=f), dtype=f)
            gn = np.sqrt(np.sum(np.square(x, dtype=f), dtype=f), dtype=f)
            ratio = f(eta) * wn / (gn + f(decay) * wn + f(epsilon)) if wn > 0 and gn > 0 else f(1)
            velocities[i] = f(momentum) * velocities[i] + f(rate) * ratio * (x + f(decay) * w)
            weights[i] = w - velocities[i]
        after.append([flat(w) for w in weights])
    return after


cases = []
for name, arguments, make in OPTIMIZERS:
    rate = {"sgd": 0.1, "lion": 0.01}.get(name, 0.05)
    for extra_name, extra in EXTRAS:
        after = run(make, rate, extra)
        cases.append({"optimizer": name, "arguments": arguments, "extra": extra_name,
                      "extraValue": next(iter(extra.values()), 0), "rate": rate, "after": [after[0], after[2]]})
    # A scheduled rate: every update at the schedule's rate of its step.
    schedule = S.ExponentialDecay(rate, 1, 0.5)
    after = run(lambda learning_rate, **k: make(learning_rate=schedule, **k), rate, {})
    cases.append({"optimizer": name, "arguments": arguments, "extra": "schedule", "extraValue": 0, "rate": rate,
                  "after": [after[0], after[2]]})
for extra_name, clip in [("none", None), ("global_clipnorm", 0.7)]:
    after = lars_reference(2.0, clip=clip)
    cases.append({"optimizer": "lars", "arguments": {}, "extra": extra_name, "extraValue": clip or 0, "rate": 2.0,
                  "after": [after[0], after[2]]})
after = lars_reference(2.0, momentum=0.5, eta=0.01, decay=0.01, epsilon=1e-3)
cases.append({"optimizer": "lars", "arguments": {"momentum": 0.5, "trustCoefficient": 0.01, "decay": 0.01,
              "epsilon": 1e-3}, "extra": "none", "extraValue": 0, "rate": 2.0, "after": [after[0], after[2]]})

fixture = {
    "keras": keras.__version__,
    "steps": STEPS,
    "schedules": [{"text": text, "class": s.__class__.__name__, "rates": flat([s(step) for step in STEPS])}
                  for text, s in SCHEDULES],
    "shapes": [list(shape) for shape in SHAPES],
    "start": [flat(w) for w in start],
    "gradients": [[flat(x) for x in g] for g in gradients],
    "optimizers": cases,
}
with open(os.path.join(HERE, "optimizers.json"), "w") as out:
    json.dump(fixture, out, indent=None, separators=(",", ":"))
    out.write("\n")
