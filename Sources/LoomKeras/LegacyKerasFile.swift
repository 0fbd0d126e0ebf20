import Foundation
import Loom
import LoomHDF5

/// Keras 2's HDF5 files: tf.keras `model.save("m.h5")` (the whole model) and
/// `model.save_weights("w.h5")` (weights only).
///
/// A whole-model file holds the model config as JSON in the root attribute `model_config`
/// and the weights under the group `model_weights`; a weights file holds them at the root.
/// There, attribute `layer_names` lists the layers in model order; each layer's group has the
/// attribute `weight_names` ("lstm/lstm_cell/kernel:0", ...) naming its datasets, relative
/// to the group, in the layer's weight order. Attributes too large for an HDF5 object header
/// are split by Keras into `layer_names0`, `layer_names1`, ... and read back joined.
enum LegacyKerasFile {
    /// The JSON of `model_config`, or nil for a weights-only file.
    static func modelConfig(in file: HDF5File) throws -> Data? {
        try file.stringAttribute("model_config").map { Data($0.utf8) }
    }

    /// The root attribute `training_config` of a model saved compiled, in the shape of a
    /// `.keras` file's `compile_config` (`KerasCompileConfig`): the optimizer under
    /// `optimizer_config` (its class maybe `Custom>Adam`, tf.keras 2.11+), and tf.keras 2's
    /// metrics as a list a model output of `MeanMetricWrapper`s naming their function; nil
    /// when saved uncompiled or when the attribute is not JSON (the model still loads).
    static func trainingConfig(in file: HDF5File) throws -> [String: Any]? {
        guard let text = try file.stringAttribute("training_config"),
            var config = (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any]
        else { return nil }
        if var optimizer = config.removeValue(forKey: "optimizer_config") as? [String: Any] {
            if let name = optimizer["class_name"] as? String, name.hasPrefix("Custom>") {
                optimizer["class_name"] = String(name.dropFirst("Custom>".count))
            }
            config["optimizer"] = optimizer
        }
        for key in ["metrics", "weighted_metrics"] {
            guard var list = config[key] as? [Any] else { continue }
            // One output: tf.keras 2 nests its metrics in a list of their own.
            if list.count == 1, let only = list[0] as? [Any] { list = only }
            config[key] = list.isEmpty && key == "weighted_metrics" ? NSNull() : list.map(unwrappedMetric)
        }
        return config
    }

    /// A metric as tf.keras 2 saves it, `MeanMetricWrapper` around a function: the function's
    /// name ("binary_accuracy"); any other metric as it is.
    private static func unwrappedMetric(_ metric: Any) -> Any {
        guard let object = metric as? [String: Any], object["class_name"] as? String == "MeanMetricWrapper",
            let config = object["config"] as? [String: Any]
        else { return metric }
        return config["fn"] as? String ?? config["name"] ?? metric
    }

    /// Whether the file says Keras 1 or 2 wrote it (`keras_version`), or carries no version.
    static func writtenByKeras2(_ file: HDF5File) -> Bool {
        guard let version = try? file.stringAttribute("keras_version") else { return true }
        return version.hasPrefix("1.") || version.hasPrefix("2.")
    }

    /// Whether `file` is laid out this way (a `model_weights` group, or a `layer_names` list at
    /// the root), without reading the model config.
    static func isLegacy(_ file: HDF5File) -> Bool {
        file.contains("model_weights") || (try? chunkedStrings("layer_names", on: nil, in: file)) != nil
    }

    /// Loads the weights into `model` by position, as Keras 2's `load_weights` does: the i-th
    /// layer of the file with weights goes to the i-th layer of the model with parameters.
    /// Nothing changes unless every layer and shape fits.
    static func load(into model: Sequential, from file: HDF5File) throws {
        try model.build()
        let root: String? = file.contains("model_weights") ? "model_weights" : nil
        guard let layerNames = try chunkedStrings("layer_names", on: root, in: file) else {
            throw HDF5Error(file: file.path, dataset: root, "has no layer_names attribute: not a Keras 2 weights file")
        }
        var fileLayers: [(name: String, weights: [String])] = []
        for name in layerNames {
            let group = (root.map { $0 + "/" } ?? "") + name
            let weights = try chunkedStrings("weight_names", on: group, in: file) ?? []
            if !weights.isEmpty { fileLayers.append((group, weights)) }
        }
        let modelLayers = model.layers.filter { $0.parameterCount > 0 }
        guard fileLayers.count == modelLayers.count else {
            throw HDF5Error(
                file: file.path,
                "holds weights for \(fileLayers.count) layers (\(fileLayers.map(\.name).joined(separator: ", "))), "
                    + "but the model has \(modelLayers.count) layers with weights "
                    + "(\(modelLayers.map(\.name).joined(separator: ", ")))")
        }
        var tensors: [Tensor] = []
        for ((group, names), layer) in zip(fileLayers, modelLayers) {
            let specs = layer.parameterSpecs
            guard names.count == specs.count else {
                throw HDF5Error(
                    file: file.path, dataset: group,
                    "holds \(names.count) weights, but layer '\(layer.name)' (\(layer.typeName)) has \(specs.count)")
            }
            for (name, spec) in zip(names, specs) {
                tensors.append(try KerasWeightsFile.read(group + "/" + name, for: spec, of: layer, in: file))
            }
        }
        try model.setWeights(tensors)
    }

    /// A string-list attribute, whole or split into numbered chunks; nil when absent.
    static func chunkedStrings(_ name: String, on object: String?, in file: HDF5File) throws -> [String]? {
        if let whole = try file.stringsAttribute(name, on: object) { return whole }
        var chunks: [String] = []
        var index = 0
        while let chunk = try file.stringsAttribute("\(name)\(index)", on: object) {
            chunks += chunk
            index += 1
        }
        return index == 0 ? nil : chunks
    }
}
