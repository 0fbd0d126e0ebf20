import Foundation
import Loom

/// Keras's `ModelCheckpoint`: saves the model (`.keras`) or its weights (`.weights.h5`)
/// after every epoch, or only when `monitor` improved (`saveBestOnly`).
///
/// `filepath` may hold Keras's placeholders: `{epoch}` (from 1, as Keras numbers it;
/// `{epoch:02d}` pads) and any log key with a format, such as `{val_loss:.4f}`. As in Keras,
/// with `saveWeightsOnly` the name must end in `.weights.h5`, otherwise in `.keras`. An
/// improvement is strictly better than the best so far (`initialValueThreshold` the first
/// best, when given); a missing key skips the save with a warning, as Keras.
public final class ModelCheckpoint: Callback {
    /// The file name pattern.
    public let filepath: String
    /// The log key compared with `saveBestOnly` (default "val_loss").
    public let monitor: String
    /// Save only when `monitor` improved (default false).
    public let saveBestOnly: Bool
    /// Save the weights only (default false: the whole model).
    public let saveWeightsOnly: Bool
    /// Whether lower or higher is better (default `.auto`).
    public let mode: MonitorMode
    /// The best value so far.
    public private(set) var best: Double
    /// The files written by the last `fit`, in order.
    public private(set) var saved: [String] = []
    private let initialValueThreshold: Double?
    /// Whether the monitored value improves by rising: by the name until a fit tells the model's metric.
    private var prefersHigher: Bool
    /// Whether `best` holds a value seen (or restored), not the starting bound.
    private var hasBest = false

    /// A checkpoint with Keras's arguments and defaults; checks the name's ending and folder now.
    public init(
        filepath: String, monitor: String = "val_loss", saveBestOnly: Bool = false, saveWeightsOnly: Bool = false,
        mode: MonitorMode = .auto, initialValueThreshold: Double? = nil
    ) throws {
        let ending = saveWeightsOnly ? ".weights.h5" : ".keras"
        guard filepath.hasSuffix(ending) else {
            throw LoomError.invalidArgument(
                "ModelCheckpoint: with saveWeightsOnly \(saveWeightsOnly) the file path must end in \(ending), got \(filepath)")
        }
        _ = try OutputFile(filepath, role: "ModelCheckpoint")
        self.filepath = filepath
        self.monitor = monitor
        self.saveBestOnly = saveBestOnly
        self.saveWeightsOnly = saveWeightsOnly
        self.mode = mode
        self.initialValueThreshold = initialValueThreshold
        prefersHigher = mode.prefersHigher(monitor, in: nil)
        best = initialValueThreshold ?? (prefersHigher ? -.infinity : .infinity)
    }

    /// Learns from the fit's model whether the monitored metric improves by rising (Keras asks
    /// the metric); until a value is seen, the bound to beat follows.
    public func onTrainBegin(_ run: TrainingRun) throws {
        prefersHigher = mode.prefersHigher(monitor, in: run.model)
        if !hasBest { best = initialValueThreshold ?? (prefersHigher ? -.infinity : .infinity) }
    }

    /// Saves after the epoch: always, or when `monitor` beat the best.
    public func onEpochEnd(_ epoch: Int, logs: [String: Double], run: TrainingRun) throws {
        if saveBestOnly {
            guard let current = logs[monitor] else { return MissingMonitor.warn("ModelCheckpoint", monitor: monitor, logs: logs) }
            guard prefersHigher ? current > best : current < best else { return }
            best = current
            hasBest = true
        }
        let path = try ModelCheckpoint.format(filepath, epoch: epoch, logs: logs)
        try run.model.save(to: URL(fileURLWithPath: path))
        saved.append(path)
    }

    /// [best].
    public var checkpointState: [Double] {
        get { [best] }
        set {
            if newValue.count == 1 { (best, hasBest) = (newValue[0], true) }
        }
    }

    /// `pattern` with `{epoch}`, `{epoch:0Nd}`, `{key}` and `{key:.Nf}` filled from `epoch`
    /// (written from 1) and `logs`; an unknown key is an error.
    static func format(_ pattern: String, epoch: Int, logs: [String: Double]) throws -> String {
        var result = ""
        var rest = Substring(pattern)
        while let open = rest.firstIndex(of: "{"), let close = rest[open...].firstIndex(of: "}") {
            result += rest[..<open]
            let field = rest[rest.index(after: open)..<close]
            let parts = field.split(separator: ":", maxSplits: 1).map(String.init)
            let key = parts.first ?? ""
            let spec = parts.count > 1 ? parts[1] : ""
            // Only printf conversions of one number: a user's pattern never reaches printf unchecked.
            let allowed = key == "epoch" ? "0123456789d" : "0123456789.fge"
            guard spec.allSatisfy(allowed.contains), spec.isEmpty || allowed.contains(spec.last!),
                spec.isEmpty || spec.last!.isLetter
            else {
                throw LoomError.invalidArgument("ModelCheckpoint: cannot format {\(field)} (use forms such as {epoch:02d}, {val_loss:.4f})")
            }
            if key == "epoch" {
                result += String(format: "%" + (spec.isEmpty ? "d" : spec), epoch + 1)
            } else if let value = logs[key] {
                result += String(format: "%" + (spec.isEmpty ? "g" : spec), value)
            } else {
                throw LoomError.invalidArgument(
                    "ModelCheckpoint: the file path names {\(field)}, but the logs hold \(logs.keys.sorted().joined(separator: ", "))")
            }
            rest = rest[rest.index(after: close)...]
        }
        return result + rest
    }
}
