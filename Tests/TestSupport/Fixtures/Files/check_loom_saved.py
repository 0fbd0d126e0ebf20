#!/usr/bin/env python3
"""Check that Keras 3 reads a model file written by Loom and predicts like it.

Usage:
    python check_loom_saved.py MODEL.keras|MODEL.h5 EXPECTED.json [WEIGHTS.weights.h5] [--tf-keras]

MODEL          a `.keras` file, or a Keras 2 `.h5`, written by Loom; loaded with
               `keras.models.load_model` (and, with --tf-keras, a `.h5` also with
               tf.keras 2's, from the tf_keras package).
EXPECTED.json  {"inputs":  [{"shape": [...], "data": [flat floats]}, ...],
                "outputs": [{"shape": [...], "data": [flat floats]}, ...]}
               (the format of the *.expected.json fixtures). Each input is one
               `model.predict(x, batch_size=len(x))` call; the calls are made
               consecutively from freshly reset states with NO reset between
               them, so stateful models carry their state over.
WEIGHTS        optional `.weights.h5` file written by Loom; it is loaded with
               `load_weights` into a fresh copy of the loaded model (same
               architecture, freshly initialised weights) and checked the same
               way.

Outputs must match to rtol 1e-5, atol 1e-6. Prints one verdict line per check
and exits with status 1 on any mismatch (2 on bad usage). Run by hand, outside
CI, e.g. with the venv described in make_keras_models.py.
"""

import json
import logging
import os
import sys
import warnings

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")

import numpy as np  # noqa: E402
import keras  # noqa: E402

warnings.filterwarnings("ignore")
logging.getLogger("tensorflow").setLevel(logging.ERROR)

RTOL = 1e-5
ATOL = 1e-6


def load_expected(path):
    with open(path) as f:
        doc = json.load(f)

    def arrays(key):
        return [np.asarray(t["data"], np.float32).reshape(t["shape"])
                for t in doc[key]]

    xs, ys = arrays("inputs"), arrays("outputs")
    if len(xs) != len(ys) or not xs:
        raise SystemExit(f"{path}: need as many outputs as inputs (>= 1)")
    return xs, ys


def reset_states(model):
    for layer in model.layers:
        for sub in (layer, getattr(layer, "forward_layer", None),
                    getattr(layer, "backward_layer", None)):
            if sub is not None and getattr(sub, "stateful", False):
                sub.reset_states()


def check(label, model, xs, ys):
    reset_states(model)
    ok = True
    for i, (x, want) in enumerate(zip(xs, ys)):
        got = np.asarray(model.predict(x, batch_size=x.shape[0], verbose=0))
        if got.shape != want.shape:
            print(f"FAIL {label} batch {i}: shape {list(got.shape)} != "
                  f"expected {list(want.shape)}")
            ok = False
            continue
        diff = float(np.max(np.abs(got - want))) if got.size else 0.0
        if np.allclose(got, want, rtol=RTOL, atol=ATOL):
            print(f"ok   {label} batch {i}: max |diff| {diff:.3g}")
        else:
            print(f"FAIL {label} batch {i}: max |diff| {diff:.3g} "
                  f"(rtol {RTOL}, atol {ATOL})")
            ok = False
    return ok


def first_line(e):
    return f"{type(e).__name__}: {str(e).strip().splitlines()[0] if str(e).strip() else ''}"


def main(argv):
    tf_keras = "--tf-keras" in argv
    argv = [a for a in argv if a != "--tf-keras"]
    if len(argv) not in (3, 4):
        print(__doc__.strip().split("\n\n")[1], file=sys.stderr)
        return 2
    model_path, expected_path = argv[1], argv[2]
    weights_path = argv[3] if len(argv) == 4 else None
    xs, ys = load_expected(expected_path)

    try:
        model = keras.models.load_model(model_path)
    except Exception as e:
        print(f"FAIL load_model({model_path}): {first_line(e)}")
        return 1
    print(f"ok   load_model({model_path}): {type(model).__name__}, "
          f"{len(model.layers)} layers, {model.count_params()} params")
    ok = check(os.path.basename(model_path), model, xs, ys)
    if tf_keras:
        import tf_keras as keras2
        try:
            old = keras2.models.load_model(model_path)
        except Exception as e:
            print(f"FAIL tf_keras load_model({model_path}): {first_line(e)}")
            return 1
        print(f"ok   tf_keras load_model({model_path}): {len(old.layers)} layers")
        ok = check("tf_keras " + os.path.basename(model_path), old, xs, ys) and ok

    if weights_path is not None:
        try:
            copy = keras.models.clone_model(model)  # fresh weights
            copy.load_weights(weights_path)
        except Exception as e:
            print(f"FAIL load_weights({weights_path}): {first_line(e)}")
            return 1
        print(f"ok   load_weights({weights_path})")
        ok = check(os.path.basename(weights_path), copy, xs, ys) and ok

    print("PASS" if ok else "MISMATCH")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
