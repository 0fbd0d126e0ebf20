"""Plots the validation loss of `loom time-to-loss --histories DIR` runs, by epoch and by wall
time, log scale, as one SVG (and a PNG beside it).

    python3 Benchmarks/recipe/plot_histories.py OUT.svg LABEL=DIR/batchB-workersW.csv ...

The title names the training sequences: LOOM_RECIPE_SEQUENCES (default 59k); the dotted line is
the loss floor, the noise's variance: LOOM_RECIPE_FLOOR (default 1e-4, make_adding.py's noise 0.01).

(needs matplotlib; outside CI.)
"""
import csv
import os
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

out, runs = sys.argv[1], [argument.split("=", 1) for argument in sys.argv[2:]]
floor = float(os.environ.get("LOOM_RECIPE_FLOOR", "1e-4"))
figure, (by_epoch, by_time) = plt.subplots(1, 2, figsize=(11, 4.2))
for label, path in runs:
    rows = list(csv.DictReader(open(path)))
    epochs = [int(r["epoch"]) for r in rows]
    losses = [float(r["val_loss"]) for r in rows]
    seconds = [float(r["seconds"]) for r in rows]
    by_epoch.plot(epochs, losses, marker="o", markersize=3, label=label)
    by_time.plot(seconds, losses, marker="o", markersize=3, label=label)
for axes, xlabel in [(by_epoch, "epoch"), (by_time, "wall seconds")]:
    axes.set_yscale("log")
    axes.set_xlabel(xlabel)
    axes.set_ylabel("validation MSE")
    axes.axhline(floor, color="gray", linestyle=":", linewidth=1, label="loss floor (noise²)")
    axes.grid(True, which="both", linewidth=0.3)
by_epoch.legend(fontsize=7)
sequences = os.environ.get("LOOM_RECIPE_SEQUENCES", "59k")
figure.suptitle(f"Adding problem (T = 30, {sequences} sequences, loss floor {floor:g}), LSTM(32), 12 epochs")
figure.tight_layout()
figure.savefig(out)
figure.savefig(out.rsplit(".", 1)[0] + ".png", dpi=90)
