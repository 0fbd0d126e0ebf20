#!/usr/bin/env python3
"""Generate the small Keras fixture files read by the LoomKeras tests.

What it writes (into the directory containing this script):

  Every model is built in this one Python process, as users build theirs: default
  layer names carry the session's counters ('lstm_7'), and some models name their
  layers ('encoder', or a Dense named "lstm"). Keras 3 stores weights by the order of
  layer classes whatever the names, which is what the Loom tests check.

  For every model NAME below (all Sequential, each with an explicit Input):
    NAME.keras           Keras 3 `model.save` (zip: config.json, metadata.json,
                         model.weights.h5)
    NAME.weights.h5      Keras 3 `model.save_weights`
    NAME.json            Keras 3 `model.to_json()` (re-indented, same content)
    NAME.expected.json   {"inputs":  [{"shape": [...], "data": [flat floats]}, ...],
                          "outputs": [{"shape": [...], "data": [flat floats]}, ...]}
                         one entry per consecutive `model.predict(x, batch_size=
                         <batch>)` call. Stateful models get three consecutive
                         batches with NO reset_states between them (state carries
                         over); all others get one batch of 3 samples. Values are
                         float32 written at full precision (repr of the float).
    For the models of LEGACY_KERAS3, additionally:
    NAME.k3.h5           Keras 3's legacy whole-model HDF5 (`model.save("x.h5")`:
                         `model_weights/<layer name>/...`, keras_version 3.x)
    With tf_keras (the tf.keras 2 API) installed, additionally:
    NAME.tf2.h5          legacy whole-model HDF5 (tf_keras `model.save("x.h5")`)
    NAME.tf2.json        tf_keras `model.to_json()` (re-indented, same content)
                         Same architecture and the SAME weight values as the
                         Keras 3 model (set_weights(keras3_model.get_weights())).
                         The script checks that tf_keras predicts like Keras 3 to
                         1e-5 and fails loudly otherwise, except for
                         `hard_sigmoid`, whose tf_keras activation is the Keras 2
                         formula; its tf_keras predictions go to
                         `hard_sigmoid.tf2.expected.json`.
    vanilla.tf2.weights.h5   tf_keras `save_weights("x.h5")` (legacy weights-only
                             layout: `layer_names` etc. on the root group)
    chunked.tf2.h5           vanilla.tf2.h5 with the `layer_names` attribute of
                             /model_weights and the `weight_names` attribute of
                             /model_weights/lstm split into `layer_names0`,
                             `layer_names1`, ... exactly as Keras 2's
                             `save_attributes_to_hdf5_group` does for attributes
                             over the HDF5 object-header limit. Predicts like
                             vanilla (vanilla.expected.json).

  For every seed architecture NAME of TRAINING (Keras 3):
    train_NAME.keras               the model with seeded uniform(-0.5, 0.5) weights
    train_NAME.data.json           {"x", "y": {"shape", "data"}, "batch_size",
                                    "learning_rate"}
    train_NAME.trained.weights.h5  the weights after one epoch of plain SGD on x, y
                                   (MSE, shuffle=False, no momentum)

  Refusal fixtures (Keras 3):
    functional.keras       a functional (non-Sequential) model
    unknown_layer.keras    Sequential with a LayerNormalization layer
    truncated.keras        first half of the bytes of vanilla.keras
    truncated.tf2.h5       first half of the bytes of vanilla.tf2.h5 (tf_keras only)
    mismatch.weights.h5    weights of Input((6,5)) -> LSTM(5) -> Dense(1): same
                           layer names as `vanilla`, different shapes

How to run (from the repository root):

    python3 -m venv /tmp/v && /tmp/v/bin/pip install tensorflow-cpu h5py tf_keras \
        && /tmp/v/bin/python Tests/TestSupport/Fixtures/Files/make_keras_models.py

Add `--only NAME ...` to write those models' files alone (the other files keep
their bytes). (`pip install tf_keras` pulls in the `tensorflow` wheel; if you already have
`tensorflow-cpu`, `pip install --no-deps tf_keras` avoids a second TensorFlow.)
Generated with TensorFlow 2.21 / Keras 3.15.1 / tf_keras 2.21. Without tf_keras
the *.tf2.* files are skipped (with a message). Values are deterministic (fixed
seeds; every weight is overwritten with seeded uniform(-0.5, 0.5) values, so
biases are nonzero); the bytes of the files are not (metadata.json carries a
save date, zip entries carry timestamps).
"""

import json
import logging
import os
import shutil
import warnings
import zlib

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
os.environ["KERAS_BACKEND"] = "tensorflow"

import h5py  # noqa: E402
import numpy as np  # noqa: E402
import keras  # noqa: E402
import tensorflow as tf  # noqa: E402

warnings.filterwarnings("ignore")
tf.get_logger().setLevel(logging.ERROR)

try:
    import tf_keras
except ImportError as e:  # pragma: no cover
    print(f"NOTE: tf_keras not importable ({e}); skipping all *.tf2.* files")
    tf_keras = None

OUT = os.path.dirname(os.path.abspath(__file__))
TOL = 1e-5


def path(name):
    return os.path.join(OUT, name)


# ---------------------------------------------------------------- models ---
# Each builder takes the Keras module (`keras` = Keras 3, or `tf_keras`) and
# returns a Sequential model. Both APIs accept the same code here.


def vanilla(K, units=4):
    L = K.layers
    return K.Sequential([K.Input((6, 5)), L.LSTM(units), L.Dense(1)])


def lstm_options(K):
    L = K.layers
    return K.Sequential([
        K.Input((5, 3)),
        L.LSTM(3, return_sequences=True, go_backwards=True,
               unit_forget_bias=False, activation="relu"),
        L.TimeDistributed(L.Dense(2, activation="tanh")),
    ])


def stateful(K):
    L = K.layers
    return K.Sequential([
        K.Input(batch_shape=(2, 4, 3)),
        L.LSTM(3, stateful=True, return_sequences=True),
        L.LSTM(2, stateful=True),
        L.Dense(1),
    ])


def encoder_decoder(K):
    L = K.layers
    return K.Sequential([
        K.Input((5, 2)),
        L.LSTM(4),
        L.RepeatVector(3),
        L.LSTM(4, return_sequences=True),
        L.TimeDistributed(L.Dense(1, activation="sigmoid")),
    ])


def bidirectional(K):
    L = K.layers
    return K.Sequential([
        K.Input((5, 3)),
        L.Bidirectional(L.LSTM(3, return_sequences=True), merge_mode="concat"),
        L.Bidirectional(L.LSTM(2), merge_mode="ave"),
        L.Dense(1),
    ])


def bidirectional_sum_mul(K):
    L = K.layers
    return K.Sequential([
        K.Input((4, 3)),
        L.Bidirectional(L.LSTM(2, return_sequences=True), merge_mode="sum"),
        L.Bidirectional(L.LSTM(2), merge_mode="mul"),
        L.Dense(1),
    ])


def bidirectional_stateful(K):
    L = K.layers
    return K.Sequential([
        K.Input(batch_shape=(2, 4, 3)),
        L.Bidirectional(L.LSTM(2, stateful=True)),
        L.Dense(1),
    ])


def cnn_lstm(K):
    L = K.layers
    return K.Sequential([
        K.Input((3, 6, 6, 1)),
        L.TimeDistributed(L.Conv2D(2, (3, 3), activation="relu")),
        L.TimeDistributed(L.MaxPooling2D((2, 2))),
        L.TimeDistributed(L.Flatten()),
        L.LSTM(3),
        L.Dense(1),
    ])


def conv(K):
    L = K.layers
    return K.Sequential([
        K.Input((8, 8, 2)),
        L.Conv2D(3, (3, 3), strides=(2, 2), padding="same", activation="relu"),
        L.MaxPooling2D((2, 2), padding="valid"),
        L.Flatten(),
        L.Dense(3, activation="softmax"),
    ])


def one_to_many(K):
    L = K.layers
    return K.Sequential([
        K.Input((6, 6, 1)),
        L.Conv2D(2, (3, 3), activation="relu"),
        L.MaxPooling2D((2, 2)),
        L.Flatten(),
        L.RepeatVector(3),
        L.LSTM(3, return_sequences=True),
        L.TimeDistributed(L.Dense(1)),
    ])


def gru_simple_rnn(K):
    L = K.layers
    return K.Sequential([
        K.Input((5, 3)),
        L.GRU(3, return_sequences=True),  # reset_after=True (default in both)
        L.SimpleRNN(2),
        L.Dense(1),
    ])


def dropout(K):
    L = K.layers
    return K.Sequential([
        K.Input((5, 3)),
        L.LSTM(3, dropout=0.2, recurrent_dropout=0.2),
        L.Dropout(0.5),
        L.Dense(1),
    ])


def embedding(K):
    L = K.layers
    return K.Sequential([
        K.Input((5,)),
        L.Embedding(input_dim=7, output_dim=3),
        L.LSTM(3),
        L.Dense(1),
    ])


def masking(K):
    # Padded sequences: Masking, a GRU returning sequences, an LSTM to one output.
    L = K.layers
    return K.Sequential([
        K.Input((6, 3)),
        L.Masking(mask_value=0.0),
        L.GRU(4, return_sequences=True),
        L.LSTM(3),
        L.Dense(2),
    ])


def embedding_mask_zero(K):
    # Index 0 is padding: the mask runs through a Bidirectional LSTM returning
    # sequences (zero_output_for_mask) and a TimeDistributed Dense.
    L = K.layers
    return K.Sequential([
        K.Input((6,)),
        L.Embedding(input_dim=9, output_dim=3, mask_zero=True),
        L.Bidirectional(L.LSTM(3, return_sequences=True)),
        L.TimeDistributed(L.Dense(2)),
    ])


def hard_sigmoid(K):
    # Keras 3's 'hard_sigmoid' is relu6(x + 3) / 6 = clip(x / 6 + 0.5, 0, 1).
    # tf_keras 2.x's 'hard_sigmoid' (tf_keras/src/backend.py) is the Keras 2
    # formula clip(0.2 * x + 0.5, 0, 1) (checked numerically below), so the
    # tf2 files of this model predict differently from the Keras 3 files.
    L = K.layers
    return K.Sequential([
        K.Input((4, 3)),
        L.LSTM(3, recurrent_activation="hard_sigmoid"),
        L.Dense(1),
    ])


def custom_names(K):
    # User-chosen names, two LSTMs with a Dropout between them, and names that
    # are other classes' default names: Keras 3 stores the LSTM named "dense"
    # under layers/lstm and the Dense named "lstm" under layers/dense.
    L = K.layers
    return K.Sequential([
        K.Input((6, 3)),
        L.LSTM(4, return_sequences=True, name="dense"),
        L.Dropout(0.3, name="drop"),
        L.LSTM(3, name="encoder"),
        L.Dense(2, activation="tanh", name="lstm"),
        L.Dense(1, name="lstm_1"),
    ])


def custom_wrappers(K):
    # Each wrapper twice, with other layers between, named by the user.
    L = K.layers
    return K.Sequential([
        K.Input((5, 3)),
        L.Bidirectional(L.LSTM(3, return_sequences=True, name="fwd"), name="bi_encoder"),
        L.TimeDistributed(L.Dense(4, activation="relu", name="proj"), name="per_step"),
        L.Bidirectional(L.GRU(2, return_sequences=True), merge_mode="sum", name="time_distributed"),
        L.TimeDistributed(L.Dense(1, name="head"), name="bidirectional"),
    ])


# name -> (builder, number of consecutive batches, samples per batch)
MODELS = [
    ("vanilla", vanilla, 1, 3),
    ("lstm_options", lstm_options, 1, 3),
    ("stateful", stateful, 3, 2),
    ("encoder_decoder", encoder_decoder, 1, 3),
    ("bidirectional", bidirectional, 1, 3),
    ("bidirectional_sum_mul", bidirectional_sum_mul, 1, 3),
    ("bidirectional_stateful", bidirectional_stateful, 3, 2),
    ("cnn_lstm", cnn_lstm, 1, 3),
    ("conv", conv, 1, 3),
    ("one_to_many", one_to_many, 1, 3),
    ("gru_simple_rnn", gru_simple_rnn, 1, 3),
    ("dropout", dropout, 1, 3),
    ("embedding", embedding, 1, 3),
    ("hard_sigmoid", hard_sigmoid, 1, 3),
    ("custom_names", custom_names, 1, 3),
    ("custom_wrappers", custom_wrappers, 1, 3),
    ("masking", masking, 1, 4),
    ("embedding_mask_zero", embedding_mask_zero, 1, 4),
]


# One epoch of plain SGD for each seed architecture: name -> (builder,
# samples, batch size). Built in the same session as the models above, so
# their layer names carry counters too.


def t_many_to_one(K):
    L = K.layers
    return K.Sequential([K.Input((6, 3)), L.LSTM(4), L.Dense(1)])


def t_one_to_one(K):
    L = K.layers
    return K.Sequential([K.Input((1, 4)), L.LSTM(5), L.Dense(1)])


def t_stacked(K):
    L = K.layers
    return K.Sequential([K.Input((5, 2)), L.LSTM(4, return_sequences=True),
                         L.LSTM(4, return_sequences=True), L.LSTM(3), L.Dense(1)])


def t_many_to_many(K):
    L = K.layers
    return K.Sequential([K.Input((6, 3)), L.LSTM(5, return_sequences=True),
                         L.TimeDistributed(L.Dense(1))])


def t_encoder_decoder(K):
    L = K.layers
    return K.Sequential([K.Input((5, 2)), L.LSTM(4), L.RepeatVector(3),
                         L.LSTM(4, return_sequences=True),
                         L.TimeDistributed(L.Dense(1))])


def t_one_to_many(K):
    L = K.layers
    return K.Sequential([K.Input((6, 6, 1)), L.Conv2D(2, (3, 3), activation="relu"),
                         L.MaxPooling2D((2, 2)), L.Flatten(), L.RepeatVector(3),
                         L.LSTM(3, return_sequences=True), L.TimeDistributed(L.Dense(1))])


def t_cnn_lstm(K):
    L = K.layers
    return K.Sequential([K.Input((3, 6, 6, 1)),
                         L.TimeDistributed(L.Conv2D(2, (3, 3), activation="relu")),
                         L.TimeDistributed(L.MaxPooling2D((2, 2))),
                         L.TimeDistributed(L.Flatten()), L.LSTM(3), L.Dense(1)])


def t_bidirectional(mode):
    def build(K):
        L = K.layers
        return K.Sequential([K.Input((5, 3)),
                             L.Bidirectional(L.LSTM(3, return_sequences=True), merge_mode=mode),
                             L.Bidirectional(L.LSTM(2), merge_mode=mode), L.Dense(1)])
    return build


def t_stateful(K):
    L = K.layers
    return K.Sequential([K.Input(batch_shape=(2, 4, 3)),
                         L.LSTM(3, stateful=True, return_sequences=True),
                         L.LSTM(2, stateful=True), L.Dense(1)])


def t_gru(K):
    L = K.layers
    return K.Sequential([K.Input((5, 3)), L.GRU(4, return_sequences=True), L.GRU(3), L.Dense(1)])


def t_simple_rnn(K):
    L = K.layers
    return K.Sequential([K.Input((5, 3)), L.SimpleRNN(4, return_sequences=True),
                         L.SimpleRNN(3), L.Dense(1)])


def t_embedding(K):
    L = K.layers
    return K.Sequential([K.Input((5,)), L.Embedding(7, 3), L.LSTM(3), L.Dense(1)])


def t_go_backwards(K):
    L = K.layers
    return K.Sequential([K.Input((6, 3)), L.LSTM(4, return_sequences=True, go_backwards=True),
                         L.LSTM(3, go_backwards=True), L.Dense(1)])


def t_custom_names(K):
    L = K.layers
    return K.Sequential([K.Input((6, 3)), L.LSTM(4, return_sequences=True, name="dense"),
                         L.LSTM(3, name="encoder"), L.Dense(2, name="lstm"),
                         L.Dense(1, name="lstm_1")])


TRAINING = [
    ("many_to_one", t_many_to_one, 12, 4),
    ("one_to_one", t_one_to_one, 12, 4),
    ("stacked", t_stacked, 12, 4),
    ("many_to_many", t_many_to_many, 12, 4),
    ("encoder_decoder", t_encoder_decoder, 12, 4),
    ("one_to_many", t_one_to_many, 12, 4),
    ("cnn_lstm", t_cnn_lstm, 12, 4),
    ("bidirectional_concat", t_bidirectional("concat"), 12, 4),
    ("bidirectional_sum", t_bidirectional("sum"), 12, 4),
    ("bidirectional_mul", t_bidirectional("mul"), 12, 4),
    ("bidirectional_ave", t_bidirectional("ave"), 12, 4),
    ("stateful", t_stateful, 6, 2),
    ("gru", t_gru, 12, 4),
    ("simple_rnn", t_simple_rnn, 12, 4),
    ("embedding", t_embedding, 12, 4),
    ("go_backwards", t_go_backwards, 12, 4),
    ("custom_names", t_custom_names, 12, 4),
]
LEARNING_RATE = 0.1


def make_training_fixtures(report):
    """train_NAME.keras (the model before training), train_NAME.data.json
    ({"x", "y": {"shape", "data"}, "batch_size", "learning_rate"}) and
    train_NAME.trained.weights.h5 (its weights after one epoch of plain SGD
    on x, y: MSE, no shuffle, no momentum)."""
    for name, builder, samples, batch in TRAINING:
        model = fresh(keras, builder)
        randomize(model, seed_of("train_" + name))
        model.save(path(f"train_{name}.keras"))
        rng = np.random.default_rng(seed_of("train_" + name) + 1)
        shape = (samples,) + tuple(model.inputs[0].shape[1:])
        if name == "embedding":
            x = rng.integers(0, 7, size=shape).astype(np.float32)
        else:
            x = rng.uniform(-1.0, 1.0, size=shape).astype(np.float32)
        y = rng.uniform(-1.0, 1.0, size=(samples,) + tuple(model.outputs[0].shape[1:])).astype(np.float32)
        model.compile(optimizer=keras.optimizers.SGD(learning_rate=LEARNING_RATE), loss="mse")
        before = [w.copy() for w in model.get_weights()]
        model.fit(x, y, batch_size=batch, epochs=1, shuffle=False, verbose=0)
        model.save_weights(path(f"train_{name}.trained.weights.h5"))
        moved = max(float(np.max(np.abs(a - b))) for a, b in zip(model.get_weights(), before))
        assert moved > 1e-3, f"train_{name}: the epoch barely moved the weights"
        with open(path(f"train_{name}.data.json"), "w") as f:
            json.dump({"x": tensor_json(x), "y": tensor_json(y), "batch_size": batch,
                       "learning_rate": LEARNING_RATE}, f)
            f.write("\n")
        report.append(f"train_{name}: {model.count_params()} params, "
                      f"layers {[l.name for l in model.layers]}, largest change {moved:.3g}")


# Models also saved in Keras 3's own legacy HDF5 format (NAME.k3.h5).
LEGACY_KERAS3 = ["custom_names", "custom_wrappers"]


# --------------------------------------------------------------- helpers ---


def seed_of(name):
    return zlib.crc32(name.encode()) & 0x7FFFFFFF


def fresh(K, builder, *args):
    """Build in the running session, as users do: every model of this script
    is made in one process, so default layer names carry the session's
    counters ('lstm_7', 'dense_12', ...) and differ from the paths Keras 3
    stores weights under ('layers/lstm', 'layers/dense')."""
    if K is keras:
        keras.utils.set_random_seed(1234)
    else:
        tf_keras.utils.set_random_seed(1234)
    return builder(K, *args)


def randomize(model, seed):
    rng = np.random.default_rng(seed)
    values = [rng.uniform(-0.5, 0.5, w.shape).astype(np.float32)
              for w in model.get_weights()]
    model.set_weights(values)
    return values


def make_inputs(name, model, n_batches, batch):
    rng = np.random.default_rng(seed_of(name) + 1)
    shape = tuple(model.inputs[0].shape[1:])
    xs = []
    for _ in range(n_batches):
        if name == "embedding":
            x = rng.integers(0, 7, size=(batch,) + shape).astype(np.float32)
        elif name == "embedding_mask_zero":
            x = rng.integers(1, 9, size=(batch,) + shape).astype(np.float32)
        else:
            x = rng.uniform(-1.0, 1.0, size=(batch,) + shape).astype(np.float32)
        if name in ("masking", "embedding_mask_zero"):
            # Right padding, left padding with a gap, and a row that is all padding.
            x[0, 4:] = 0
            x[1, :2] = 0
            x[1, 3] = 0
            x[2, :] = 0
        xs.append(x)
    return xs


def reset_states(model):
    for layer in model.layers:
        if hasattr(layer, "reset_states") and getattr(layer, "stateful", False):
            layer.reset_states()
        inner = [getattr(layer, a, None) for a in ("forward_layer", "backward_layer")]
        for sub in inner:
            if sub is not None and getattr(sub, "stateful", False):
                sub.reset_states()


def predict_all(model, xs, batch):
    """Consecutive predict calls from zero state, without resets in between."""
    reset_states(model)
    return [np.asarray(model.predict(x, batch_size=batch, verbose=0), np.float32)
            for x in xs]


def tensor_json(a):
    a = np.asarray(a, np.float32)
    return {"shape": list(a.shape), "data": [float(v) for v in a.ravel()]}


def write_expected(fname, xs, ys):
    with open(path(fname), "w") as f:
        json.dump({"inputs": [tensor_json(x) for x in xs],
                   "outputs": [tensor_json(y) for y in ys]}, f)
        f.write("\n")


def check_close(what, got, want, tol=TOL):
    for i, (g, w) in enumerate(zip(got, want)):
        if g.shape != w.shape or not np.allclose(g, w, rtol=tol, atol=tol):
            diff = np.max(np.abs(g - w)) if g.shape == w.shape else "shape"
            raise SystemExit(f"FAIL: {what}: batch {i} differs (max |diff| {diff})")


def write_json(fname, text):
    """Writes `to_json()` output pretty-printed (indent 2, key order kept)."""
    with open(path(fname), "w") as f:
        f.write(json.dumps(json.loads(text), indent=2))
        f.write("\n")


def truncate(src, dst):
    with open(path(src), "rb") as f:
        data = f.read()
    with open(path(dst), "wb") as f:
        f.write(data[: len(data) // 2])


def check_hard_sigmoid_formulas():
    x = np.array([-3.0, -2.0, -1.0, 0.0, 1.0, 2.0, 3.0], np.float32)
    k3 = np.asarray(keras.activations.hard_sigmoid(x))
    assert np.allclose(k3, np.clip(x / 6 + 0.5, 0, 1), atol=1e-7), k3
    if tf_keras is not None:
        k2 = np.asarray(tf_keras.activations.hard_sigmoid(tf.constant(x)))
        assert np.allclose(k2, np.clip(0.2 * x + 0.5, 0, 1), atol=1e-7), k2


def chunk_attribute(group, name, n_chunks):
    """Re-save `group.attrs[name]` the way Keras 2's
    `save_attributes_to_hdf5_group` does when the attribute is larger than
    HDF5_OBJECT_HEADER_LIMIT: uses tf_keras's own function with the limit
    lowered so that exactly `n_chunks` chunks result."""
    from tf_keras.src.saving.legacy import hdf5_format as H

    # h5py returns the (variable-length) strings tf_keras wrote as str.
    data = [v.encode("utf8") if isinstance(v, str) else bytes(v)
            for v in group.attrs[name]]
    arr = np.asarray(data)
    limit = max(max(len(x) for x in data),
                max(c.nbytes for c in np.array_split(arr, n_chunks)))
    assert all(c.nbytes > limit for c in np.array_split(arr, n_chunks - 1))
    del group.attrs[name]
    saved = H.HDF5_OBJECT_HEADER_LIMIT
    H.HDF5_OBJECT_HEADER_LIMIT = limit
    try:
        H.save_attributes_to_hdf5_group(group, name, data)
    finally:
        H.HDF5_OBJECT_HEADER_LIMIT = saved
    assert name not in group.attrs
    assert f"{name}{n_chunks - 1}" in group.attrs and f"{name}{n_chunks}" not in group.attrs
    assert H.load_attributes_from_hdf5_group(group, name) == [d.decode() for d in data]


# ------------------------------------------------------------------ main ---


def main(only):
    """Writes every fixture, or with names (`--only NAME ...`) those models' files alone."""
    check_hard_sigmoid_formulas()
    report = []

    for name, builder, n_batches, batch in MODELS:
        if only and name not in only:
            continue
        model = fresh(keras, builder)
        weights = randomize(model, seed_of(name))
        reset_states(model)
        model.save(path(f"{name}.keras"))
        model.save_weights(path(f"{name}.weights.h5"))
        write_json(f"{name}.json", model.to_json())

        xs = make_inputs(name, model, n_batches, batch)
        ys = predict_all(model, xs, batch)
        write_expected(f"{name}.expected.json", xs, ys)

        if n_batches > 1:  # the state must really carry over between batches
            fresh_y = predict_all(model, xs[1:2], batch)[0]
            assert not np.allclose(fresh_y, ys[1], rtol=TOL, atol=TOL), name

        # Keras 3 reads its own files back.
        check_close(f"{name}.keras reload", predict_all(
            keras.models.load_model(path(f"{name}.keras")), xs, batch), ys)
        other = fresh(keras, builder)
        other.load_weights(path(f"{name}.weights.h5"))
        check_close(f"{name}.weights.h5 reload", predict_all(other, xs, batch), ys)
        other = keras.models.model_from_json(open(path(f"{name}.json")).read())
        other.load_weights(path(f"{name}.weights.h5"))
        check_close(f"{name}.json reload", predict_all(other, xs, batch), ys)
        line = f"{name}: {model.count_params()} params"
        if name in LEGACY_KERAS3:
            model.save(path(f"{name}.k3.h5"))
            check_close(f"{name}.k3.h5 reload", predict_all(
                keras.models.load_model(path(f"{name}.k3.h5")), xs, batch), ys)
            line += "; Keras 3 legacy .h5 ok"

        if tf_keras is not None:
            m2 = fresh(tf_keras, builder)
            shapes2 = [w.shape for w in m2.get_weights()]
            assert shapes2 == [w.shape for w in weights], (name, shapes2)
            m2.set_weights(weights)
            reset_states(m2)
            m2.save(path(f"{name}.tf2.h5"))
            write_json(f"{name}.tf2.json", m2.to_json())
            ys2 = predict_all(m2, xs, batch)
            if name == "hard_sigmoid":
                write_expected(f"{name}.tf2.expected.json", xs, ys2)
                diff = max(float(np.max(np.abs(a - b))) for a, b in zip(ys, ys2))
                assert diff > 1e-4, "hard_sigmoid: tf_keras should differ"
                line += f"; tf2 differs from Keras 3 by {diff:.3g} (expected)"
            else:
                check_close(f"{name}: tf_keras vs Keras 3", ys2, ys)
            r2 = tf_keras.models.load_model(path(f"{name}.tf2.h5"))
            check_close(f"{name}.tf2.h5 reload", predict_all(r2, xs, batch), ys2)
            r2 = tf_keras.models.model_from_json(open(path(f"{name}.tf2.json")).read())
            r2.set_weights(weights)
            check_close(f"{name}.tf2.json reload", predict_all(r2, xs, batch), ys2)
            line += "; tf2 ok"

            if name == "vanilla":
                # tf_keras writes its new (Keras-3-like) layout for paths
                # ending in ".weights.h5"; the legacy layout needs another
                # suffix, so save under a temporary name and rename.
                tmp = path("vanilla.tf2.legacy-weights.tmp.h5")
                m2.save_weights(tmp)
                os.replace(tmp, path("vanilla.tf2.weights.h5"))
                with h5py.File(path("vanilla.tf2.weights.h5"), "r") as f:
                    assert "layer_names" in f.attrs and m2.layers[0].name in f, "not legacy"
                r2 = fresh(tf_keras, builder)
                shutil.copyfile(path("vanilla.tf2.weights.h5"), tmp)
                r2.load_weights(tmp)  # legacy loader (suffix is not .weights.h5)
                os.remove(tmp)
                check_close("vanilla.tf2.weights.h5 reload",
                            predict_all(r2, xs, batch), ys)

                shutil.copyfile(path("vanilla.tf2.h5"), path("chunked.tf2.h5"))
                with h5py.File(path("chunked.tf2.h5"), "r+") as f:
                    chunk_attribute(f["model_weights"], "layer_names", 2)
                    chunk_attribute(f["model_weights"][m2.layers[0].name], "weight_names", 2)
                r2 = tf_keras.models.load_model(path("chunked.tf2.h5"))
                check_close("chunked.tf2.h5 reload", predict_all(r2, xs, batch), ys)
        report.append(line)
    if only:
        print("\n".join(report))
        return

    # ------------------------------------------------ refusal fixtures ---
    inp = keras.Input((5, 3))
    out = keras.layers.Dense(1)(keras.layers.LSTM(2)(inp))
    functional = keras.Model(inp, out)
    randomize(functional, seed_of("functional"))
    functional.save(path("functional.keras"))

    def unknown_layer(K):
        L = K.layers
        return K.Sequential([K.Input((5, 3)), L.LSTM(3),
                             L.LayerNormalization(), L.Dense(1)])

    m = fresh(keras, unknown_layer)
    randomize(m, seed_of("unknown_layer"))
    m.save(path("unknown_layer.keras"))

    truncate("vanilla.keras", "truncated.keras")
    if tf_keras is not None:
        truncate("vanilla.tf2.h5", "truncated.tf2.h5")

    m = fresh(keras, vanilla, 5)
    randomize(m, seed_of("mismatch"))
    m.save_weights(path("mismatch.weights.h5"))
    try:
        fresh(keras, vanilla).load_weights(path("mismatch.weights.h5"))
    except Exception as e:  # expected
        report.append(f"mismatch.weights.h5 refused by Keras 3: {type(e).__name__}")
    else:
        raise SystemExit("FAIL: mismatch.weights.h5 loaded into vanilla")

    make_training_fixtures(report)

    print("\n".join(report))
    print("all fixtures written to", OUT)


if __name__ == "__main__":
    import sys
    main(sys.argv[2:] if sys.argv[1:2] == ["--only"] else [])
