import Foundation

/// The loss a model is trained to minimise, with Keras's names and reductions.
///
/// Reductions follow Keras: MSE, MAE, Huber, log-cosh and binary cross-entropy average over
/// every output value; categorical cross-entropy sums over the last (class) axis and averages over the
/// rest (samples, and timesteps for sequence outputs). Sparse categorical cross-entropy is the
/// categorical one with each row's target a class index (one value a row, `takesClassIndices`).
public enum Loss: String, Sendable, CaseIterable {
    /// The mean of (p − y)² over every value ("mse").
    case meanSquaredError = "mean_squared_error"
    /// The mean of |p − y| over every value ("mae").
    case meanAbsoluteError = "mean_absolute_error"
    /// −(y·log p + (1 − y)·log(1 − p)), p clipped to [ε, 1 − ε], averaged over every value ("bce").
    case binaryCrossentropy = "binary_crossentropy"
    /// −Σ y·log p over the class axis (p divided by its sum, then clipped), averaged over the rest ("cce").
    case categoricalCrossentropy = "categorical_crossentropy"
    /// Keras's Huber loss with δ = 1: ½e² where |e| ≤ 1, |e| − ½ beyond (e = p − y), averaged ("huber").
    case huber
    /// log(cosh(p − y)), as Keras computes it (e + softplus(−2e) − log 2), averaged ("log_cosh").
    case logCosh = "log_cosh"
    /// −log p[y] with y a class index (an integer held as Float), p as for categorical
    /// cross-entropy, averaged over the rows ("sparse_categorical_crossentropy").
    case sparseCategoricalCrossentropy = "sparse_categorical_crossentropy"

    /// Keras's clipping constant for probabilities (`keras.backend.epsilon()`).
    static let epsilon: Float = 1e-7

    /// Parses a Keras name or alias ("mse", "mean_squared_error", "bce", ...).
    public init(kerasName: String) throws {
        // Keras's function names, their short forms, and its class names ("MeanSquaredError"), which it takes too.
        switch kerasName.lowercased() {
        case "mse", "mean_squared_error", "meansquarederror": self = .meanSquaredError
        case "mae", "mean_absolute_error", "meanabsoluteerror": self = .meanAbsoluteError
        case "bce", "binary_crossentropy", "binarycrossentropy": self = .binaryCrossentropy
        case "cce", "categorical_crossentropy", "categoricalcrossentropy": self = .categoricalCrossentropy
        case "huber", "huber_loss": self = .huber
        case "log_cosh", "logcosh": self = .logCosh
        case "sparse_categorical_crossentropy", "scce", "sparsecategoricalcrossentropy": self = .sparseCategoricalCrossentropy
        default:
            throw LoomError.invalidArgument(
                "unknown loss '\(kerasName)'; expected mse, mae, binary_crossentropy, categorical_crossentropy, "
                    + "sparse_categorical_crossentropy, huber or log_cosh")
        }
    }

    /// The activation whose output this loss can differentiate through in one stable step.
    var fusedActivation: Activation? {
        switch self {
        case .binaryCrossentropy: return .sigmoid
        case .categoricalCrossentropy, .sparseCategoricalCrossentropy: return .softmax
        default: return nil
        }
    }

    /// Whether each row's target is a class index (one value a row of the output's last axis)
    /// rather than a row like the output.
    public var takesClassIndices: Bool { self == .sparseCategoricalCrossentropy }

    /// The loss of `count` predictions against targets, as a mean per Keras's reduction, and
    /// its gradient written to `gradient` (nil to skip).
    ///
    /// - Parameters:
    ///   - predictions: the model's outputs, `count` values in rows of `width` (the last axis).
    ///   - logits: the pre-activation outputs when the loss is fused with a sigmoid/softmax
    ///     output layer; then `gradient` receives dL/dlogits instead of dL/dpredictions.
    ///   - weighting: a weight a row (a mask times a sample weight) and the count of valid rows;
    ///     the loss is then Σ w·(the row's loss) / valid rows, Keras's masked and weighted mean
    ///     (0 without valid rows). Nil: every row weighs 1 and the divisor is the row count.
    public func compute(
        predictions p: UnsafePointer<Float>, targets y: UnsafePointer<Float>, logits: UnsafePointer<Float>?,
        count: Int, width: Int, gradient: UnsafeMutablePointer<Float>?,
        weighting: (rowWeights: UnsafePointer<Float>, validRows: Double)? = nil
    ) -> Double {
        let rows = count / width, rowWeights = weighting?.rowWeights, weightedRows = weighting?.validRows ?? 0
        // A row's loss is the mean of its values, or (categorical cross-entropy) their sum.
        let perValue = self != .categoricalCrossentropy && self != .sparseCategoricalCrossentropy
        let divisor = rowWeights == nil ? Double(perValue ? count : rows) : weightedRows * Double(perValue ? width : 1)
        guard divisor > 0 else {
            gradient?.update(repeating: 0, count: count)
            return 0
        }
        // dL/dp = base · w · slope, base the loss's constant over the divisor (w = 1 unweighted: the same bits).
        let base = (self == .meanSquaredError ? 2 : 1) / Float(divisor)
        var total = 0.0
        for r in 0..<rows {
            let w = rowWeights?[r] ?? 1, scale = base * w, weight = Double(w)
            let values = (r * width)..<((r + 1) * width)
            switch self {
            case .meanSquaredError:
                for k in values {
                    let d = p[k] - y[k]
                    total += weight * Double(d * d)
                    gradient?[k] = scale * d
                }
            case .huber:
                for k in values {
                    let d = p[k] - y[k], magnitude = abs(d)
                    total += weight * Double(magnitude <= 1 ? 0.5 * d * d : magnitude - 0.5)
                    gradient?[k] = scale * (magnitude <= 1 ? d : (d > 0 ? 1 : -1))
                }
            case .logCosh:
                let log2: Float = 0.693_147_18
                for k in values {
                    let d = p[k] - y[k]
                    // softplus(−2d) = log(1 + e^(−2d)), stable for any d.
                    let softplus = max(-2 * d, 0) + log1p(exp(-abs(2 * d)))
                    total += weight * Double(d + softplus - log2)
                    gradient?[k] = scale * tanh(d)
                }
            case .meanAbsoluteError:
                for k in values {
                    let d = p[k] - y[k]
                    total += weight * Double(abs(d))
                    gradient?[k] = d > 0 ? scale : (d < 0 ? -scale : 0)
                }
            case .binaryCrossentropy:
                if let z = logits {
                    // TensorFlow's sigmoid_cross_entropy_with_logits: max(z, 0) − z·y + log(1 + e^−|z|).
                    for k in values {
                        total += weight * Double(max(z[k], 0) - z[k] * y[k] + log1p(exp(-abs(z[k]))))
                        gradient?[k] = scale * (p[k] - y[k])
                    }
                } else {
                    for k in values {
                        let q = min(max(p[k], Loss.epsilon), 1 - Loss.epsilon)
                        total -= weight * Double(y[k] * log(q) + (1 - y[k]) * log(1 - q))
                        let inside = p[k] > Loss.epsilon && p[k] < 1 - Loss.epsilon
                        gradient?[k] = inside ? scale * (-(y[k] / q) + (1 - y[k]) / (1 - q)) : 0
                    }
                }
            case .categoricalCrossentropy:
                categoricalCrossentropy(
                    row: r, predictions: p, targets: y, logits: logits, width: width, weight: weight, scale: scale,
                    total: &total, gradient: gradient)
            case .sparseCategoricalCrossentropy:
                // The row's class index as a one-hot row (labels were checked when read).
                withUnsafeTemporaryAllocation(of: Float.self, capacity: width) { oneHot in
                    oneHot.initialize(repeating: 0)
                    oneHot[Int(y[r])] = 1
                    categoricalCrossentropy(
                        row: 0, predictions: p + r * width, targets: oneHot.baseAddress!, logits: logits.map { $0 + r * width },
                        width: width, weight: weight, scale: scale, total: &total, gradient: gradient.map { $0 + r * width })
                }
            }
        }
        return total / divisor
    }

    /// Adds row `r`'s categorical cross-entropy times `weight` to `total` and writes its
    /// gradient (times `scale`) to `gradient`.
    private func categoricalCrossentropy(
        row r: Int, predictions p: UnsafePointer<Float>, targets y: UnsafePointer<Float>, logits: UnsafePointer<Float>?,
        width: Int, weight: Double, scale: Float, total: inout Double, gradient: UnsafeMutablePointer<Float>?
    ) {
        let pr = p + r * width, yr = y + r * width
        var targetSum: Float = 0
        for j in 0..<width { targetSum += yr[j] }
        if let z = logits {
            // −Σ y·log softmax(z) = Σy·logsumexp(z) − Σ y·z; dL/dz = p·Σy − y.
            let zr = z + r * width
            var maximum = -Float.infinity
            for j in 0..<width { maximum = max(maximum, zr[j]) }
            var sum: Float = 0
            for j in 0..<width { sum += exp(zr[j] - maximum) }
            let logSumExp = maximum + log(sum)
            for j in 0..<width {
                total += weight * Double(yr[j] * (logSumExp - zr[j]))
                gradient?[r * width + j] = scale * (pr[j] * targetSum - yr[j])
            }
        } else {
            // Keras: p / Σp, clipped to [ε, 1 − ε], then −Σ y·log.
            var sum: Float = 0
            for j in 0..<width { sum += pr[j] }
            for j in 0..<width {
                let normalised = pr[j] / sum
                let q = min(max(normalised, Loss.epsilon), 1 - Loss.epsilon)
                total -= weight * Double(yr[j] * log(q))
                let inside = normalised > Loss.epsilon && normalised < 1 - Loss.epsilon
                gradient?[r * width + j] = scale * ((inside ? -yr[j] / pr[j] : 0) + targetSum / sum)
            }
        }
    }
}
