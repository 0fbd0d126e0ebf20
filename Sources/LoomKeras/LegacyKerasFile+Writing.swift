import Foundation
import Loom
import LoomHDF5

/// Writing Keras 2's whole-model `.h5` (`model.save("m.h5")` in tf.keras), which Keras 3's
/// `keras.models.load_model` and tf.keras 2 both load.
///
/// The root attribute `model_config` holds tf.keras 2's JSON: `InputLayer` with
/// `batch_input_shape`, every object a plain `{"class_name", "config"}`, except a layer
/// inside `Bidirectional` or `TimeDistributed`, which keeps Keras 3's `module` (Keras 3's
/// reader needs it there; tf.keras 2 ignores it). `model_weights` lists every layer in
/// `layer_names`; each layer's group lists its datasets in `weight_names`, in Keras's weight
/// order, named as tf.keras names them (`lstm/lstm_cell/kernel:0`,
/// `bidirectional/forward_lstm/lstm_cell/kernel:0`, `time_distributed/kernel:0`). Strings are
/// variable-length UTF-8, as h5py writes them; `keras_version` says 2.15.0, so that a reader
/// takes `hard_sigmoid` as Keras 2's.
extension LegacyKerasFile {
    /// The Keras version the file says wrote it.
    static let writtenVersion = "2.15.0"

    /// Writes `model` (built) to `file` (new). Refuses weights holding NaN or Inf, as the other
    /// formats do.
    static func save(_ model: Sequential, to file: HDF5File) throws {
        let config = try modelConfig(of: model)
        let weights = try KerasWeightsFile.finiteWeights(of: model)
        try file.setAttribute("model_config", variableLengthStrings: [String(decoding: config, as: UTF8.self)], scalar: true)
        try file.setAttribute("keras_version", variableLengthStrings: [writtenVersion], scalar: true)
        try file.setAttribute("backend", variableLengthStrings: ["tensorflow"], scalar: true)
        try file.createGroup("model_weights")
        try file.setAttribute("layer_names", variableLengthStrings: model.layers.map(\.name), on: "model_weights")
        try file.setAttribute("keras_version", variableLengthStrings: [writtenVersion], scalar: true, on: "model_weights")
        try file.setAttribute("backend", variableLengthStrings: ["tensorflow"], scalar: true, on: "model_weights")
        var remaining = weights[...]
        for layer in model.layers {
            let group = "model_weights/" + layer.name
            let names = weightNames(of: layer)
            try file.createGroup(group)
            try file.setAttribute("weight_names", variableLengthStrings: names, on: group)
            for name in names {
                try file.write(remaining.removeFirst(), as: group + "/" + name)
            }
        }
    }

    /// tf.keras's names of a layer's weights, relative to its group, in weight order.
    static func weightNames(of layer: any Layer) -> [String] {
        func names(_ layer: any Layer, under prefix: String) -> [String] {
            let cell = layer is any RecurrentLayer ? Sequential.snakeCase(layer.typeName) + "_cell/" : ""
            return layer.parameterSpecs.map { prefix + cell + $0.name + ":0" }
        }
        switch layer {
        case let wrapper as Bidirectional:
            return names(wrapper.forwardLayer, under: "\(layer.name)/\(wrapper.forwardLayer.name)/")
                + names(wrapper.backwardLayer, under: "\(layer.name)/\(wrapper.backwardLayer.name)/")
        case let wrapper as TimeDistributed:
            return names(wrapper.layer, under: layer.name + "/")
        default:
            return names(layer, under: layer.name + "/")
        }
    }

    /// The model's config in tf.keras 2's JSON.
    static func modelConfig(of model: Sequential) throws -> Data {
        let keras3 = try KerasModelConfig.object(of: model, keras2: true)
        return try KerasModelConfig.encoded(["class_name": "Sequential", "config": keras2Object(keras3["config"]!, nested: false)])
    }

    /// `value` of a Keras 3 config as tf.keras 2 writes it (see the type's comment); `nested`
    /// for the layer a wrapper holds.
    private static func keras2Object(_ value: Any, nested: Bool) -> Any {
        if let list = value as? [Any] { return list.map { keras2Object($0, nested: false) } }
        guard var object = value as? [String: Any] else { return value }
        guard let className = object["class_name"] as? String, var config = object["config"] as? [String: Any] else {
            for (key, inner) in object { object[key] = keras2Object(inner, nested: key == "layer") }
            object["build_config"] = nil
            return object
        }
        if className == "InputLayer" {
            config["batch_input_shape"] = config.removeValue(forKey: "batch_shape")
            config["ragged"] = false
        }
        for (key, inner) in config { config[key] = keras2Object(inner, nested: key == "layer") }
        var result: [String: Any] = ["class_name": className, "config": config]
        if nested {
            result["module"] = object["module"] ?? "keras.layers"
            result["registered_name"] = NSNull()
        }
        return result
    }
}
