import Loom

extension RepeatVector: KerasLayer {
    static var kerasClassName: String { "RepeatVector" }

    static func decode(_ config: inout LayerConfig, name: String, decoder: KerasLayerDecoder) throws -> RepeatVector {
        RepeatVector(try config.int("n"), name: name)
    }

    func encode(into config: inout [String: Any], keras2: Bool) throws {
        config["n"] = n
    }

    static var kerasExample: Sequential {
        Sequential(seed: 1) {
            Input(shape: [3]); Dense(2); RepeatVector(4); LSTM(2)
        }
    }
}
