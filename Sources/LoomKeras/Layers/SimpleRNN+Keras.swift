import Loom

extension SimpleRNN: KerasLayer {
    static var kerasClassName: String { "SimpleRNN" }

    static func decode(_ config: inout LayerConfig, name: String, decoder: KerasLayerDecoder) throws -> SimpleRNN {
        try RecurrentOptions.refuseLSTMOnlyOptions(&config)
        let common = try RecurrentOptions(&config, decoder: decoder)
        let rnn = SimpleRNN(
            common.units, activation: common.activation, useBias: common.useBias,
            returnSequences: common.returnSequences, goBackwards: common.goBackwards, stateful: common.stateful,
            dropout: common.dropout, recurrentDropout: common.recurrentDropout,
            kernelInitializer: common.kernelInitializer, recurrentInitializer: common.recurrentInitializer,
            biasInitializer: common.biasInitializer, name: name)
        rnn.zeroOutputForMask = common.zeroOutputForMask
        return rnn
    }

    func encode(into config: inout [String: Any], keras2: Bool) throws {
        try RecurrentOptions.encode(self, into: &config, keras2: keras2)
    }

    static var kerasExample: Sequential {
        Sequential(seed: 1) {
            Input(shape: [5, 3]); SimpleRNN(4, activation: .relu)
        }
    }
}
