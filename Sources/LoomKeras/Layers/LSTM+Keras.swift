import Loom

extension LSTM: KerasLayer {
    static var kerasClassName: String { "LSTM" }

    static func decode(_ config: inout LayerConfig, name: String, decoder: KerasLayerDecoder) throws -> LSTM {
        let common = try RecurrentOptions(&config, decoder: decoder)
        let lstm = LSTM(
            common.units, activation: common.activation,
            recurrentActivation: try decoder.activation(&config, "recurrent_activation", default: .sigmoid),
            useBias: common.useBias, unitForgetBias: try config.bool("unit_forget_bias", default: true),
            returnSequences: common.returnSequences, returnState: try config.bool("return_state", default: false),
            goBackwards: common.goBackwards, stateful: common.stateful,
            dropout: common.dropout, recurrentDropout: common.recurrentDropout,
            kernelInitializer: common.kernelInitializer, recurrentInitializer: common.recurrentInitializer,
            biasInitializer: common.biasInitializer, name: name)
        lstm.zeroOutputForMask = common.zeroOutputForMask
        return lstm
    }

    func encode(into config: inout [String: Any], keras2: Bool) throws {
        try RecurrentOptions.encode(self, into: &config, keras2: keras2)
        config["recurrent_activation"] = try KerasLayerEncoder.activation(recurrentActivation, layer: self, keras2: keras2)
        config["unit_forget_bias"] = unitForgetBias
        config["return_state"] = returnState
    }

    static var kerasExample: Sequential {
        Sequential(seed: 1) {
            Input(shape: [5, 3]); LSTM(4, returnSequences: true, goBackwards: true)
        }
    }
}
