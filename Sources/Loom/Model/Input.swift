/// Declares a model's input, as Keras's `Input(shape=..., batch_size=...)` at the head of a
/// `Sequential` list.
///
/// `shape` is per sample, batch excluded: `[timesteps, features]` for sequences. A fixed
/// `batchSize` is what a stateful model needs (Keras's `batch_shape`).
public struct Input: Sendable {
    public let shape: [Int]
    public let batchSize: Int?

    public init(shape: [Int], batchSize: Int? = nil) {
        self.shape = shape
        self.batchSize = batchSize
    }
}

/// One entry of a `Sequential` definition: an input declaration or a layer.
public enum SequentialComponent {
    case input(Input)
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
    public static func buildExpression(_ input: Input) -> [SequentialComponent] { [.input(input)] }
    public static func buildExpression(_ layer: any Layer) -> [SequentialComponent] { [.layer(layer)] }
    public static func buildBlock(_ parts: [SequentialComponent]...) -> [SequentialComponent] { parts.flatMap { $0 } }
    public static func buildOptional(_ part: [SequentialComponent]?) -> [SequentialComponent] { part ?? [] }
    public static func buildEither(first part: [SequentialComponent]) -> [SequentialComponent] { part }
    public static func buildEither(second part: [SequentialComponent]) -> [SequentialComponent] { part }
    public static func buildArray(_ parts: [[SequentialComponent]]) -> [SequentialComponent] { parts.flatMap { $0 } }
}
