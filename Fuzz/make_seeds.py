"""Writes the generated seeds of Fuzz/Corpus: .npy arrays of several dtypes and layouts, and
recipes for fuzz-hdf5 (see its main.swift for the byte layout). The CSV, JSON and .keras
seeds are copied by hand (the last two from Tests/TestSupport/Fixtures/Files); fuzz-checkpoint
writes its own (`fuzz-checkpoint --write-seeds Corpus/checkpoint`).

    python make_seeds.py   # needs numpy
"""
import os

import numpy as np

here = os.path.dirname(os.path.abspath(__file__))
npy = os.path.join(here, "Corpus", "npy")
for name, array in [
    ("f32-2d", np.arange(12, dtype="<f4").reshape(3, 4)), ("f64-3d", np.ones((2, 3, 2))), ("i64", np.arange(5)),
    ("u8", np.arange(6, dtype="u1").reshape(2, 3)), ("bool", np.array([True, False])), ("f16", np.ones(3, dtype="<f2")),
    ("fortran", np.asfortranarray(np.arange(6, dtype="<f4").reshape(2, 3))), ("big-endian", np.arange(4, dtype=">f4")),
]:
    with open(os.path.join(npy, name + ".npy"), "wb") as file:
        np.save(file, array)

recipes = {
    "xy": [2, 0, 0, 2, 0, 8, 0, 3, 1, 0, 0, 0, 8],
    "weights": [2, 2, 0, 1, 0, 3, 0, 2, 3, 0, 0, 0, 2],
    "huge": [1, 0, 0, 2, 0xFF, 0xFF, 0, 3, 0, 1],
    "checkpoint": [4, 5, 0, 0, 0, 5, 6, 1, 0, 0, 4, 7, 1, 0, 0, 4, 8, 3, 1, 0, 2, 0, 0, 0, 0],
    # X and y external links into other.h5 (made: the last byte is even).
    "external-link": [2, 0, 4, 2, 0, 4, 0, 2, 0, 1, 0, 0, 1, 4, 1, 0, 4, 0, 1, 1, 0],
    # X and y virtual datasets of other.h5's, then the same with other.h5 missing (odd last byte).
    "virtual": [2, 0, 5, 2, 0, 4, 0, 2, 0, 1, 0, 0, 1, 5, 1, 0, 4, 0, 1, 1, 0],
    "virtual-missing": [2, 0, 5, 2, 0, 4, 0, 2, 0, 1, 0, 0, 1, 5, 1, 0, 4, 0, 1, 1, 0, 1],
    # A Keras weight declared and never written.
    "unwritten-weights": [2, 2, 6, 1, 0, 3, 0, 1, 3, 0, 0, 0, 1, 0],
    # A checkpoint whose parameters were declared and never written.
    "unwritten-checkpoint": [2, 5, 6, 0, 0, 8, 0, 3, 0, 0, 15, 0, 1] + list(b"loom-checkpoint"),
}
for name, recipe in recipes.items():
    with open(os.path.join(here, "Corpus", "hdf5", name), "wb") as file:
        file.write(bytes(recipe))
