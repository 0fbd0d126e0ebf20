/// Whether a monitored value improves by falling or by rising, as Keras's `mode` argument
/// of `EarlyStopping`, `ReduceLROnPlateau` and `ModelCheckpoint`.
public enum MonitorMode: String, Sendable {
    /// Falling for losses and errors, rising for accuracy and AUC (by the monitored name).
    case auto
    /// Lower is better.
    case min
    /// Higher is better.
    case max

    /// Whether higher is better for `monitor` (Keras's rule for `auto`: names holding "acc"
    /// or "auc" rise).
    func prefersHigher(_ monitor: String) -> Bool {
        switch self {
        case .min: return false
        case .max: return true
        case .auto: return monitor.contains("acc") || monitor.contains("auc")
        }
    }
}
