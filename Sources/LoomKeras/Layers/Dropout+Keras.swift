import Foundation
import Loom

extension Dropout: KerasLayer {
    static var kerasClassName: String { "Dropout" }

    static func decode(_ config: inout LayerConfig, name: String, decoder: KerasLayerDecoder) throws -> Dropout {
        try config.require("noise_shape", is: NSNull(), explaining: "Loom drops values independently")
        return Dropout(try config.float("rate", default: 0), name: name)
    }

    func encode(into config: inout [String: Any], keras2: Bool) throws {
        config["rate"] = KerasLayerEncoder.decimal(rate)
        config["noise_shape"] = NSNull()
        config["seed"] = NSNull()
    }

    static var kerasExample: Sequential {
        Sequential(seed: 1) {
            Input(shape: [5, 3]); LSTM(3); Dropout(0.25); Dense(1)
        }
    }
}
