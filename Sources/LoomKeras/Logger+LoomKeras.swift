import Logging

extension Logger {
    /// The Keras interchange's diagnostics (label `loom.keras`): a model loaded uncompiled,
    /// and why.
    static let loomKeras = Logger(label: "loom.keras")
}
