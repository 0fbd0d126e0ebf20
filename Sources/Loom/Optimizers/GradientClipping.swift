/// How gradients are clipped before an update, as Keras 3's `clipnorm`, `global_clipnorm` and
/// `clipvalue` (which Keras allows one at a time). Clipping sees the gradient of the whole
/// batch (summed over every shard, worker and process), and norms are summed over the
/// parameter layout's fixed blocks in order, so it does not depend on how the batch is split.
public enum GradientClipping: Equatable, Sendable, CustomStringConvertible {
    /// No clipping.
    case none
    /// `clipnorm`: each variable's gradient g becomes g · c / max(‖g‖, c).
    case norm(Float)
    /// `global_clipnorm`: every gradient is scaled by c / max(‖all gradients‖, c) (NaN when the
    /// global norm is not finite, as Keras).
    case globalNorm(Float)
    /// `clipvalue`: every gradient value limited to [−c, c].
    case value(Float)

    /// Keras's argument name and value: "clipnorm=1.0".
    public var description: String {
        switch self {
        case .none: return "none"
        case .norm(let c): return "clipnorm=\(c)"
        case .globalNorm(let c): return "global_clipnorm=\(c)"
        case .value(let c): return "clipvalue=\(c)"
        }
    }

    /// The clipping Keras's three arguments ask for; more than one is refused as Keras refuses it.
    public init(clipnorm: Float? = nil, globalClipnorm: Float? = nil, clipvalue: Float? = nil) throws {
        let given = [
            clipnorm.map(GradientClipping.norm), globalClipnorm.map(GradientClipping.globalNorm), clipvalue.map(GradientClipping.value),
        ]
        .compactMap { $0 }
        guard given.count <= 1 else {
            throw LoomError.invalidArgument(
                "only one of clipnorm, clipvalue and global_clipnorm can be set; got \(given.map(\.description).joined(separator: ", "))")
        }
        self = given.first ?? .none
        try check()
    }

    /// Refuses a limit that is not a positive finite number.
    func check() throws {
        switch self {
        case .none: return
        case .norm(let c), .globalNorm(let c), .value(let c):
            guard c.isFinite, c > 0 else {
                throw LoomError.invalidArgument("\(description): the clipping limit must be a positive finite number")
            }
        }
    }

    /// Whether the clipping needs norms of the gradients.
    var needsNorms: Bool {
        switch self {
        case .norm, .globalNorm: return true
        case .none, .value: return false
        }
    }
}
