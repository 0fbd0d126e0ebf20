/// Whether a monitored value improves by falling or by rising, as Keras's `mode` argument
/// of `EarlyStopping`, `ReduceLROnPlateau` and `ModelCheckpoint`.
public enum MonitorMode: String, Sendable {
    /// As the monitored metric goes: rising for accuracies and R², falling for the loss and
    /// the errors; a key that is no compiled metric's rises when its name holds "acc" or "auc".
    case auto
    /// Lower is better.
    case min
    /// Higher is better.
    case max

    /// Whether higher is better for `monitor` in a fit of `model` (nil: not known yet): for
    /// `auto`, the compiled metric logged under the name decides, as Keras asks the metric
    /// (so a metric named "fit" or "my_mae" goes its metric's way), else the name does.
    public func prefersHigher(_ monitor: String, in model: Sequential?) -> Bool {
        switch self {
        case .min: return false
        case .max: return true
        case .auto:
            let name = monitor.hasPrefix("val_") ? String(monitor.dropFirst(4)) : monitor
            if name == "loss" { return false }
            if let model, let index = model.metricNames.firstIndex(of: name) { return model.metrics[index].risesWhenBetter }
            return monitor.contains("acc") || monitor.contains("auc")
        }
    }
}
