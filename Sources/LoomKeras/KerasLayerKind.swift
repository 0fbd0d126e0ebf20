import Loom

/// Every layer type Loom reads from and writes to Keras: the one list that the config
/// decoder, the config encoder and the weights file share. What each kind reads and writes is
/// its layer's `KerasLayer` conformance, in `Layers/`.
///
/// To wire a new layer into Keras interchange, conform it to `KerasLayer` (its class name,
/// config in and out, an example model) and add its case here: the compiler stops at
/// `layerType` until the case names its type, and `KerasLayerKindTests` fails until the
/// example survives encoding, decoding and a weights round trip (see ARCHITECTURE.md,
/// "Adding a layer").
enum KerasLayerKind: CaseIterable {
    case dense, lstm, gru, simpleRNN, bidirectional, timeDistributed, repeatVector, flatten, dropout, embedding, conv2D
    case maxPooling2D, masking, activation

    /// The Loom layer type of the kind.
    var layerType: any KerasLayer.Type {
        switch self {
        case .dense: Dense.self
        case .lstm: LSTM.self
        case .gru: GRU.self
        case .simpleRNN: SimpleRNN.self
        case .bidirectional: Bidirectional.self
        case .timeDistributed: TimeDistributed.self
        case .repeatVector: RepeatVector.self
        case .flatten: Flatten.self
        case .dropout: Dropout.self
        case .embedding: Embedding.self
        case .conv2D: Conv2D.self
        case .maxPooling2D: MaxPooling2D.self
        case .masking: Masking.self
        case .activation: ActivationLayer.self
        }
    }

    /// The kind of a Keras class name, as `class_name` in a config; nil for one Loom lacks.
    init?(className: String) {
        guard let kind = Self.allCases.first(where: { $0.className == className }) else { return nil }
        self = kind
    }

    /// The kind of a Loom layer; nil for a layer Keras has no counterpart of.
    init?(_ layer: any Layer) {
        let type = ObjectIdentifier(Swift.type(of: layer))
        guard let kind = Self.allCases.first(where: { ObjectIdentifier($0.layerType) == type }) else { return nil }
        self = kind
    }

    /// Keras's class name, as `class_name` in a config.
    var className: String { layerType.kerasClassName }

    /// The class names, for messages: "Dense, LSTM, ...".
    static var classNames: String { allCases.map(\.className).joined(separator: ", ") }
}
