/// Keras's `RepeatVector(n)`: per-sample `(features)` → `(n, features)`, the input copied to
/// every one of `n` timesteps (the bridge from an encoder to a sequence decoder).
public final class RepeatVector: Layer {
    /// Empty until the model names it ("repeat_vector", "repeat_vector_1", ...), unless given to `init`.
    public var name: String
    /// "RepeatVector", Keras's class name.
    public var typeName: String { "RepeatVector" }
    /// The number of timesteps the input is copied to.
    public let n: Int
    private var features = 0
    private let output = FloatBuffer()
    private let inputGradient = FloatBuffer()

    /// Repeats each sample `n` times; `name` defaults to "repeat_vector", ... in model order.
    public init(_ n: Int, name: String = "") {
        self.n = n
        self.name = name
    }

    /// Takes `(features)` and returns `(n, features)`; throws when `n` is not positive or the input is not rank 1.
    public func build(inputShape: [Int]) throws -> [Int] {
        guard n > 0 else { throw LoomError.invalidArgument("RepeatVector '\(name)': n must be positive, got \(n)") }
        guard inputShape.count == 1 else {
            throw LoomError.shapeMismatch(context: "RepeatVector '\(name)'", expected: "(batch, features)", found: [-1] + inputShape)
        }
        features = inputShape[0]
        return [n, features]
    }

    // forward: y[b, t, :] = x[b, :]   backward: dx[b, :] = Σ_t dy[b, t, :]

    /// `y[b, t, :] = x[b, :]` for each of the `n` timesteps.
    public func forward(_ x: UnsafePointer<Float>, batch: Int, training: Bool) -> UnsafePointer<Float> {
        let y = output.reserveDiscarding(batch * n * features)
        for b in 0..<batch {
            for t in 0..<n { (y + (b * n + t) * features).update(from: x + b * features, count: features) }
        }
        return UnsafePointer(y)
    }

    /// `dx[b, :] = Σ_t dy[b, t, :]`, or nil when not needed.
    public func backward(_ dy: UnsafeMutablePointer<Float>, batch: Int, needsInputGradient: Bool) -> UnsafeMutablePointer<Float>? {
        guard needsInputGradient else { return nil }
        let dx = inputGradient.reserveDiscarding(batch * features)
        dx.update(repeating: 0, count: batch * features)
        for b in 0..<batch {
            for t in 0..<n {
                let row = dy + (b * n + t) * features
                for j in 0..<features { dx[b * features + j] += row[j] }
            }
        }
        return dx
    }

    /// A copy with the same configuration and its own buffers.
    public func makeReplica() -> any Layer {
        let copy = RepeatVector(n, name: name)
        copy.features = features
        return copy
    }
}
