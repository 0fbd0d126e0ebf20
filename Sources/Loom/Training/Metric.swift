/// A quantity reported during training besides the loss, with Keras's names.
public enum Metric: String, Sendable, CaseIterable {
    /// Mean absolute error over all output values.
    case mae
    /// Mean squared error over all output values.
    case mse
    /// Keras 3's "accuracy": binary accuracy for a single output, categorical accuracy
    /// (argmax match) for several.
    case accuracy
    /// The fraction of values where (p > 0.5) equals the 0/1 target.
    case binaryAccuracy = "binary_accuracy"
    /// The fraction of rows whose largest prediction is where the target is largest (argmax match).
    case categoricalAccuracy = "categorical_accuracy"
    /// The fraction of rows whose largest prediction is at the target's class index.
    case sparseCategoricalAccuracy = "sparse_categorical_accuracy"

    /// Parses a Keras name ("mae", "mean_absolute_error", "accuracy", "acc", ...).
    public init(kerasName: String) throws {
        switch kerasName.lowercased() {
        case "mae", "mean_absolute_error": self = .mae
        case "mse", "mean_squared_error": self = .mse
        case "accuracy", "acc": self = .accuracy
        case "binary_accuracy": self = .binaryAccuracy
        case "categorical_accuracy": self = .categoricalAccuracy
        case "sparse_categorical_accuracy": self = .sparseCategoricalAccuracy
        default:
            throw LoomError.invalidArgument(
                "unknown metric '\(kerasName)'; expected one of " + Metric.allCases.map(\.rawValue).joined(separator: ", "))
        }
    }

    /// Resolves `.accuracy` to the variant Keras 3 picks, by the loss and the output width.
    func resolved(width: Int, classIndices: Bool = false) -> Metric {
        guard self == .accuracy else { return self }
        return classIndices ? .sparseCategoricalAccuracy : width == 1 ? .binaryAccuracy : .categoricalAccuracy
    }

    /// Whether the metric reads a class index a row (not a target row like the output).
    var takesClassIndices: Bool { self == .sparseCategoricalAccuracy }

    /// The metric's mean over `count` values in rows of `width`; with `rowWeights` (a weight a
    /// row), the weighted mean of the rows' values Σ w·m / `weightSum` (0 when that is 0), as
    /// Keras's metrics weigh masks and sample weights.
    func compute(
        predictions p: UnsafePointer<Float>, targets y: UnsafePointer<Float>, count: Int, width: Int,
        rowWeights: UnsafePointer<Float>? = nil, weightSum: Double = 0
    ) -> Double {
        if let rowWeights {
            guard weightSum > 0 else { return 0 }
            var total = 0.0
            for r in 0..<(count / width) where rowWeights[r] != 0 {
                let target = y + r * (takesClassIndices ? 1 : width)
                total += Double(rowWeights[r]) * compute(predictions: p + r * width, targets: target, count: width, width: width)
            }
            return total / weightSum
        }
        var total = 0.0
        switch self {
        case .mae:
            for k in 0..<count { total += Double(abs(p[k] - y[k])) }
            return total / Double(count)
        case .mse:
            for k in 0..<count { total += Double((p[k] - y[k]) * (p[k] - y[k])) }
            return total / Double(count)
        case .binaryAccuracy, .accuracy:
            for k in 0..<count where (p[k] > 0.5 ? 1 : 0) == y[k] { total += 1 }
            return total / Double(count)
        case .sparseCategoricalAccuracy:
            let rows = count / width
            for r in 0..<rows {
                let pr = p + r * width
                var best = 0
                for j in 1..<max(width, 1) where pr[j] > pr[best] { best = j }
                if Float(best) == y[r] { total += 1 }
            }
            return total / Double(rows)
        case .categoricalAccuracy:
            let rows = count / width
            for r in 0..<rows {
                let pr = p + r * width, yr = y + r * width
                var best = 0, truth = 0
                for j in 1..<max(width, 1) {
                    if pr[j] > pr[best] { best = j }
                    if yr[j] > yr[truth] { truth = j }
                }
                if best == truth { total += 1 }
            }
            return total / Double(rows)
        }
    }
}
