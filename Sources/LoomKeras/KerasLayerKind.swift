import Loom

/// Every layer type Loom reads from and writes to Keras, by its Keras class name: the one list
/// that the config decoder, the config encoder and the weights file share.
///
/// To wire a new layer into Keras interchange, add its case here. The compiler then stops at
/// the decoder's exhaustive switch, and `KerasLayerKindTests` at its own, until the layer
/// decodes and has an example model; that test fails until the example survives encoding,
/// decoding and a weights round trip (see ARCHITECTURE.md, "Adding a layer").
enum KerasLayerKind: String, CaseIterable {
    case dense = "Dense"
    case lstm = "LSTM"
    case gru = "GRU"
    case simpleRNN = "SimpleRNN"
    case bidirectional = "Bidirectional"
    case timeDistributed = "TimeDistributed"
    case repeatVector = "RepeatVector"
    case flatten = "Flatten"
    case dropout = "Dropout"
    case embedding = "Embedding"
    case conv2D = "Conv2D"
    case maxPooling2D = "MaxPooling2D"
    case masking = "Masking"

    /// The kind of a Loom layer; nil for a layer Keras has no counterpart of.
    init?(_ layer: any Layer) {
        switch layer {
        case is Dense: self = .dense
        case is LSTM: self = .lstm
        case is GRU: self = .gru
        case is SimpleRNN: self = .simpleRNN
        case is Bidirectional: self = .bidirectional
        case is TimeDistributed: self = .timeDistributed
        case is RepeatVector: self = .repeatVector
        case is Flatten: self = .flatten
        case is Dropout: self = .dropout
        case is Embedding: self = .embedding
        case is Conv2D: self = .conv2D
        case is MaxPooling2D: self = .maxPooling2D
        case is Masking: self = .masking
        default: return nil
        }
    }

    /// Keras's class name, as `class_name` in a config.
    var className: String { rawValue }

    /// The class names, for messages: "Dense, LSTM, ...".
    static var classNames: String { allCases.map(\.className).joined(separator: ", ") }
}
