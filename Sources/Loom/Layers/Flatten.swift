/// Keras's `Flatten()`: per-sample `(d1, d2, ...)` → `(d1·d2·...)`. Row-major storage already
/// is that vector, so forward and backward hand their buffer through unchanged (a reshape).
public final class Flatten: Layer {
    /// Empty until the model names it ("flatten", "flatten_1", ...), unless given to `init`.
    public var name: String
    /// "Flatten", Keras's class name.
    public var typeName: String { "Flatten" }

    /// A Flatten layer; `name` defaults to "flatten", "flatten_1", ... in model order.
    public init(name: String = "") { self.name = name }

    /// Returns `(d1·d2·...)`; throws for a sample with no axes.
    public func build(inputShape: [Int]) throws -> [Int] {
        guard !inputShape.isEmpty else {
            throw LoomError.shapeMismatch(context: "Flatten '\(name)'", expected: "(batch, ...)", found: [-1])
        }
        return [Shape.count(inputShape)]
    }

    /// `x` itself: the row-major batch already is `(batch, d1·d2·...)`.
    public func forward(_ x: UnsafePointer<Float>, batch: Int, training: Bool) -> UnsafePointer<Float> { x }

    /// `dy` itself, or nil when not needed.
    public func backward(_ dy: UnsafeMutablePointer<Float>, batch: Int, needsInputGradient: Bool) -> UnsafeMutablePointer<Float>? {
        needsInputGradient ? dy : nil
    }

    /// A new Flatten of the same name (it keeps no state or buffers).
    public func makeReplica() -> any Layer { Flatten(name: name) }
}
