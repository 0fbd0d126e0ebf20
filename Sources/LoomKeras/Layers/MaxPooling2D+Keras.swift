import Loom

extension MaxPooling2D: KerasLayer {
    static var kerasClassName: String { "MaxPooling2D" }

    static func decode(_ config: inout LayerConfig, name: String, decoder: KerasLayerDecoder) throws -> MaxPooling2D {
        let poolSize = try config.pair("pool_size", default: (2, 2))
        let strides = try config.pair("strides", default: poolSize)
        return MaxPooling2D(poolSize: poolSize, strides: strides, padding: try decoder.padding(&config), name: name)
    }

    func encode(into config: inout [String: Any], keras2: Bool) throws {
        config["pool_size"] = [poolSize.0, poolSize.1]
        config["strides"] = [strides.0, strides.1]
        config["padding"] = padding.rawValue
        config["data_format"] = "channels_last"
    }

    static var kerasExample: Sequential {
        Sequential(seed: 1) {
            Input(shape: [6, 6, 2])
            Conv2D(2, kernelSize: (3, 3), padding: .same, activation: .tanh)
            MaxPooling2D(poolSize: (2, 2))
            Flatten()
            Dense(1)
        }
    }
}
