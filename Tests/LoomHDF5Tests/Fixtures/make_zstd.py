"""Writes zstd.h5: X (40, 6, 3) float32 and y (40, 1), X in chunks of 8 rows compressed with the
Zstandard filter (HDF5 filter 32015) of hdf5plugin, which h5py users install to read and write
such files and which Loom's libhdf5 does not have. HDF5FileTests reads it to check that the
missing filter is named, not called a damaged file.

    pip install h5py hdf5plugin
    python3 Tests/LoomHDF5Tests/Fixtures/make_zstd.py
"""
import os

import h5py
import hdf5plugin
import numpy as np

rng = np.random.default_rng(0)
path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "zstd.h5")
with h5py.File(path, "w") as f:
    f.create_dataset("X", data=rng.random((40, 6, 3), dtype=np.float32), chunks=(8, 6, 3), **hdf5plugin.Zstd())
    f.create_dataset("y", data=rng.random((40, 1), dtype=np.float32))
