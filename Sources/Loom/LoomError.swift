/// Every error Loom throws for bad input: each case says what was expected and what was found,
/// in the terms a Keras user would use (layer names, shapes with the batch first).
public enum LoomError: Error, Equatable, CustomStringConvertible {
    /// A tensor's shape does not fit where it is used (`context` names the place).
    case shapeMismatch(context: String, expected: String, found: [Int])
    /// A layer cannot take the output of the layer before it.
    case incompatibleLayers(layer: String, previous: String, expected: String, found: [Int])
    /// A value that is NaN or infinite in user data (`name` is "x", "y", ...).
    case nonFinite(name: String, sample: Int)
    /// A stateful model was asked to do something its fixed batch contract forbids.
    case statefulBatch(String)
    /// An argument outside its allowed range.
    case invalidArgument(String)
    /// The model is not ready for the call (not built, not compiled, no layers).
    case notReady(String)
    /// Training stopped at a step whose loss or gradient was NaN or infinite, before that
    /// step changed any weight (`epoch` and `batch` count from 0, `step` from 1).
    case diverged(epoch: Int, batch: Int, step: Int, detail: String)

    /// The message a user sees: what was expected and what was found, shapes printed as Keras prints them.
    public var description: String {
        switch self {
        case let .shapeMismatch(context, expected, found):
            return "\(context): expected shape \(expected), found \(Shape.describe(found))"
        case let .incompatibleLayers(layer, previous, expected, found):
            return "layer '\(layer)' expects input of shape \(expected), "
                + "but '\(previous)' before it gives \(Shape.describe(found))"
        case let .nonFinite(name, sample):
            return "\(name) holds NaN or Inf at sample \(sample)"
        case let .statefulBatch(message), let .invalidArgument(message), let .notReady(message):
            return message
        case let .diverged(epoch, batch, step, detail):
            return "training diverged at epoch \(epoch + 1), batch \(batch + 1) (step \(step)): \(detail); "
                + "the weights are those before this step (a lower learning rate, or gradient clipping, may help)"
        }
    }
}
