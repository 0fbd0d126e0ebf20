import Foundation
import Loom

/// Turns one serialized Keras layer (`{"class_name": ..., "config": {...}}`) into a Loom layer.
///
/// Reads the layer configs of Keras 3 and of Keras 2 / tf.keras alike; where they differ in
/// meaning, `keras2` says which: Keras 2's `hard_sigmoid` is `clip(0.2·x + 0.5, 0, 1)`.
/// One difference affects training only and is not refused: tf.keras draws recurrent
/// dropout's masks per gate (its `implementation=1`), Loom one mask for the four gates, as
/// Keras 3 does.
struct KerasLayerDecoder {
    /// Whether the config comes from Keras 2 (tf.keras, legacy .h5).
    let keras2: Bool

    /// The Loom layer, and the batch input shape the layer declares, if any
    /// (`batch_input_shape`, `batch_shape` or `input_shape`, batch first, nil for None).
    func layer(_ serialized: Any) throws -> (layer: any Layer, batchInputShape: [Int?]?) {
        guard let object = serialized as? [String: Any], let className = object["class_name"] as? String else {
            throw KerasConfigProblem(message: "a layer entry without class_name: \(serialized)")
        }
        let values = object["config"] as? [String: Any] ?? [:]
        let name = values["name"] as? String ?? ""
        var config = LayerConfig(values, layer: "\(className) '\(name)'")
        let inputShape = KerasLayerDecoder.batchInputShape(values)
        let layer = try make(className, &config, name: name)
        try config.finish()
        return (layer, inputShape)
    }

    /// The batch input shape a layer config (or an InputLayer's) declares.
    static func batchInputShape(_ values: [String: Any]) -> [Int?]? {
        func dims(_ value: Any?) -> [Int?]? {
            guard let list = value as? [Any] else { return nil }
            return list.map { ($0 as? NSNumber).flatMap { Int(exactly: $0.doubleValue) } }
        }
        if let shape = dims(values["batch_shape"]) ?? dims(values["batch_input_shape"]) { return shape }
        if let shape = dims(values["input_shape"]) ?? dims(values["shape"]) {
            let batch = (values["batch_size"] as? NSNumber).flatMap { Int(exactly: $0.doubleValue) }
            return [batch] + shape
        }
        return nil
    }

    private func make(_ className: String, _ config: inout LayerConfig, name: String) throws -> any Layer {
        guard let kind = KerasLayerKind(rawValue: className) else {
            throw KerasConfigProblem(
                message: "layer '\(name)' is a \(className), which Loom does not have (it has \(KerasLayerKind.classNames))")
        }
        switch kind {
        case .dense:
            return Dense(
                try config.int("units"), activation: try activation(&config, "activation", default: .linear),
                useBias: try config.bool("use_bias", default: true),
                kernelInitializer: try initializer(&config, "kernel_initializer", default: .glorotUniform),
                biasInitializer: try initializer(&config, "bias_initializer", default: .zeros), name: name)
        case .lstm:
            let common = try RecurrentOptions(&config, decoder: self)
            let lstm = LSTM(
                common.units, activation: common.activation,
                recurrentActivation: try activation(&config, "recurrent_activation", default: .sigmoid),
                useBias: common.useBias, unitForgetBias: try config.bool("unit_forget_bias", default: true),
                returnSequences: common.returnSequences, returnState: try config.bool("return_state", default: false),
                goBackwards: common.goBackwards, stateful: common.stateful,
                dropout: try config.float("dropout", default: 0), recurrentDropout: try config.float("recurrent_dropout", default: 0),
                kernelInitializer: common.kernelInitializer, recurrentInitializer: common.recurrentInitializer,
                biasInitializer: common.biasInitializer, name: name)
            lstm.zeroOutputForMask = common.zeroOutputForMask
            return lstm
        case .gru:
            try config.require("reset_after", is: true, explaining: "Loom's GRU is Keras's reset_after=True form")
            try lstmOnlyOptions(&config)
            let common = try RecurrentOptions(&config, decoder: self)
            let gru = GRU(
                common.units, activation: common.activation,
                recurrentActivation: try activation(&config, "recurrent_activation", default: .sigmoid),
                useBias: common.useBias, returnSequences: common.returnSequences, goBackwards: common.goBackwards,
                stateful: common.stateful, dropout: try config.float("dropout", default: 0),
                recurrentDropout: try config.float("recurrent_dropout", default: 0), kernelInitializer: common.kernelInitializer,
                recurrentInitializer: common.recurrentInitializer, biasInitializer: common.biasInitializer, name: name)
            gru.zeroOutputForMask = common.zeroOutputForMask
            return gru
        case .simpleRNN:
            try lstmOnlyOptions(&config)
            let common = try RecurrentOptions(&config, decoder: self)
            let rnn = SimpleRNN(
                common.units, activation: common.activation, useBias: common.useBias,
                returnSequences: common.returnSequences, goBackwards: common.goBackwards, stateful: common.stateful,
                dropout: try config.float("dropout", default: 0), recurrentDropout: try config.float("recurrent_dropout", default: 0),
                kernelInitializer: common.kernelInitializer, recurrentInitializer: common.recurrentInitializer,
                biasInitializer: common.biasInitializer, name: name)
            rnn.zeroOutputForMask = common.zeroOutputForMask
            return rnn
        case .bidirectional:
            return try bidirectional(&config, name: name)
        case .timeDistributed:
            guard let inner = config.raw("layer") else { throw config.error("option 'layer' is missing") }
            return TimeDistributed(try layer(inner).layer, name: name)
        case .repeatVector:
            return RepeatVector(try config.int("n"), name: name)
        case .flatten:
            return Flatten(name: name)
        case .dropout:
            try config.require("noise_shape", is: NSNull(), explaining: "Loom drops values independently")
            return Dropout(try config.float("rate", default: 0), name: name)
        case .embedding:
            return Embedding(
                inputDim: try config.int("input_dim"), outputDim: try config.int("output_dim"),
                embeddingsInitializer: try initializer(
                    &config, "embeddings_initializer",
                    default: .randomUniform(minimum: -0.05, maximum: 0.05)),
                maskZero: try config.bool("mask_zero", default: false), name: name)
        case .conv2D:
            try config.require("dilation_rate", is: [1, 1], explaining: "Loom's convolution is not dilated")
            try config.require("groups", is: 1, explaining: "Loom's convolution is not grouped")
            return Conv2D(
                try config.int("filters"), kernelSize: try config.pair("kernel_size"),
                strides: try config.pair("strides", default: (1, 1)), padding: try padding(&config),
                activation: try activation(&config, "activation", default: .linear),
                useBias: try config.bool("use_bias", default: true),
                kernelInitializer: try initializer(&config, "kernel_initializer", default: .glorotUniform),
                biasInitializer: try initializer(&config, "bias_initializer", default: .zeros), name: name)
        case .maxPooling2D:
            let poolSize = try config.pair("pool_size", default: (2, 2))
            let strides = try config.pair("strides", default: poolSize)
            return MaxPooling2D(poolSize: poolSize, strides: strides, padding: try padding(&config), name: name)
        case .masking:
            return Masking(maskValue: try config.float("mask_value", default: 0), name: name)
        }
    }

    private func bidirectional(_ config: inout LayerConfig, name: String) throws -> Bidirectional {
        guard let innerConfig = config.raw("layer") else { throw config.error("option 'layer' is missing") }
        guard let inner = try layer(innerConfig).layer as? any RecurrentLayer else {
            throw config.error("wraps a layer that is not LSTM, GRU or SimpleRNN")
        }
        let mode = try config.string("merge_mode", default: "concat")
        guard let mergeMode = Bidirectional.MergeMode(rawValue: mode) else {
            throw config.error("merge_mode '\(mode)' is not supported (concat, sum, mul, ave)")
        }
        // Keras 3 writes the backward layer it derived; Loom derives the same one. Any other
        // backward layer (another type, size or option) is refused.
        if let backwardConfig = config.raw("backward_layer") {
            let backward = try layer(backwardConfig).layer
            func options(_ layer: any Layer) throws -> NSDictionary {
                var config = try KerasLayerEncoder.serialize(layer)["config"] as? [String: Any] ?? [:]
                config["name"] = nil
                return config as NSDictionary
            }
            guard try options(backward) == options(inner.reversedCopy()) else {
                throw config.error("a backward_layer that is not the forward layer reading backwards is not supported")
            }
        }
        return Bidirectional(inner, mergeMode: mergeMode, name: name)
    }

    /// The option LSTM has and GRU and SimpleRNN do not in Loom, refused unless at its default.
    private func lstmOnlyOptions(_ config: inout LayerConfig) throws {
        try config.require("return_state", is: false, explaining: "Loom keeps the final state of LSTM only")
    }

    private func padding(_ config: inout LayerConfig) throws -> Padding {
        let name = try config.string("padding", default: "valid")
        guard let padding = Padding(rawValue: name) else {
            throw config.error("padding '\(name)' is not supported (valid, same)")
        }
        return padding
    }

    /// An activation by name; Keras 3 may also serialize it as `{"class_name": ..., "config": {"name": ...}}`.
    fileprivate func activation(_ config: inout LayerConfig, _ key: String, default fallback: Activation) throws -> Activation {
        guard let value = config.raw(key) else { return fallback }
        // A name, or Keras 3's object for a plain function: {"class_name": "function", "config": "relu"}.
        let object = value as? [String: Any]
        guard let name = value as? String ?? (object?["class_name"] as? String == "function" ? object?["config"] as? String : nil) else {
            throw config.error("option '\(key)' is not an activation name: \(value)")
        }
        if name == "hard_sigmoid", keras2 { return .hardSigmoidKeras2 }
        guard name != Activation.hardSigmoidKeras2.rawValue, let activation = Activation(rawValue: name) else {
            throw config.error("activation '\(name)' in '\(key)' is not supported (linear, relu, sigmoid, tanh, hard_sigmoid, softmax)")
        }
        return activation
    }

    /// An initializer: a name ("glorot_uniform") or `{"class_name": "GlorotUniform", "config": {...}}`.
    fileprivate func initializer(_ config: inout LayerConfig, _ key: String, default fallback: Initializer) throws -> Initializer {
        guard let value = config.raw(key) else { return fallback }
        let object = value as? [String: Any]
        guard let name = (value as? String) ?? (object?["class_name"] as? String) else {
            throw config.error("option '\(key)' is not an initializer: \(value)")
        }
        let options = object?["config"] as? [String: Any] ?? [:]
        func number(_ key: String, _ fallback: Double) -> Double { (options[key] as? NSNumber)?.doubleValue ?? fallback }
        switch name {
        case "GlorotUniform", "glorot_uniform": return .glorotUniform
        case "Orthogonal", "orthogonal":
            guard number("gain", 1) == 1 else {
                throw config.error("an Orthogonal initializer with gain \(number("gain", 1)) is not supported (gain 1)")
            }
            return .orthogonal
        case "Zeros", "zeros": return .zeros
        case "Ones", "ones": return .ones
        case "RandomUniform", "random_uniform", "uniform":
            return .randomUniform(minimum: Float(number("minval", -0.05)), maximum: Float(number("maxval", 0.05)))
        default:
            throw config.error("initializer \(name) in '\(key)' is not supported (glorot_uniform, orthogonal, zeros, ones, random_uniform)")
        }
    }

    /// The options LSTM, GRU and SimpleRNN share, with Keras's defaults.
    private struct RecurrentOptions {
        let units: Int
        let activation: Activation
        let useBias, returnSequences, goBackwards, stateful, zeroOutputForMask: Bool
        let kernelInitializer, recurrentInitializer, biasInitializer: Initializer

        init(_ config: inout LayerConfig, decoder: KerasLayerDecoder) throws {
            units = try config.int("units")
            activation = try decoder.activation(&config, "activation", default: .tanh)
            useBias = try config.bool("use_bias", default: true)
            returnSequences = try config.bool("return_sequences", default: false)
            goBackwards = try config.bool("go_backwards", default: false)
            stateful = try config.bool("stateful", default: false)
            zeroOutputForMask = try config.bool("zero_output_for_mask", default: false)
            kernelInitializer = try decoder.initializer(&config, "kernel_initializer", default: .glorotUniform)
            recurrentInitializer = try decoder.initializer(&config, "recurrent_initializer", default: .orthogonal)
            biasInitializer = try decoder.initializer(&config, "bias_initializer", default: .zeros)
        }
    }
}
