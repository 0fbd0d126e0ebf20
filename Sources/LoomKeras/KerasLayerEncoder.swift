import Foundation
import Loom

/// Writes a Loom layer as Keras 3 serializes it (`{"module", "class_name", "config",
/// "registered_name"}`), with the options Loom implements; Keras fills in the rest with its
/// defaults, which are the values Loom computes with. For a Keras 2 `.h5` file (`keras2`),
/// `hard_sigmoid` means Keras 2's (0.2·x + 0.5, clipped), and Keras 3's has no name.
enum KerasLayerEncoder {
    static func serialize(_ layer: any Layer, buildInputShape: [Int?]? = nil, keras2: Bool = false) throws -> [String: Any] {
        guard let kind = KerasLayerKind(layer) else { throw noKerasEquivalent(layer) }
        var object: [String: Any] = [
            "module": "keras.layers", "class_name": kind.className, "config": try config(of: layer, keras2: keras2),
            "registered_name": NSNull(),
        ]
        if let buildInputShape { object["build_config"] = ["input_shape": buildInputShape.map(json)] }
        return object
    }

    /// The shortest decimal that reads back as `value` (0.2, not 0.20000000298023224), as
    /// Keras writes a rate given in Python.
    static func decimal(_ value: Float) -> Double { Double(String(value)) ?? Double(value) }

    /// `nil` as JSON null, for the batch dimension of a shape.
    static func json(_ dimension: Int?) -> Any { dimension.map { $0 as Any } ?? NSNull() }

    private static func config(of layer: any Layer, keras2: Bool) throws -> [String: Any] {
        var config: [String: Any] = ["name": layer.name, "trainable": true, "dtype": "float32"]
        func initializers(_ pairs: [(String, Initializer)]) throws {
            for (key, value) in pairs { config[key] = try initializer(value, layer: layer) }
        }
        switch layer {
        case let dense as Dense:
            config["units"] = dense.units
            config["activation"] = try activation(dense.activation, layer: layer, keras2: keras2)
            config["use_bias"] = dense.useBias
            try initializers([("kernel_initializer", dense.kernelInitializer), ("bias_initializer", dense.biasInitializer)])
        case let lstm as LSTM:
            config.merge(recurrentOptions(lstm), uniquingKeysWith: { $1 })
            config["activation"] = try activation(lstm.activation, layer: layer, keras2: keras2)
            config["recurrent_activation"] = try activation(lstm.recurrentActivation, layer: layer, keras2: keras2)
            config["use_bias"] = lstm.useBias
            config["unit_forget_bias"] = lstm.unitForgetBias
            config["return_state"] = lstm.returnState
            config["dropout"] = decimal(lstm.dropout)
            config["recurrent_dropout"] = decimal(lstm.recurrentDropout)
            try initializers([
                ("kernel_initializer", lstm.kernelInitializer), ("recurrent_initializer", lstm.recurrentInitializer),
                ("bias_initializer", lstm.biasInitializer),
            ])
        case let gru as GRU:
            config.merge(recurrentOptions(gru), uniquingKeysWith: { $1 })
            config["activation"] = try activation(gru.activation, layer: layer, keras2: keras2)
            config["recurrent_activation"] = try activation(gru.recurrentActivation, layer: layer, keras2: keras2)
            config["use_bias"] = gru.useBias
            config["reset_after"] = true
            config["dropout"] = decimal(gru.dropout)
            config["recurrent_dropout"] = decimal(gru.recurrentDropout)
            try initializers([
                ("kernel_initializer", gru.kernelInitializer), ("recurrent_initializer", gru.recurrentInitializer),
                ("bias_initializer", gru.biasInitializer),
            ])
        case let rnn as SimpleRNN:
            config.merge(recurrentOptions(rnn), uniquingKeysWith: { $1 })
            config["activation"] = try activation(rnn.activation, layer: layer, keras2: keras2)
            config["use_bias"] = rnn.useBias
            config["dropout"] = decimal(rnn.dropout)
            config["recurrent_dropout"] = decimal(rnn.recurrentDropout)
            try initializers([
                ("kernel_initializer", rnn.kernelInitializer), ("recurrent_initializer", rnn.recurrentInitializer),
                ("bias_initializer", rnn.biasInitializer),
            ])
        case let wrapper as Bidirectional:
            // Keras derives the backward layer from this one, as Loom does.
            let forward = try serialize(wrapper.forwardLayer, keras2: keras2)
            config["layer"] = forward
            config["merge_mode"] = wrapper.mergeMode.rawValue
        case let wrapper as TimeDistributed:
            config["layer"] = try serialize(wrapper.layer, keras2: keras2)
        case let repeatVector as RepeatVector:
            config["n"] = repeatVector.n
        case is Flatten:
            config["data_format"] = "channels_last"
        case let dropout as Dropout:
            config["rate"] = decimal(dropout.rate)
            config["noise_shape"] = NSNull()
            config["seed"] = NSNull()
        case let embedding as Embedding:
            config["input_dim"] = embedding.inputDim
            config["output_dim"] = embedding.outputDim
            config["mask_zero"] = embedding.maskZero
            try initializers([("embeddings_initializer", embedding.embeddingsInitializer)])
        case let conv as Conv2D:
            config["filters"] = conv.filters
            config["kernel_size"] = [conv.kernelSize.0, conv.kernelSize.1]
            config["strides"] = [conv.strides.0, conv.strides.1]
            config["padding"] = conv.padding.rawValue
            config["data_format"] = "channels_last"
            config["dilation_rate"] = [1, 1]
            config["groups"] = 1
            config["activation"] = try activation(conv.activation, layer: layer, keras2: keras2)
            config["use_bias"] = conv.useBias
            try initializers([("kernel_initializer", conv.kernelInitializer), ("bias_initializer", conv.biasInitializer)])
        case let pool as MaxPooling2D:
            config["pool_size"] = [pool.poolSize.0, pool.poolSize.1]
            config["strides"] = [pool.strides.0, pool.strides.1]
            config["padding"] = pool.padding.rawValue
            config["data_format"] = "channels_last"
        case let masking as Masking:
            config["mask_value"] = decimal(masking.maskValue)
        default:
            throw noKerasEquivalent(layer)
        }
        return config
    }

    private static func noKerasEquivalent(_ layer: any Layer) -> KerasConfigProblem {
        KerasConfigProblem(message: "\(layer.typeName) '\(layer.name)' has no Keras equivalent Loom can write")
    }

    private static func recurrentOptions(_ layer: any RecurrentLayer) -> [String: Any] {
        [
            "units": layer.units, "return_sequences": layer.returnSequences, "go_backwards": layer.goBackwards,
            "stateful": layer.stateful, "unroll": false, "zero_output_for_mask": layer.zeroOutputForMask,
        ]
    }

    private static func activation(_ activation: Activation, layer: any Layer, keras2: Bool) throws -> String {
        switch (activation, keras2) {
        case (.hardSigmoidKeras2, false):
            throw KerasConfigProblem(
                message: "\(layer.typeName) '\(layer.name)' uses Keras 2's hard_sigmoid (0.2·x + 0.5), which Keras 3 does not have "
                    + "(a Keras 2 .h5 file keeps it)")
        case (.hardSigmoidKeras2, true): return "hard_sigmoid"
        case (.hardSigmoid, true):
            throw KerasConfigProblem(
                message: "\(layer.typeName) '\(layer.name)' uses Keras 3's hard_sigmoid (relu6(x + 3) / 6), which a Keras 2 .h5 file "
                    + "cannot name (its hard_sigmoid is 0.2·x + 0.5); save it as .keras")
        default: return activation.rawValue
        }
    }

    private static func initializer(_ initializer: Initializer, layer: any Layer) throws -> [String: Any] {
        let (className, config): (String, [String: Any])
        switch initializer {
        case .glorotUniform: (className, config) = ("GlorotUniform", ["seed": NSNull()])
        case .orthogonal: (className, config) = ("Orthogonal", ["gain": 1.0, "seed": NSNull()])
        case .zeros: (className, config) = ("Zeros", [:])
        case .ones: (className, config) = ("Ones", [:])
        case let .randomUniform(minimum, maximum):
            (className, config) = ("RandomUniform", ["minval": decimal(minimum), "maxval": decimal(maximum), "seed": NSNull()])
        case .unitForgetBias:
            throw KerasConfigProblem(
                message: "\(layer.typeName) '\(layer.name)': a unitForgetBias initializer is written as unit_forget_bias=True with zeros")
        }
        return ["module": "keras.initializers", "class_name": className, "config": config, "registered_name": NSNull()]
    }
}
