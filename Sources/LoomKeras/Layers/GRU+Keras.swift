import Loom

extension GRU: KerasLayer {
    static var kerasClassName: String { "GRU" }

    static func decode(_ config: inout LayerConfig, name: String, decoder: KerasLayerDecoder) throws -> GRU {
        try config.require("reset_after", is: true, explaining: "Loom's GRU is Keras's reset_after=True form")
        try RecurrentOptions.refuseLSTMOnlyOptions(&config)
        let common = try RecurrentOptions(&config, decoder: decoder)
        let gru = GRU(
            common.units, activation: common.activation,
            recurrentActivation: try decoder.activation(&config, "recurrent_activation", default: .sigmoid),
            useBias: common.useBias, returnSequences: common.returnSequences, goBackwards: common.goBackwards,
            stateful: common.stateful, dropout: common.dropout,
            recurrentDropout: common.recurrentDropout, kernelInitializer: common.kernelInitializer,
            recurrentInitializer: common.recurrentInitializer, biasInitializer: common.biasInitializer, name: name)
        gru.zeroOutputForMask = common.zeroOutputForMask
        return gru
    }

    func encode(into config: inout [String: Any], keras2: Bool) throws {
        try RecurrentOptions.encode(self, into: &config, keras2: keras2)
        config["recurrent_activation"] = try KerasLayerEncoder.activation(recurrentActivation, layer: self, keras2: keras2)
        config["reset_after"] = true
    }

    static var kerasExample: Sequential {
        Sequential(seed: 1) {
            Input(shape: [5, 3]); GRU(4)
        }
    }
}
