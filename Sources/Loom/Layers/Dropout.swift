/// Keras's `Dropout(rate)`: while training, each value is zeroed with probability `rate` and
/// the rest scaled by 1 / (1 − rate); at inference it passes values through unchanged.
///
/// The masks come from a generator seeded from the model's seed and the layer's position, so
/// the same seed gives the same masks; each data-parallel replica draws its own.
public final class Dropout: RandomizedLayer, MaskPassingLayer {
    /// Empty until the model names it ("dropout", "dropout_1", ...), unless given to `init`.
    public var name: String
    /// "Dropout", Keras's class name.
    public var typeName: String { "Dropout" }
    /// The fraction of values zeroed while training, in [0, 1) (checked by `build`).
    public let rate: Float
    private var generator = SeededGenerator(seed: 0)
    private var width = 0
    private let mask = FloatBuffer()
    private let output = FloatBuffer()
    private var maskActive = false

    /// A dropout of `rate` (Keras's `rate`); `name` defaults to "dropout", "dropout_1", ... in model order.
    public init(_ rate: Float, name: String = "") {
        self.rate = rate
        self.name = name
    }

    /// Returns the input shape unchanged; throws when `rate` is outside [0, 1).
    public func build(inputShape: [Int]) throws -> [Int] {
        guard (0..<1).contains(rate) else { throw LoomError.invalidArgument("Dropout '\(name)': rate must be in [0, 1), got \(rate)") }
        width = Shape.count(inputShape)
        return inputShape
    }

    /// Seeds the masks (the model calls it with its seed and the layer's index).
    func seed(_ seed: UInt64) { generator = SeededGenerator(seed: seed) }

    var randomState: [UInt64] {
        get { generator.state }
        set { generator = SeededGenerator(state: newValue) ?? generator }
    }

    // forward: y = x ⊙ m with m ∈ {0, 1/(1−rate)}   backward: dx = dy ⊙ m

    /// While training with `rate` > 0, `x ⊙ mask` with a fresh mask; otherwise `x` itself.
    public func forward(_ x: UnsafePointer<Float>, batch: Int, training: Bool) -> UnsafePointer<Float> {
        maskActive = training && rate > 0
        guard maskActive else { return x }
        let count = batch * width
        let m = mask.reserveDiscarding(count), y = output.reserveDiscarding(count)
        let keep = 1 / (1 - rate)
        for i in 0..<count {
            m[i] = generator.uniform() < Double(rate) ? 0 : keep
            y[i] = x[i] * m[i]
        }
        return UnsafePointer(y)
    }

    /// `dy ⊙ mask` in place over `dy` (`dy` unchanged when the forward pass dropped nothing); nil when not needed.
    public func backward(_ dy: UnsafeMutablePointer<Float>, batch: Int, needsInputGradient: Bool) -> UnsafeMutablePointer<Float>? {
        guard needsInputGradient else { return nil }
        if maskActive {
            let m = mask.pointer
            for i in 0..<(batch * width) { dy[i] *= m[i] }
        }
        return dy
    }

    /// A copy whose generator is seeded from this one's next draw, so each replica draws its own masks.
    public func makeReplica() -> any Layer {
        let copy = Dropout(rate, name: name)
        copy.width = width
        copy.generator = SeededGenerator(seed: generator.next())
        return copy
    }
}
