import Loom

extension Flatten: KerasLayer {
    static var kerasClassName: String { "Flatten" }

    static func decode(_ config: inout LayerConfig, name: String, decoder: KerasLayerDecoder) throws -> Flatten {
        Flatten(name: name)
    }

    func encode(into config: inout [String: Any], keras2: Bool) throws {
        config["data_format"] = "channels_last"
    }

    static var kerasExample: Sequential {
        Sequential(seed: 1) {
            Input(shape: [3, 4]); Dense(2); Flatten(); Dense(1)
        }
    }
}
