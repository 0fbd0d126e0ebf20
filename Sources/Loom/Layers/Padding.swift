/// How a convolution or pooling window treats the border, with Keras's names.
public enum Padding: String, Sendable, CaseIterable {
    /// Only windows that fit inside the input: out = ⌊(in − window) / stride⌋ + 1.
    case valid
    /// Zero-padded so out = ⌈in / stride⌉; the padding is split as TensorFlow does, the
    /// smaller half before (top, left).
    case same

    /// The output length and the padding before, for one spatial axis.
    func geometry(input: Int, window: Int, stride: Int) -> (output: Int, before: Int) {
        switch self {
        case .valid:
            return (input >= window ? (input - window) / stride + 1 : 0, 0)
        case .same:
            let output = (input + stride - 1) / stride
            let total = max((output - 1) * stride + window - input, 0)
            return (output, total / 2)
        }
    }
}
