import Foundation
import Loom
import LoomHDF5

/// A model's weights in an HDF5 file with Keras 3's `.weights.h5` layout: a layer's
/// variables are datasets `layers/<name>/vars/0, 1, ...` in Keras's weight order, under
/// `cell/` for recurrent layers, `layer/` for `TimeDistributed` and `forward_layer/` and
/// `backward_layer/` for `Bidirectional` (as Keras 3.15 writes them).
enum KerasWeightsFile {
    /// The groups holding a layer's variables, in its weight order, with how many each holds.
    static func variableGroups(of layer: any Layer, path: String) -> [(group: String, count: Int)] {
        switch layer {
        case let wrapper as TimeDistributed:
            return variableGroups(of: wrapper.layer, path: path + "/layer")
        case let wrapper as Bidirectional:
            return variableGroups(of: wrapper.forwardLayer, path: path + "/forward_layer")
                + variableGroups(of: wrapper.backwardLayer, path: path + "/backward_layer")
        case is any RecurrentLayer:
            return [(path + "/cell/vars", layer.parameterSpecs.count)]
        default:
            return [(path + "/vars", layer.parameterSpecs.count)]
        }
    }

    /// Every weight's dataset name and spec, with the layer it belongs to, in `weights()` order.
    static func entries(_ model: Sequential) -> [(name: String, layer: any Layer, spec: ParameterSpec)] {
        model.layers.flatMap { layer -> [(name: String, layer: any Layer, spec: ParameterSpec)] in
            let names = variableGroups(of: layer, path: "layers/\(layer.name)").flatMap { group, count in
                (0..<count).map { "\(group)/\($0)" }
            }
            return zip(names, layer.parameterSpecs).map { ($0, layer, $1) }
        }
    }

    /// Writes every layer's weights to `file` (which must be new or have no such datasets).
    static func save(_ model: Sequential, to file: HDF5File) throws {
        try model.build()
        for (entry, tensor) in zip(entries(model), try model.weights()) {
            try file.write(tensor, as: entry.name)
        }
    }

    /// Replaces the model's weights with those in `file`; every layer's variables must be
    /// there with the model's shapes. Nothing changes unless all of them fit.
    static func load(into model: Sequential, from file: HDF5File) throws {
        try model.build()
        var tensors: [Tensor] = []
        for (name, layer, spec) in entries(model) {
            guard file.contains(name) else {
                throw HDF5Error(file: file.path, dataset: name,
                                "missing: the model's layer '\(layer.name)' (\(layer.typeName)) needs its \(spec.name) here")
            }
            tensors.append(try read(name, for: spec, of: layer, in: file))
        }
        try model.setWeights(tensors)
    }

    /// The weight `name` of `file`, which must have the shape of `layer`'s `spec`.
    static func read(_ name: String, for spec: ParameterSpec, of layer: any Layer, in file: HDF5File) throws -> Tensor {
        let tensor = try file.read(name)
        guard tensor.shape == spec.shape else {
            throw HDF5Error(file: file.path, dataset: name,
                            "has shape \(Shape.describe(tensor.shape)), but layer '\(layer.name)' \(spec.name) is \(Shape.describe(spec.shape))")
        }
        return tensor
    }
}
