import FuzzInput
import LoomHDF5

// NumPy `.npy` parsing (`NPYImporter.read`): header, dtype, shape, data length.
FuzzInput.run { data, size in
    guard let data else { return 0 }
    let path = FuzzInput.write(data, size, as: "input.npy")
    FuzzInput.expectingErrors { _ = try NPYImporter.read(path) }
    return 0
}
