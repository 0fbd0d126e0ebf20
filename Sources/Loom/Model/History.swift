/// What `fit` returns: the loss and each metric per epoch, under Keras's keys ("loss", "mae",
/// "val_loss", "val_mae", ...), as Keras's `History.history`.
public struct History: Sendable {
    /// The epochs run, counted from 0 (Keras's `History.epoch`).
    public internal(set) var epoch: [Int] = []
    /// Values per key, one per epoch.
    public internal(set) var history: [String: [Double]] = [:]

    /// The values of `key` per epoch ([] for a key never recorded).
    public subscript(key: String) -> [Double] { history[key] ?? [] }

    mutating func record(epoch index: Int, logs: [(String, Double)]) {
        epoch.append(index)
        for (key, value) in logs { history[key, default: []].append(value) }
    }
}
