import Loom

/// The options LSTM, GRU and SimpleRNN share, read with Keras's defaults and written back.
struct RecurrentOptions {
    let units: Int
    let activation: Activation
    let useBias, returnSequences, goBackwards, stateful, zeroOutputForMask: Bool
    let dropout, recurrentDropout: Float
    let kernelInitializer, recurrentInitializer, biasInitializer: Initializer

    init(_ config: inout LayerConfig, decoder: KerasLayerDecoder) throws {
        units = try config.int("units")
        activation = try decoder.activation(&config, "activation", default: .tanh)
        useBias = try config.bool("use_bias", default: true)
        returnSequences = try config.bool("return_sequences", default: false)
        goBackwards = try config.bool("go_backwards", default: false)
        stateful = try config.bool("stateful", default: false)
        zeroOutputForMask = try config.bool("zero_output_for_mask", default: false)
        dropout = try config.float("dropout", default: 0)
        recurrentDropout = try config.float("recurrent_dropout", default: 0)
        kernelInitializer = try decoder.initializer(&config, "kernel_initializer", default: .glorotUniform)
        recurrentInitializer = try decoder.initializer(&config, "recurrent_initializer", default: .orthogonal)
        biasInitializer = try decoder.initializer(&config, "bias_initializer", default: .zeros)
    }

    /// The option LSTM has and GRU and SimpleRNN do not in Loom, refused unless at its default.
    static func refuseLSTMOnlyOptions(_ config: inout LayerConfig) throws {
        try config.require("return_state", is: false, explaining: "Loom keeps the final state of LSTM only")
    }

    /// Writes the shared options of `layer` (and its dropout rates) into `config`.
    static func encode(_ layer: some RecurrentLayer & RecurrentKerasOptions, into config: inout [String: Any], keras2: Bool) throws {
        config["units"] = layer.units
        config["return_sequences"] = layer.returnSequences
        config["go_backwards"] = layer.goBackwards
        config["stateful"] = layer.stateful
        config["unroll"] = false
        config["zero_output_for_mask"] = layer.zeroOutputForMask
        config["activation"] = try KerasLayerEncoder.activation(layer.activation, layer: layer, keras2: keras2)
        config["use_bias"] = layer.useBias
        config["dropout"] = KerasLayerEncoder.decimal(layer.dropout)
        config["recurrent_dropout"] = KerasLayerEncoder.decimal(layer.recurrentDropout)
        config["kernel_initializer"] = try KerasLayerEncoder.initializer(layer.kernelInitializer, layer: layer)
        config["recurrent_initializer"] = try KerasLayerEncoder.initializer(layer.recurrentInitializer, layer: layer)
        config["bias_initializer"] = try KerasLayerEncoder.initializer(layer.biasInitializer, layer: layer)
    }
}
