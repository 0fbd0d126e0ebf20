import Loom

extension Conv2D: KerasLayer {
    static var kerasClassName: String { "Conv2D" }

    static func decode(_ config: inout LayerConfig, name: String, decoder: KerasLayerDecoder) throws -> Conv2D {
        try config.require("dilation_rate", is: [1, 1], explaining: "Loom's convolution is not dilated")
        try config.require("groups", is: 1, explaining: "Loom's convolution is not grouped")
        return Conv2D(
            try config.int("filters"), kernelSize: try config.pair("kernel_size"),
            strides: try config.pair("strides", default: (1, 1)), padding: try decoder.padding(&config),
            activation: try decoder.activation(&config, "activation", default: .linear),
            useBias: try config.bool("use_bias", default: true),
            kernelInitializer: try decoder.initializer(&config, "kernel_initializer", default: .glorotUniform),
            biasInitializer: try decoder.initializer(&config, "bias_initializer", default: .zeros), name: name)
    }

    func encode(into config: inout [String: Any], keras2: Bool) throws {
        config["filters"] = filters
        config["kernel_size"] = [kernelSize.0, kernelSize.1]
        config["strides"] = [strides.0, strides.1]
        config["padding"] = padding.rawValue
        config["data_format"] = "channels_last"
        config["dilation_rate"] = [1, 1]
        config["groups"] = 1
        try KerasLayerEncoder.kernelAndBias(
            of: self, activation: activation, useBias: useBias, kernelInitializer: kernelInitializer,
            biasInitializer: biasInitializer, into: &config, keras2: keras2)
    }

    static var kerasExample: Sequential {
        Sequential(seed: 1) {
            Input(shape: [6, 6, 2]); Conv2D(3, kernelSize: (3, 3), strides: (2, 2), padding: .same)
        }
    }
}
