import Foundation
import Loom

/// Writes a Loom layer as Keras 3 serializes it (`{"module", "class_name", "config",
/// "registered_name"}`), with the options Loom implements; Keras fills in the rest with its
/// defaults, which are the values Loom computes with. For a Keras 2 `.h5` file (`keras2`),
/// `hard_sigmoid` means Keras 2's (0.2·x + 0.5, clipped), and Keras 3's has no name.
enum KerasLayerEncoder {
    static func serialize(_ layer: any Layer, buildInputShape: [Int?]? = nil, keras2: Bool = false) throws -> [String: Any] {
        guard let kind = KerasLayerKind(layer) else { throw noKerasEquivalent(layer) }
        var object: [String: Any] = [
            "module": "keras.layers", "class_name": kind.className, "config": try config(of: layer, keras2: keras2),
            "registered_name": NSNull(),
        ]
        if let buildInputShape { object["build_config"] = ["input_shape": buildInputShape.map(json)] }
        return object
    }

    /// The shortest decimal that reads back as `value` (0.2, not 0.20000000298023224), as
    /// Keras writes a rate given in Python.
    static func decimal(_ value: Float) -> Double { Double(String(value)) ?? Double(value) }

    /// `nil` as JSON null, for the batch dimension of a shape.
    static func json(_ dimension: Int?) -> Any { dimension.map { $0 as Any } ?? NSNull() }

    private static func config(of layer: any Layer, keras2: Bool) throws -> [String: Any] {
        guard let layer = layer as? any KerasLayer else { throw noKerasEquivalent(layer) }
        var config: [String: Any] = ["name": layer.name, "trainable": true, "dtype": "float32"]
        try layer.encode(into: &config, keras2: keras2)
        return config
    }

    private static func noKerasEquivalent(_ layer: any Layer) -> KerasConfigProblem {
        KerasConfigProblem(message: "\(layer.typeName) '\(layer.name)' has no Keras equivalent Loom can write")
    }

    /// The options of a layer with a kernel and a bias (Dense, Conv2D): its activation,
    /// `use_bias` and both initializers.
    static func kernelAndBias(
        of layer: any Layer, activation: Activation, useBias: Bool, kernelInitializer: Initializer,
        biasInitializer: Initializer, into config: inout [String: Any], keras2: Bool
    ) throws {
        config["activation"] = try self.activation(activation, layer: layer, keras2: keras2)
        config["use_bias"] = useBias
        config["kernel_initializer"] = try initializer(kernelInitializer, layer: layer)
        config["bias_initializer"] = try initializer(biasInitializer, layer: layer)
    }

    /// An activation's Keras name; `keras2`: as a Keras 2 `.h5` file names it.
    static func activation(_ activation: Activation, layer: any Layer, keras2: Bool) throws -> String {
        switch (activation, keras2) {
        case (.hardSigmoidKeras2, false):
            throw KerasConfigProblem(
                message: "\(layer.typeName) '\(layer.name)' uses Keras 2's hard_sigmoid (0.2·x + 0.5), which Keras 3 does not have "
                    + "(a Keras 2 .h5 file keeps it)")
        case (.hardSigmoidKeras2, true): return "hard_sigmoid"
        case (.hardSigmoid, true):
            throw KerasConfigProblem(
                message: "\(layer.typeName) '\(layer.name)' uses Keras 3's hard_sigmoid (relu6(x + 3) / 6), which a Keras 2 .h5 file "
                    + "cannot name (its hard_sigmoid is 0.2·x + 0.5); save it as .keras")
        default: return activation.rawValue
        }
    }

    /// An initializer as Keras 3 serializes it.
    static func initializer(_ initializer: Initializer, layer: any Layer) throws -> [String: Any] {
        let (className, config): (String, [String: Any])
        switch initializer {
        case .glorotUniform: (className, config) = ("GlorotUniform", ["seed": NSNull()])
        case .orthogonal: (className, config) = ("Orthogonal", ["gain": 1.0, "seed": NSNull()])
        case .zeros: (className, config) = ("Zeros", [:])
        case .ones: (className, config) = ("Ones", [:])
        case let .randomUniform(minimum, maximum):
            (className, config) = ("RandomUniform", ["minval": decimal(minimum), "maxval": decimal(maximum), "seed": NSNull()])
        case .unitForgetBias:
            throw KerasConfigProblem(
                message: "\(layer.typeName) '\(layer.name)': a unitForgetBias initializer is written as unit_forget_bias=True with zeros")
        }
        return ["module": "keras.initializers", "class_name": className, "config": config, "registered_name": NSNull()]
    }
}
