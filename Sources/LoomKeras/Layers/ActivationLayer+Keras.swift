import Loom

extension ActivationLayer: KerasLayer {
    static var kerasClassName: String { "Activation" }

    static func decode(_ config: inout LayerConfig, name: String, decoder: KerasLayerDecoder) throws -> ActivationLayer {
        guard config.raw("activation") != nil else { throw config.error("option 'activation' is missing") }
        return ActivationLayer(try decoder.activation(&config, "activation", default: .linear), name: name)
    }

    func encode(into config: inout [String: Any], keras2: Bool) throws {
        config["activation"] = try KerasLayerEncoder.activation(activation, layer: self, keras2: keras2)
    }

    static var kerasExample: Sequential {
        Sequential(seed: 1) {
            Input(shape: [5, 3]); Dense(4); ActivationLayer(.softmax)
        }
    }
}
