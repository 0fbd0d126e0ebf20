/// Keras's `Masking(maskValue)`: a timestep whose every feature equals `maskValue` is padding.
///
/// Per-sample input and output `(timesteps, features)`. The output is the input with the
/// padding steps zeroed, and carries the mask `(batch, timesteps)`, 0 at those steps, which
/// the recurrent layers after it skip and the loss leaves out (see `MaskAwareLayer`). An
/// incoming mask is replaced, as in Keras. No parameters.
public final class Masking: MaskAwareLayer {
    /// Empty until the model names it ("masking", "masking_1", ...), unless given to `init`.
    public var name: String
    /// "Masking", Keras's class name.
    public var typeName: String { "Masking" }
    /// The value every feature of a padding step holds (default 0, as in Keras).
    public let maskValue: Float
    private var timesteps = 0
    private var features = 0
    private let output = FloatBuffer()  // (B, T, F)
    private let mask = FloatBuffer()  // (B, T)
    private let inputGradient = FloatBuffer()  // (B, T, F)

    /// A Masking layer; `name` defaults to "masking", "masking_1", ... in model order.
    public init(maskValue: Float = 0, name: String = "") {
        self.maskValue = maskValue
        self.name = name
    }

    /// Returns the input shape, which must be `(timesteps, features)`.
    public func build(inputShape: [Int]) throws -> [Int] {
        guard inputShape.count == 2, inputShape[0] > 0, inputShape[1] > 0 else {
            throw LoomError.shapeMismatch(
                context: "Masking '\(name)'", expected: "(batch, timesteps, features)", found: [-1] + inputShape)
        }
        (timesteps, features) = (inputShape[0], inputShape[1])
        return inputShape
    }

    /// True: the output always carries the layer's own mask.
    public func masksOutput(inputMasked: Bool) -> Bool { true }

    /// The input with the padding steps zeroed.
    public func forward(_ x: UnsafePointer<Float>, batch: Int, training: Bool) -> UnsafePointer<Float> {
        forward(x, mask: nil, batch: batch, training: training).output
    }

    /// The input with the padding steps zeroed, and its mask: 1 where any feature differs from `maskValue`.
    public func forward(
        _ x: UnsafePointer<Float>, mask _: UnsafePointer<Float>?, batch: Int, training: Bool
    ) -> (output: UnsafePointer<Float>, mask: UnsafePointer<Float>?) {
        let (steps, F) = (batch * timesteps, features)
        let y = output.reserveDiscarding(steps * F), m = mask.reserveDiscarding(steps)
        for s in 0..<steps {
            let row = x + s * F
            var valid = false
            for j in 0..<F where row[j] != maskValue {
                valid = true
                break
            }
            m[s] = valid ? 1 : 0
            if valid { (y + s * F).update(from: row, count: F) } else { (y + s * F).update(repeating: 0, count: F) }
        }
        return (UnsafePointer(y), UnsafePointer(m))
    }

    /// `dy` where the step is valid, zeros at the padding steps; nil when not needed.
    public func backward(_ dy: UnsafeMutablePointer<Float>, batch: Int, needsInputGradient: Bool) -> UnsafeMutablePointer<Float>? {
        guard needsInputGradient else { return nil }
        let (steps, F) = (batch * timesteps, features)
        let dx = inputGradient.reserveDiscarding(steps * F), m = mask.pointer
        for s in 0..<steps {
            if m[s] != 0 { (dx + s * F).update(from: dy + s * F, count: F) } else { (dx + s * F).update(repeating: 0, count: F) }
        }
        return dx
    }

    /// A copy with the same configuration and its own buffers.
    public func makeReplica() -> any Layer {
        let copy = Masking(maskValue: maskValue, name: name)
        (copy.timesteps, copy.features) = (timesteps, features)
        return copy
    }
}
