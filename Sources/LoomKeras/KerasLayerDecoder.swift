import Foundation
import Loom

/// Turns one serialized Keras layer (`{"class_name": ..., "config": {...}}`) into a Loom layer.
///
/// Reads the layer configs of Keras 3 and of Keras 2 / tf.keras alike; where they differ in
/// meaning, `keras2` says which: Keras 2's `hard_sigmoid` is `clip(0.2·x + 0.5, 0, 1)`.
/// One difference affects training only and is not refused: tf.keras draws recurrent
/// dropout's masks per gate (its `implementation=1`), Loom one mask for the four gates, as
/// Keras 3 does.
struct KerasLayerDecoder {
    /// Whether the config comes from Keras 2 (tf.keras, legacy .h5).
    let keras2: Bool
    /// Where a model read for prediction collects its training-only settings; nil: refused.
    var trainingOnly: TrainingOnlySettings? = nil

    /// The Loom layer, and the batch input shape the layer declares, if any
    /// (`batch_input_shape`, `batch_shape` or `input_shape`, batch first, nil for None).
    func layer(_ serialized: Any) throws -> (layer: any Layer, batchInputShape: [Int?]?) {
        guard let object = serialized as? [String: Any], let className = object["class_name"] as? String else {
            throw KerasConfigProblem(message: "a layer entry without class_name: \(serialized)")
        }
        let values = object["config"] as? [String: Any] ?? [:]
        let name = values["name"] as? String ?? ""
        var config = LayerConfig(values, layer: "\(className) '\(name)'", trainingOnly: trainingOnly)
        let inputShape = KerasLayerDecoder.batchInputShape(values)
        let layer = try make(className, &config, name: name)
        try config.finish()
        return (layer, inputShape)
    }

    /// The batch input shape a layer config (or an InputLayer's) declares.
    static func batchInputShape(_ values: [String: Any]) -> [Int?]? {
        func dims(_ value: Any?) -> [Int?]? {
            guard let list = value as? [Any] else { return nil }
            return list.map { ($0 as? NSNumber).flatMap { Int(exactly: $0.doubleValue) } }
        }
        if let shape = dims(values["batch_shape"]) ?? dims(values["batch_input_shape"]) { return shape }
        if let shape = dims(values["input_shape"]) ?? dims(values["shape"]) {
            let batch = (values["batch_size"] as? NSNumber).flatMap { Int(exactly: $0.doubleValue) }
            return [batch] + shape
        }
        return nil
    }

    private func make(_ className: String, _ config: inout LayerConfig, name: String) throws -> any Layer {
        guard let kind = KerasLayerKind(className: className) else {
            throw KerasConfigProblem(
                message: "layer '\(name)' is \("AEIOU".contains(className.first ?? " ") ? "an" : "a") \(className), "
                    + "which Loom does not have (it has \(KerasLayerKind.classNames))")
        }
        return try kind.layerType.decode(&config, name: name, decoder: self)
    }

    /// A convolution's or pooling's `padding`.
    func padding(_ config: inout LayerConfig) throws -> Padding {
        let name = try config.string("padding", default: "valid")
        guard let padding = Padding(rawValue: name) else {
            throw config.error("padding '\(name)' is not supported (valid, same)")
        }
        return padding
    }

    /// An activation by name; Keras 3 may also serialize it as `{"class_name": ..., "config": {"name": ...}}`.
    func activation(_ config: inout LayerConfig, _ key: String, default fallback: Activation) throws -> Activation {
        guard let value = config.raw(key) else { return fallback }
        // A name, or Keras 3's object for a plain function: {"class_name": "function", "config": "relu"}.
        let object = value as? [String: Any]
        guard let name = value as? String ?? (object?["class_name"] as? String == "function" ? object?["config"] as? String : nil) else {
            throw config.error("option '\(key)' is not an activation name: \(value)")
        }
        if name == "hard_sigmoid", keras2 { return .hardSigmoidKeras2 }
        guard name != Activation.hardSigmoidKeras2.rawValue, let activation = Activation(rawValue: name) else {
            throw config.error("activation '\(name)' in '\(key)' is not supported (linear, relu, sigmoid, tanh, hard_sigmoid, softmax)")
        }
        return activation
    }

    /// An initializer: a name ("glorot_uniform") or `{"class_name": "GlorotUniform", "config": {...}}`.
    func initializer(_ config: inout LayerConfig, _ key: String, default fallback: Initializer) throws -> Initializer {
        guard let value = config.raw(key) else { return fallback }
        let object = value as? [String: Any]
        guard let name = (value as? String) ?? (object?["class_name"] as? String) else {
            throw config.error("option '\(key)' is not an initializer: \(value)")
        }
        let options = object?["config"] as? [String: Any] ?? [:]
        func number(_ key: String, _ fallback: Double) -> Double { (options[key] as? NSNumber)?.doubleValue ?? fallback }
        switch name {
        case "GlorotUniform", "glorot_uniform": return .glorotUniform
        case "Orthogonal", "orthogonal":
            guard number("gain", 1) == 1 else {
                throw config.error("an Orthogonal initializer with gain \(number("gain", 1)) is not supported (gain 1)")
            }
            return .orthogonal
        case "Zeros", "zeros": return .zeros
        case "Ones", "ones": return .ones
        case "RandomUniform", "random_uniform", "uniform":
            return .randomUniform(minimum: Float(number("minval", -0.05)), maximum: Float(number("maxval", 0.05)))
        default:
            throw config.error("initializer \(name) in '\(key)' is not supported (glorot_uniform, orthogonal, zeros, ones, random_uniform)")
        }
    }
}
