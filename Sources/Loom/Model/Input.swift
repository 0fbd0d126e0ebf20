/// Declares a model's input, as Keras's `Input(shape=..., batch_size=...)` at the head of a
/// `Sequential` list.
///
/// `shape` is per sample, batch excluded: `[timesteps, features]` for sequences. A fixed
/// `batchSize` is what a stateful model needs (Keras's `batch_shape`).
public struct Input: Sendable {
    /// The per-sample shape, batch excluded.
    public let shape: [Int]
    /// The fixed batch size, or nil for any.
    public let batchSize: Int?

    /// An input of `shape` per sample, with a fixed `batchSize` when given.
    public init(shape: [Int], batchSize: Int? = nil) {
        self.shape = shape
        self.batchSize = batchSize
    }
}

/// One entry of a `Sequential` definition: an input declaration or a layer.
public enum SequentialComponent {
    /// The model's input declaration.
    case input(Input)
    /// A layer, appended in order.
    case layer(any Layer)
}

/// Builds a `Sequential` model's entries from a list in braces:
///
///     Sequential {
///         Input(shape: [10, 25])
///         LSTM(10)
///         Dense(1)
///     }
@resultBuilder
public enum SequentialBuilder {
    /// An `Input` line.
    public static func buildExpression(_ input: Input) -> [SequentialComponent] { [.input(input)] }
    /// A layer line.
    public static func buildExpression(_ layer: any Layer) -> [SequentialComponent] { [.layer(layer)] }
    /// The lines in order.
    public static func buildBlock(_ parts: [SequentialComponent]...) -> [SequentialComponent] { parts.flatMap { $0 } }
    /// An `if` without `else`: its lines when taken, else none.
    public static func buildOptional(_ part: [SequentialComponent]?) -> [SequentialComponent] { part ?? [] }
    /// The taken branch of an `if`/`else`.
    public static func buildEither(first part: [SequentialComponent]) -> [SequentialComponent] { part }
    /// The taken branch of an `if`/`else`.
    public static func buildEither(second part: [SequentialComponent]) -> [SequentialComponent] { part }
    /// The lines of every pass of a `for` loop, in order.
    public static func buildArray(_ parts: [[SequentialComponent]]) -> [SequentialComponent] { parts.flatMap { $0 } }
}
