import Loom

extension Metric {
    /// What `loom train` and `loom evaluate` report when `--metrics` is not given: accuracy
    /// (resolved by the loss, as Keras resolves it) with a cross-entropy loss, else mae. A
    /// class-index loss cannot take mae, which compares targets shaped like the output.
    static func commandLineDefault(for loss: Loss?) -> Metric {
        switch loss {
        case .binaryCrossentropy, .categoricalCrossentropy, .sparseCategoricalCrossentropy: .accuracy
        default: .mae
        }
    }
}
