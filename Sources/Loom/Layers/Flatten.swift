/// Keras's `Flatten()`: per-sample `(d1, d2, ...)` → `(d1·d2·...)`. Row-major storage already
/// is that vector, so forward and backward hand their buffer through unchanged (a reshape).
public final class Flatten: Layer {
    public var name: String
    public var typeName: String { "Flatten" }

    public init(name: String = "") { self.name = name }

    public func build(inputShape: [Int]) throws -> [Int] {
        guard !inputShape.isEmpty else {
            throw LoomError.shapeMismatch(context: "Flatten '\(name)'", expected: "(batch, ...)", found: [-1])
        }
        return [Shape.count(inputShape)]
    }

    public func forward(_ x: UnsafePointer<Float>, batch: Int, training: Bool) -> UnsafePointer<Float> { x }

    public func backward(_ dy: UnsafeMutablePointer<Float>, batch: Int, needsInputGradient: Bool) -> UnsafeMutablePointer<Float>? {
        needsInputGradient ? dy : nil
    }

    public func makeReplica() -> any Layer { Flatten(name: name) }
}
