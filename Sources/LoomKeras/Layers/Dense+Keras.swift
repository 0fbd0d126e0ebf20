import Loom

extension Dense: KerasLayer {
    static var kerasClassName: String { "Dense" }

    static func decode(_ config: inout LayerConfig, name: String, decoder: KerasLayerDecoder) throws -> Dense {
        Dense(
            try config.int("units"), activation: try decoder.activation(&config, "activation", default: .linear),
            useBias: try config.bool("use_bias", default: true),
            kernelInitializer: try decoder.initializer(&config, "kernel_initializer", default: .glorotUniform),
            biasInitializer: try decoder.initializer(&config, "bias_initializer", default: .zeros), name: name)
    }

    func encode(into config: inout [String: Any], keras2: Bool) throws {
        config["units"] = units
        try KerasLayerEncoder.kernelAndBias(
            of: self, activation: activation, useBias: useBias, kernelInitializer: kernelInitializer,
            biasInitializer: biasInitializer, into: &config, keras2: keras2)
    }

    static var kerasExample: Sequential {
        Sequential(seed: 1) {
            Input(shape: [4]); Dense(3, activation: .tanh)
        }
    }
}
