import Foundation
import Loom

/// A Keras `Sequential` model's config, the JSON of `model.to_json()` and of a `.keras`
/// file's `config.json`: read from Keras 3 and Keras 2 / tf.keras, written as Keras 3 does.
///
/// The input shape comes from, in this order: an `InputLayer` (`batch_shape` in Keras 3,
/// `batch_input_shape` in Keras 2), the first layer's `batch_input_shape`, the model's
/// `build_input_shape`, or the first layer's `build_config`. The batch dimension, when not
/// null, becomes the model's fixed batch size (stateful models need it).
struct KerasModelConfig {
    let name: String
    let layers: [any Layer]
    /// Per sample, batch excluded.
    let inputShape: [Int]
    let batchSize: Int?
    /// The `compile_config` of a compiled model's `config.json` (or a whole-model `.h5`
    /// file's `training_config`, `LegacyKerasFile.trainingConfig`); nil when saved uncompiled
    /// (Keras writes an empty one).
    var compileConfig: [String: Any]?
    /// What was accepted of training-only settings when read `forPrediction` (empty otherwise:
    /// such settings are refused).
    let trainingOnlySettings: [String]
    /// The layers frozen (`trainable=false`), when read `forPrediction`.
    let frozenLayers: Set<String>

    /// Reads a config. `keras2` nil: decided from the config (`keras_version` 1.x or 2.x, or
    /// no `module` key, which Keras 3 always writes). `forPrediction` accepts the settings
    /// that change training alone (`TrainingOnlySettings`).
    init(json data: Data, keras2 hint: Bool? = nil, forPrediction: Bool = false) throws {
        let parsed: Any
        do { parsed = try JSONSerialization.jsonObject(with: data) } catch {
            throw KerasConfigProblem(message: "the model config is not valid JSON (\(error.localizedDescription))")
        }
        guard let top = parsed as? [String: Any], let className = top["class_name"] as? String else {
            throw KerasConfigProblem(message: "the model config has no class_name; expected a Keras model config")
        }
        guard className == "Sequential" else {
            throw KerasConfigProblem(
                message: "the model is a \(className == "Functional" || className == "Model" ? "functional (non-Sequential)" : className) "
                    + "model; Loom reads Sequential models only (rebuild it as keras.Sequential)")
        }
        let version = top["keras_version"] as? String
        let keras2 = hint ?? (version.map { $0.hasPrefix("1.") || $0.hasPrefix("2.") } ?? (top["module"] == nil))
        let config = top["config"] as? [String: Any]
        guard let entries = (config?["layers"] ?? top["config"]) as? [Any] else {
            throw KerasConfigProblem(message: "the Sequential config has no list of layers")
        }
        let trainingOnly = forPrediction ? TrainingOnlySettings() : nil
        let decoder = KerasLayerDecoder(keras2: keras2, trainingOnly: trainingOnly)
        var layers: [any Layer] = []
        var batchInputShape: [Int?]?
        for entry in entries {
            let object = entry as? [String: Any]
            if object?["class_name"] as? String == "InputLayer" {
                batchInputShape = KerasLayerDecoder.batchInputShape(object?["config"] as? [String: Any] ?? [:])
                continue
            }
            let (layer, declared) = try decoder.layer(entry)
            if layers.isEmpty, batchInputShape == nil {
                let built = (object?["build_config"] as? [String: Any])?["input_shape"]
                batchInputShape = declared ?? KerasLayerDecoder.batchInputShape(["batch_shape": built as Any])
            }
            layers.append(layer)
        }
        if batchInputShape == nil, let built = config?["build_input_shape"] {
            batchInputShape = KerasLayerDecoder.batchInputShape(["batch_shape": built])
        }
        guard !layers.isEmpty else { throw KerasConfigProblem(message: "the Sequential model has no layers") }
        guard let shape = batchInputShape, shape.count >= 2 else {
            throw KerasConfigProblem(message: "the model config declares no input shape (add keras.Input(shape=...) in Keras)")
        }
        let sample = shape.dropFirst().compactMap { $0 }
        guard sample.count == shape.count - 1 else {
            throw KerasConfigProblem(
                message: "the input shape \(Shape.describe(shape.map { $0 ?? -1 })) has None besides the batch; "
                    + "Loom needs every size but the batch fixed (declare them in keras.Input)")
        }
        guard (shape[0] ?? 1) > 0, sample.allSatisfy({ $0 > 0 }) else {
            throw KerasConfigProblem(
                message: "the input shape \(Shape.describe(shape.map { $0 ?? -1 })) has a size that is not positive")
        }
        name = config?["name"] as? String ?? "sequential"
        self.layers = layers
        trainingOnlySettings = trainingOnly?.names ?? []
        frozenLayers = trainingOnly?.frozenLayers ?? []
        inputShape = sample
        batchSize = shape[0]
        // Keras writes `{}` (or null) for a model saved uncompiled.
        compileConfig = (top["compile_config"] as? [String: Any]).flatMap { $0.isEmpty ? nil : $0 }
    }

    /// The Keras 3 config of a built model (the JSON of `to_json()` and of `config.json`,
    /// which also holds a compiled model's `compile_config` when `compiled`).
    static func json(of model: Sequential, compiled: Bool = false) throws -> Data {
        KerasOptimizerConfig.floatsUnmarked(try encoded(try object(of: model, compiled: compiled)))
    }

    /// A config's JSON objects as JSON, keys sorted.
    static func encoded(_ object: [String: Any]) throws -> Data {
        do {
            return try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
        } catch {
            throw KerasConfigProblem(message: "cannot write the config as JSON: \(error)")
        }
    }

    /// The config of `json(of:compiled:)` as JSON objects; `keras2` names activations as
    /// Keras 2 does (`KerasLayerEncoder`).
    static func object(of model: Sequential, compiled: Bool = false, keras2: Bool = false) throws -> [String: Any] {
        guard let input = model.inputShape, model.isBuilt else {
            throw KerasConfigProblem(message: "model '\(model.name)' is not built; give it an Input and build it first")
        }
        let batch: Int? = model.batchSize
        let names = Set(model.layers.map(\.name))
        let inputName = (0...).lazy.map { $0 == 0 ? "input_layer" : "input_layer_\($0)" }.first { !names.contains($0) }!
        var layers: [Any] = [
            [
                "module": "keras.layers", "class_name": "InputLayer", "registered_name": NSNull(),
                "config": [
                    "batch_shape": [KerasLayerEncoder.json(batch)] + input, "dtype": "float32", "sparse": false,
                    "name": inputName,
                ] as [String: Any],
            ] as [String: Any]
        ]
        var layerInput = input
        for (layer, output) in zip(model.layers, model.layerOutputShapes) {
            layers.append(try KerasLayerEncoder.serialize(layer, buildInputShape: [batch] + layerInput, keras2: keras2))
            layerInput = output
        }
        var top: [String: Any] = [
            "module": "keras", "class_name": "Sequential", "registered_name": NSNull(),
            "config": ["name": model.name, "trainable": true, "dtype": "float32", "layers": layers] as [String: Any],
            "build_config": ["input_shape": [KerasLayerEncoder.json(batch)] + input] as [String: Any],
        ]
        if compiled, let optimizer = model.optimizer, let loss = model.loss,
            let compile = KerasCompileConfig(optimizer: optimizer, loss: loss, metrics: model.metrics, metricNames: model.metricNames)
                .json()
        {
            top["compile_config"] = compile
        }
        return top
    }

    /// Refuses the layer names Keras refuses to load: two layers of the model with one name,
    /// or a name with a `/` (Keras builds variable paths from names), at any depth. Each way
    /// of writing (`Sequential.save(to:)`, `kerasJSON()`) checks once, before writing anything.
    static func checkNames(of model: Sequential) throws {
        var seen: [String: Int] = [:]
        for (index, layer) in model.layers.enumerated() {
            if let first = seen[layer.name] {
                throw KerasConfigProblem(
                    message: "layers \(first + 1) and \(index + 1) are both named '\(layer.name)'; Keras needs each layer of a "
                        + "Sequential model to have its own name (rename one)")
            }
            seen[layer.name] = index
        }
        func checkSlash(_ layer: any Layer) throws {
            guard !layer.name.contains("/") else {
                throw KerasConfigProblem(message: "\(layer.typeName) '\(layer.name)': Keras does not allow '/' in a layer name")
            }
            switch layer {
            case let wrapper as TimeDistributed: try checkSlash(wrapper.layer)
            case let wrapper as Bidirectional: try checkSlash(wrapper.forwardLayer)
            default: break
            }
        }
        for layer in model.layers { try checkSlash(layer) }
    }
}
