import Foundation
import Loom

/// A model's weights in an HDF5 file with Keras 3's `.weights.h5` layout: layer `name`'s
/// variables are datasets `layers/<name>/vars/0, 1, ...` in Keras's weight order
/// (`layers/<name>/cell/vars/...` for recurrent layers, whose weights Keras keeps on the cell).
public enum WeightsFile {
    /// The group that holds a layer's variables, as Keras 3 names it.
    static func variablesGroup(of layer: any Layer) -> String {
        ["LSTM", "GRU", "SimpleRNN"].contains(layer.typeName) ? "layers/\(layer.name)/cell/vars" : "layers/\(layer.name)/vars"
    }

    /// Writes every layer's weights to `file` (which must be new or have no such datasets).
    public static func save(_ model: Sequential, to file: HDF5File) throws {
        var weights = try model.weights()[...]
        for layer in model.layers {
            for index in layer.parameterSpecs.indices {
                try file.write(weights.removeFirst(), as: "\(variablesGroup(of: layer))/\(index)")
            }
        }
    }

    /// Replaces the model's weights with those in `file`; every layer's variables must be
    /// there with the model's shapes. Nothing changes unless all of them fit.
    public static func load(into model: Sequential, from file: HDF5File) throws {
        try model.build()
        var tensors: [Tensor] = []
        for layer in model.layers {
            for (index, spec) in layer.parameterSpecs.enumerated() {
                let name = "\(variablesGroup(of: layer))/\(index)"
                guard file.contains(name) else {
                    throw HDF5Error(file: file.path, dataset: name,
                                    "missing: the model's layer '\(layer.name)' (\(layer.typeName)) needs its \(spec.name) here")
                }
                let tensor = try file.read(name)
                guard tensor.shape == spec.shape else {
                    throw HDF5Error(file: file.path, dataset: name,
                                    "has shape \(Shape.describe(tensor.shape)), but layer '\(layer.name)' \(spec.name) is \(Shape.describe(spec.shape))")
                }
                tensors.append(tensor)
            }
        }
        try model.setWeights(tensors)
    }
}
