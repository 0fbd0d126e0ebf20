"""Writes layouts.h5: one (rows, 3, 2) array stored in the ways h5py and other writers store it,
for HDF5FileTests' scattered reads (contiguous float32 rows are read past HDF5's selections; every
other layout through HDF5, with its conversion).

Element (r, i, j) of every dataset is r * 100 + i * 10 + j. The file has a 1,024-byte user
block, so a dataset's raw data starts past it. Datasets:
    le        contiguous little-endian float32 (the direct path)
    be        contiguous big-endian float32 (HDF5 converts)
    f64       contiguous float64 (HDF5 converts)
    chunked   float32 in chunks of 4 rows, gzip level 1
    compact   float32, stored in the object header

    python3 Tests/LoomHDF5Tests/Fixtures/make_layouts.py   (needs numpy and h5py)
"""
import os

import h5py
import numpy as np

rows = 37
values = (np.arange(rows)[:, None, None] * 100 + np.arange(3)[None, :, None] * 10 + np.arange(2)[None, None, :])
path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "layouts.h5")
with h5py.File(path, "w", userblock_size=1024, libver="earliest") as f:
    f.create_dataset("le", data=values.astype("<f4"))
    f.create_dataset("be", data=values.astype(">f4"))
    f.create_dataset("f64", data=values.astype("<f8"))
    f.create_dataset("chunked", data=values.astype("<f4"), chunks=(4, 3, 2), compression="gzip", compression_opts=1)
    space = h5py.h5s.create_simple(values.shape)
    plist = h5py.h5p.create(h5py.h5p.DATASET_CREATE)
    plist.set_layout(h5py.h5d.COMPACT)
    compact = h5py.h5d.create(f.id, b"compact", h5py.h5t.IEEE_F32LE, space, plist)
    compact.write(h5py.h5s.ALL, h5py.h5s.ALL, np.ascontiguousarray(values.astype("<f4")))
print(f"wrote {path}")
