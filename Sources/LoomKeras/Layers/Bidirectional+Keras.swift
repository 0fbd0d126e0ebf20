import Foundation
import Loom

extension Bidirectional: KerasLayer {
    static var kerasClassName: String { "Bidirectional" }

    static func decode(_ config: inout LayerConfig, name: String, decoder: KerasLayerDecoder) throws -> Bidirectional {
        guard let innerConfig = config.raw("layer") else { throw config.error("option 'layer' is missing") }
        guard let inner = try decoder.layer(innerConfig).layer as? any RecurrentLayer else {
            throw config.error("wraps a layer that is not LSTM, GRU or SimpleRNN")
        }
        let mode = try config.string("merge_mode", default: "concat")
        guard let mergeMode = Bidirectional.MergeMode(rawValue: mode) else {
            throw config.error("merge_mode '\(mode)' is not supported (concat, sum, mul, ave)")
        }
        // Keras 3 writes the backward layer it derived; Loom derives the same one. Any other
        // backward layer (another type, size or option) is refused.
        if let backwardConfig = config.raw("backward_layer") {
            let backward = try decoder.layer(backwardConfig).layer
            func options(_ layer: any Layer) throws -> NSDictionary {
                var config = try KerasLayerEncoder.serialize(layer)["config"] as? [String: Any] ?? [:]
                config["name"] = nil
                return config as NSDictionary
            }
            guard try options(backward) == options(inner.reversedCopy()) else {
                throw config.error("a backward_layer that is not the forward layer reading backwards is not supported")
            }
        }
        return Bidirectional(inner, mergeMode: mergeMode, name: name)
    }

    func encode(into config: inout [String: Any], keras2: Bool) throws {
        // Keras derives the backward layer from this one, as Loom does.
        config["layer"] = try KerasLayerEncoder.serialize(forwardLayer, keras2: keras2)
        config["merge_mode"] = mergeMode.rawValue
    }

    static var kerasExample: Sequential {
        Sequential(seed: 1) {
            Input(shape: [5, 3]); Bidirectional(LSTM(2), mergeMode: .ave)
        }
    }
}
