import Loom

extension Masking: KerasLayer {
    static var kerasClassName: String { "Masking" }

    static func decode(_ config: inout LayerConfig, name: String, decoder: KerasLayerDecoder) throws -> Masking {
        Masking(maskValue: try config.float("mask_value", default: 0), name: name)
    }

    func encode(into config: inout [String: Any], keras2: Bool) throws {
        config["mask_value"] = KerasLayerEncoder.decimal(maskValue)
    }

    static var kerasExample: Sequential {
        Sequential(seed: 1) {
            Input(shape: [5, 3]); Masking(maskValue: -1); LSTM(2, returnSequences: true); Dense(1)
        }
    }
}
