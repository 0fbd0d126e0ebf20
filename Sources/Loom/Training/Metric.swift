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
    /// Keras's `RootMeanSquaredError`: the square root of the mean squared error over
    /// everything seen (the epoch's, not a mean of batches' roots).
    case rootMeanSquaredError = "root_mean_squared_error"
    /// Keras's `mean_absolute_percentage_error`: 100 · |y − p| / max(|y|, 1e-7), averaged.
    case meanAbsolutePercentageError = "mape"
    /// Keras's `R2Score` (uniform average over the outputs, no regressors): 1 − Σ(y − p)² /
    /// Σ(y − ȳ)² per output column over everything seen; for outputs without a time axis.
    case r2Score = "r2_score"

    /// Parses a Keras name ("mae", "mean_absolute_error", "accuracy", "acc", ...).
    public init(kerasName: String) throws {
        // Keras's names, its short forms and its class names ("MeanAbsoluteError"), which it takes too.
        switch kerasName.lowercased() {
        case "mae", "mean_absolute_error", "meanabsoluteerror": self = .mae
        case "mse", "mean_squared_error", "meansquarederror": self = .mse
        case "accuracy", "acc": self = .accuracy
        case "binary_accuracy", "binaryaccuracy": self = .binaryAccuracy
        case "categorical_accuracy", "categoricalaccuracy": self = .categoricalAccuracy
        case "sparse_categorical_accuracy", "sparsecategoricalaccuracy": self = .sparseCategoricalAccuracy
        case "rmse", "root_mean_squared_error", "rootmeansquarederror": self = .rootMeanSquaredError
        case "mape", "mean_absolute_percentage_error", "meanabsolutepercentageerror": self = .meanAbsolutePercentageError
        case "r2", "r2_score", "r2score": self = .r2Score
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

    /// Whether a higher value is better (Keras's metric `_direction` "up"): the accuracies and R².
    public var risesWhenBetter: Bool {
        switch self {
        case .accuracy, .binaryAccuracy, .categoricalAccuracy, .sparseCategoricalAccuracy, .r2Score: true
        case .mae, .mse, .rootMeanSquaredError, .meanAbsolutePercentageError: false
        }
    }

    /// How many statistics a batch's metric carries through a step's sums: 1, the metric's
    /// mean over the rows, but for R², which carries the means of y, y² and (y − p)² of each
    /// of the output's `width` columns (whole-epoch sums in Keras: their means over the same
    /// rows give the same ratio).
    func statisticCount(width: Int) -> Int { self == .r2Score ? 3 * width : 1 }

    /// Writes the batch's statistics (`statisticCount`, means over its rows, or weighted means
    /// with `rowWeights`) to `out`.
    func statistics(
        predictions p: UnsafePointer<Float>, targets y: UnsafePointer<Float>, count: Int, width: Int,
        rowWeights: UnsafePointer<Float>?, weightSum: Double, into out: UnsafeMutablePointer<Double>
    ) {
        guard self == .r2Score else {
            out[0] = compute(predictions: p, targets: y, count: count, width: width, rowWeights: rowWeights, weightSum: weightSum)
            return
        }
        let rows = count / width
        let divisor = rowWeights == nil ? Double(rows) : weightSum
        for j in 0..<width {
            var (sum, squares, residuals) = (0.0, 0.0, 0.0)
            for r in 0..<rows {
                let w = rowWeights.map { Double($0[r]) } ?? 1
                let (target, error) = (Double(y[r * width + j]), Double(y[r * width + j] - p[r * width + j]))
                sum += w * target
                squares += w * target * target
                residuals += w * error * error
            }
            let scale = divisor > 0 ? 1 / divisor : 0
            (out[3 * j], out[3 * j + 1], out[3 * j + 2]) = (sum * scale, squares * scale, residuals * scale)
        }
    }

    /// The metric's value from its statistics' means over the rows seen.
    func value(_ statistics: ArraySlice<Double>) -> Double {
        switch self {
        case .rootMeanSquaredError: return statistics.first!.squareRoot()
        case .r2Score:
            let columns = statistics.count / 3
            var total = 0.0
            for j in 0..<columns {
                let base = statistics.startIndex + 3 * j
                let (mean, squares, residuals) = (statistics[base], statistics[base + 1], statistics[base + 2])
                // Keras scores a constant column 0 (its raw score is infinite); a variance at
                // rounding's size is a constant column's.
                let variance = squares - mean * mean
                let score = variance > 1e-12 * squares ? 1 - residuals / variance : 0
                total += score.isInfinite ? 0 : score
            }
            return columns > 0 ? total / Double(columns) : 0
        default: return statistics.first!
        }
    }

    /// The metric's mean over `count` values in rows of `width` (for RMSE, the mean squared
    /// error); with `rowWeights` (a weight a
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
        case .mse, .rootMeanSquaredError:
            for k in 0..<count { total += Double((p[k] - y[k]) * (p[k] - y[k])) }
            return total / Double(count)
        case .meanAbsolutePercentageError:
            for k in 0..<count { total += Double(abs((y[k] - p[k]) / max(abs(y[k]), 1e-7))) }
            return 100 * total / Double(count)
        case .r2Score:
            preconditionFailure("R² is computed from its statistics (statistics(predictions:...))")
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
