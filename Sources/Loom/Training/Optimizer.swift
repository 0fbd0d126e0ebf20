/// Updates a model's flat parameter buffer from its flat gradient buffer.
///
/// Optimizers keep their state (momenta, moments) in buffers with the parameters' layout, so
/// an update can be cut into slices of the buffer and run by several workers.
public protocol Optimizer: AnyObject {
    /// Keras's name ("adam", "sgd", "rmsprop").
    var name: String { get }
    /// The step size of the next update (Keras's `learning_rate`).
    var learningRate: Float { get set }
    /// Sizes the state for `parameterCount` parameters (zeroed); called before the first update.
    func prepare(parameterCount: Int)
    /// Applies update number `step` (counting from 1) to `parameters[range]`.
    func update(
        parameters: UnsafeMutablePointer<Float>, gradients: UnsafePointer<Float>, range: Range<Int>, step: Int)
    /// The state buffers, each with the parameters' layout (averaged across replicas when
    /// averaging parameters).
    var stateBuffers: [FloatBuffer] { get }
    /// An optimizer with the same settings and fresh state.
    func makeCopy() -> any Optimizer
}

/// Optimizers by Keras's names, for configuration files and the command line.
public enum Optimizers {
    /// Parses Keras's name and learning rate into an optimizer with Keras's other defaults.
    public static func named(_ name: String, learningRate: Float? = nil) throws -> any Optimizer {
        switch name.lowercased() {
        case "adam": return Adam(learningRate: learningRate ?? 0.001)
        case "sgd": return SGD(learningRate: learningRate ?? 0.01)
        case "rmsprop": return RMSprop(learningRate: learningRate ?? 0.001)
        default: throw LoomError.invalidArgument("unknown optimizer '\(name)'; expected adam, sgd or rmsprop")
        }
    }
}
