import Loom

extension TimeDistributed: KerasLayer {
    static var kerasClassName: String { "TimeDistributed" }

    static func decode(_ config: inout LayerConfig, name: String, decoder: KerasLayerDecoder) throws -> TimeDistributed {
        guard let inner = config.raw("layer") else { throw config.error("option 'layer' is missing") }
        return TimeDistributed(try decoder.layer(inner).layer, name: name)
    }

    func encode(into config: inout [String: Any], keras2: Bool) throws {
        config["layer"] = try KerasLayerEncoder.serialize(layer, keras2: keras2)
    }

    static var kerasExample: Sequential {
        Sequential(seed: 1) {
            Input(shape: [5, 3]); TimeDistributed(Dense(2))
        }
    }
}
