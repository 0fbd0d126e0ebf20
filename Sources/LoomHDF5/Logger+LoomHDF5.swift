import Logging

extension Logger {
    /// The HDF5 layer's diagnostics (label `loom.hdf5`): a damaged checkpoint set aside, a
    /// checkpoint written, a dataset opened and how it is read.
    static let loomHDF5 = Logger(label: "loom.hdf5")
}
