import Foundation
import FuzzInput
import LoomHDF5

// The CSV importer (`loom import csv`): header, columns, numbers, windows, into an HDF5 file.
FuzzInput.run { data, size in
    guard let data else { return 0 }
    let path = FuzzInput.write(data, size, as: "input.csv")
    let output = FuzzInput.path("output.h5")
    // The first byte picks the window and the scaling, so both vary with the input.
    let window = size > 0 ? Int(data[0] % 6) + 1 : 2
    let scaling: CSVImporter.Scaling = size > 0 && data[0] & 0x80 != 0 ? .minMax : .none
    FuzzInput.expectingErrors {
        _ = try CSVImporter(window: window, horizon: 1, scaling: scaling).run(csv: path, output: output)
    }
    return 0
}
