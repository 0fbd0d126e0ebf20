"""Keras's callbacks driven by scripted epoch logs: what they decide, for CallbackTests.

Run with Keras 3 (tested with 3.15.1): python make_callback_fixtures.py > callbacks.json
Each case: the callback, its arguments, the monitored values per epoch, and what Keras did:
the epoch it stopped at (EarlyStopping), the weights' marker left in the model (the epoch
whose weights were restored), the learning rate after each epoch (ReduceLROnPlateau), the
epochs saved (ModelCheckpoint with save_best_only).
"""
import json
import os
import tempfile

import keras
import numpy as np

SEQUENCES = {
    "falls_then_plateaus": [1.0, 0.8, 0.8, 0.79995, 0.81, 0.7, 0.7, 0.7, 0.7, 0.69, 0.7, 0.71],
    "noisy": [0.5, 0.6, 0.4, 0.45, 0.41, 0.39, 0.5, 0.38, 0.38, 0.37, 0.6, 0.6, 0.6],
    "only_worse": [0.3, 0.4, 0.5, 0.6, 0.7, 0.8],
    "rises": [0.1, 0.2, 0.2, 0.25, 0.24, 0.3, 0.3, 0.3, 0.31, 0.29],
}


def model():
    m = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1)])
    m.compile(optimizer=keras.optimizers.SGD(learning_rate=1.0), loss="mse")
    return m


def mark(m, epoch):
    """The model's weights say which epoch they are from."""
    m.layers[0].kernel.assign(np.array([[float(epoch)]], dtype="float32"))


cases = []


def numbers(arguments):
    """Arguments as numbers (true is 1), as the Swift test reads them."""
    return {key: float(value) for key, value in arguments.items()}

early = [
    dict(patience=0), dict(patience=2), dict(patience=2, min_delta=0.01), dict(patience=1, restore_best_weights=True),
    dict(patience=3, restore_best_weights=True), dict(patience=2, start_from_epoch=3), dict(patience=2, baseline=0.75),
    dict(patience=1, baseline=0.2, restore_best_weights=True),
]
for name, values in SEQUENCES.items():
    monitor, mode = ("val_acc", "max") if name == "rises" else ("val_loss", "min")
    for arguments in early:
        m = model()
        callback = keras.callbacks.EarlyStopping(monitor=monitor, mode=mode, **arguments)
        callback.set_model(m)
        callback.on_train_begin()
        stopped = None
        for epoch, value in enumerate(values):
            mark(m, epoch)
            callback.on_epoch_end(epoch, {monitor: value})
            if m.stop_training:
                stopped = epoch
                break
        callback.on_train_end()
        cases.append(dict(callback="EarlyStopping", sequence=name, monitor=monitor, mode=mode, arguments=numbers(arguments),
                          values=values, stopped=stopped, marker=float(m.layers[0].kernel.numpy()[0, 0])))

plateau = [
    dict(factor=0.5, patience=1), dict(factor=0.5, patience=2, cooldown=2), dict(factor=0.1, patience=0, min_lr=0.02),
    dict(factor=0.5, patience=1, min_delta=0.05), dict(factor=0.2, patience=0, cooldown=1, min_lr=0.001),
]
for name, values in SEQUENCES.items():
    monitor, mode = ("val_acc", "max") if name == "rises" else ("val_loss", "min")
    for arguments in plateau:
        m = model()
        callback = keras.callbacks.ReduceLROnPlateau(monitor=monitor, mode=mode, **arguments)
        callback.set_model(m)
        callback.on_train_begin()
        rates = []
        for epoch, value in enumerate(values):
            callback.on_epoch_end(epoch, {monitor: value})
            rates.append(float(m.optimizer.learning_rate.numpy()))
        cases.append(dict(callback="ReduceLROnPlateau", sequence=name, monitor=monitor, mode=mode, arguments=numbers(arguments),
                          values=values, rates=rates))

with tempfile.TemporaryDirectory() as folder:
    for name, values in SEQUENCES.items():
        monitor, mode = ("val_acc", "max") if name == "rises" else ("val_loss", "min")
        for arguments in [dict(save_best_only=True), dict(save_best_only=False),
                          dict(save_best_only=True, initial_value_threshold=values[0])]:
            m = model()
            pattern = os.path.join(folder, name + "-{epoch:02d}.weights.h5")
            callback = keras.callbacks.ModelCheckpoint(pattern, monitor=monitor, mode=mode, save_weights_only=True,
                                                       **arguments)
            callback.set_model(m)
            callback.on_train_begin()
            saved = []
            for epoch, value in enumerate(values):
                before = set(os.listdir(folder))
                callback.on_epoch_end(epoch, {monitor: value})
                if set(os.listdir(folder)) - before or (not arguments["save_best_only"]):
                    saved.append(epoch)
                for file in os.listdir(folder):
                    os.remove(os.path.join(folder, file))
            cases.append(dict(callback="ModelCheckpoint", sequence=name, monitor=monitor, mode=mode,
                              arguments=numbers(arguments), values=values, saved=saved))

print(json.dumps(dict(keras=keras.__version__, cases=cases), indent=1))
