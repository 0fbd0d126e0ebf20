/// How a parameter gets its first values, with Keras's names and formulas.
public enum Initializer: Sendable, Equatable {
    /// Uniform in ±sqrt(6 / (fanIn + fanOut)) (Keras's default kernel initializer).
    case glorotUniform
    /// A random orthogonal matrix (Keras's default recurrent kernel initializer).
    case orthogonal
    /// All zeros (Keras's `Zeros`, the default for biases).
    case zeros
    /// All ones (Keras's `Ones`).
    case ones
    /// Uniform in [minimum, maximum) (Keras's `RandomUniform`; `Embedding` uses ±0.05).
    case randomUniform(minimum: Float, maximum: Float)
    /// Zeros, except ones on the forget gate's slice `[units, 2·units)` (LSTM `unit_forget_bias`).
    case unitForgetBias(units: Int)

    /// Fills `count = shape.reduce(1, *)` values at `values`.
    public func fill(_ values: UnsafeMutablePointer<Float>, shape: [Int], using generator: inout SeededGenerator) {
        let count = Shape.count(shape)
        switch self {
        case .zeros:
            values.update(repeating: 0, count: count)
        case .ones:
            values.update(repeating: 1, count: count)
        case let .unitForgetBias(units):
            values.update(repeating: 0, count: count)
            if units < count { (values + units).update(repeating: 1, count: min(units, count - units)) }
        case .glorotUniform:
            let (fanIn, fanOut) = Initializer.fans(shape)
            let limit = (6 / Double(fanIn + fanOut)).squareRoot()
            for i in 0..<count { values[i] = Float((2 * generator.uniform() - 1) * limit) }
        case let .randomUniform(minimum, maximum):
            for i in 0..<count { values[i] = minimum + Float(generator.uniform()) * (maximum - minimum) }
        case .orthogonal:
            Initializer.fillOrthogonal(values, shape: shape, using: &generator)
        }
    }

    /// Keras's `compute_fans`: a 2-D `(in, out)` kernel, or a conv kernel `(kh, kw, ..., in, out)`
    /// whose receptive field multiplies both.
    static func fans(_ shape: [Int]) -> (fanIn: Int, fanOut: Int) {
        switch shape.count {
        case 0: return (1, 1)
        case 1: return (shape[0], shape[0])
        case 2: return (shape[0], shape[1])
        default:
            let receptive = Shape.count(Array(shape.dropLast(2)))
            return (shape[shape.count - 2] * receptive, shape[shape.count - 1] * receptive)
        }
    }

    /// Keras's orthogonal initializer: QR of a normal matrix of shape (max, min) of the
    /// flattened (rows, cols), signs fixed so R's diagonal is positive, transposed when
    /// rows < cols. Modified Gram–Schmidt in Double gives exactly that Q.
    private static func fillOrthogonal(
        _ values: UnsafeMutablePointer<Float>, shape: [Int], using generator: inout SeededGenerator
    ) {
        let cols = shape.last ?? 1
        let rows = Shape.count(shape) / max(cols, 1)
        let tall = max(rows, cols), narrow = min(rows, cols)
        // a is (tall, narrow) column-major: column j is a[j*tall ..< (j+1)*tall].
        var a = (0..<(tall * narrow)).map { _ in generator.normal() }
        for j in 0..<narrow {
            for k in 0..<j {
                var dot = 0.0
                for i in 0..<tall { dot += a[k * tall + i] * a[j * tall + i] }
                for i in 0..<tall { a[j * tall + i] -= dot * a[k * tall + i] }
            }
            var norm = 0.0
            for i in 0..<tall { norm += a[j * tall + i] * a[j * tall + i] }
            norm = norm.squareRoot()
            for i in 0..<tall { a[j * tall + i] /= norm }
        }
        for r in 0..<rows {
            for c in 0..<cols {
                // Q is (tall, narrow); the weight is Q when rows >= cols, else Qᵀ.
                values[r * cols + c] = Float(rows >= cols ? a[c * tall + r] : a[r * tall + c])
            }
        }
    }
}
