import Logging

/// The warning of a callback whose monitored value is not in an epoch's logs (a typo, or
/// `val_` keys without validation data): Keras warns and skips the epoch, and so does Loom,
/// as a warning of `Logger.loom`.
public enum MissingMonitor {
    /// Warns that `callback` cannot act on `monitor`, naming the keys `logs` holds.
    public static func warn(_ callback: String, monitor: String, logs: [String: Double]) {
        let available = logs.keys.sorted().joined(separator: ", ")
        Logger.loom.warning("\(callback) watches '\(monitor)', which is not logged (the logs hold \(available)); skipped")
    }
}
