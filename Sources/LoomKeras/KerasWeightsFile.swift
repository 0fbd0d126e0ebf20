import Foundation
import Loom
import LoomHDF5

/// A model's weights in an HDF5 file with Keras 3's `.weights.h5` layout (also the
/// `model.weights.h5` of a `.keras` archive).
///
/// Keras 3 does not address a layer by its name. Its saving code walks the model's `layers`
/// list in order and calls each entry after the layer's class in snake case, numbered within
/// the list: a model of `LSTM("encoder")`, `Dropout`, `LSTM("decoder")`, `Dense("lstm")`
/// stores `layers/lstm`, `layers/dropout`, `layers/lstm_1`, `layers/dense`. Below an entry,
/// each object that holds variables is reached by the attribute that holds it: `cell` for a
/// recurrent layer, `layer` for `TimeDistributed`, `forward_layer` and `backward_layer` for
/// `Bidirectional`. An object's variables are datasets `vars/0`, `vars/1`, ... in Keras's
/// weight order, and its `vars` group carries the object's name as attribute `name`.
///
/// Keras 2.13's `.keras` files used `_layer_checkpoint_dependencies` where Keras 3 writes
/// `layers`; they are read too. A compiled model's `optimizer/` variables are not layer
/// weights: `KerasOptimizerFile` reads and writes them.
enum KerasWeightsFile {
    /// The group under which the model's layers are stored.
    static let layersGroup = "layers"
    /// Where Keras 2.13 stored them.
    static let keras213LayersGroup = "_layer_checkpoint_dependencies"

    /// One object's variables: the group of its `vars` datasets, how many, and the name Keras
    /// stores on that group.
    struct VariableGroup {
        let path: String
        let count: Int
        let objectName: String
    }

    /// One weight: its dataset's path, the top-level layer it belongs to, and its spec.
    struct Entry {
        let path: String
        let layer: any Layer
        let spec: ParameterSpec
    }

    /// Each layer's group under `root`, by Keras's rule: the class name in snake case, with
    /// `_1`, `_2`, ... for the second, third, ... layer of the same class.
    static func layerPaths(_ layers: [any Layer], under root: String) -> [String] {
        var used: [String: Int] = [:]
        return layers.map { layer in
            let base = Sequential.snakeCase(KerasLayerKind(layer)?.className ?? layer.typeName)
            let index = used[base, default: -1] + 1
            used[base] = index
            return root + "/" + (index == 0 ? base : "\(base)_\(index)")
        }
    }

    /// The `vars` groups of a layer stored at `path` that hold its variables, in its weight
    /// order (the layer's own group first, then those of the objects it holds).
    static func variableGroups(of layer: any Layer, path: String) -> [VariableGroup] {
        switch layer {
        case let wrapper as TimeDistributed:
            return variableGroups(of: wrapper.layer, path: path + "/layer")
        case let wrapper as Bidirectional:
            return variableGroups(of: wrapper.forwardLayer, path: path + "/forward_layer")
                + variableGroups(of: wrapper.backwardLayer, path: path + "/backward_layer")
        case is any RecurrentLayer:
            let cell = Sequential.snakeCase(layer.typeName) + "_cell"
            return [VariableGroup(path: path + "/cell/vars", count: layer.parameterSpecs.count, objectName: cell)]
        default:
            return [VariableGroup(path: path + "/vars", count: layer.parameterSpecs.count, objectName: layer.name)]
        }
    }

    /// Every weight of `model`, in `weights()` order, with its dataset under `root`.
    static func entries(_ model: Sequential, under root: String = layersGroup) -> [Entry] {
        zip(model.layers, layerPaths(model.layers, under: root)).flatMap { layer, path -> [Entry] in
            let names = variableGroups(of: layer, path: path).flatMap { group in (0..<group.count).map { "\(group.path)/\($0)" } }
            return zip(names, layer.parameterSpecs).map { Entry(path: $0, layer: layer, spec: $1) }
        }
    }

    /// Writes every layer's weights to `file` (new, or without such datasets), with the
    /// groups and names Keras 3 writes; refuses weights that hold NaN or Inf before writing.
    /// The model is built.
    static func save(_ model: Sequential, to file: HDF5File) throws {
        let entries = entries(model), weights = try finiteWeights(of: model)
        try file.createGroup("vars")
        try file.setAttribute("name", model.name, on: "vars")
        for (layer, path) in zip(model.layers, layerPaths(model.layers, under: layersGroup)) {
            try file.createGroup(path + "/vars")
            try file.setAttribute("name", layer.name, on: path + "/vars")
            for group in variableGroups(of: layer, path: path) where group.count > 0 {
                try file.createGroup(group.path)
                try file.setAttribute("name", group.objectName, on: group.path)
            }
        }
        for (entry, tensor) in zip(entries, weights) {
            try file.write(tensor, as: entry.path)
        }
    }

    /// The model's weights, refused by the weight's and layer's names when one holds NaN or
    /// Inf: a run that diverged must not replace a good file with a model that predicts
    /// nothing (every format Loom writes checks here).
    static func finiteWeights(of model: Sequential) throws -> [Tensor] {
        let weights = try model.weights()
        for (entry, tensor) in zip(entries(model), weights) where tensor.scalars.contains(where: { !$0.isFinite }) {
            throw KerasConfigProblem(
                message: "not written: the \(entry.spec.name) of layer '\(entry.layer.name)' holds NaN or Inf "
                    + "(training diverged; a lower learning rate may help)")
        }
        return weights
    }

    /// Replaces the model's weights with those in `file`. Every variable the model needs must
    /// be there with the model's shape, and every variable stored under the file's layers
    /// must be one the model uses: the paths depend only on the order of layer classes, so a
    /// file of another architecture could otherwise fill the wrong layers. Nothing changes
    /// unless all of it fits.
    static func load(into model: Sequential, from file: HDF5File) throws {
        try model.build()
        let root = !file.contains(layersGroup) && file.contains(keras213LayersGroup) ? keras213LayersGroup : layersGroup
        let entries = entries(model, under: root)
        let stored = Set(try file.datasetNames(under: root))
        for entry in entries where !stored.contains(entry.path) {
            throw HDF5Error(
                file: file.path, dataset: entry.path,
                "missing: the model's layer '\(entry.layer.name)' (\(entry.layer.typeName)) needs its \(entry.spec.name) here; "
                    + storedLayers(in: file, under: root))
        }
        let used = Set(entries.map(\.path))
        if let unused = stored.sorted().first(where: { !used.contains($0) }) {
            let group = outermostUnusedGroup(of: unused, used: used)
            throw HDF5Error(
                file: file.path, dataset: group,
                "holds variables that no layer of the model uses; "
                    + storedLayers(in: file, under: root) + ", the model's are "
                    + layerPaths(model.layers, under: root).joined(separator: ", "))
        }
        try model.setWeights(try entries.map { try read($0.path, for: $0.spec, of: $0.layer, in: file) })
    }

    /// The shortest group on `path` (a dataset's path) that holds nothing the model uses:
    /// `layers/lstm_1` for `layers/lstm_1/cell/vars/0` when the model has one LSTM.
    private static func outermostUnusedGroup(of path: String, used: Set<String>) -> String {
        let components = path.split(separator: "/").map(String.init)
        for length in 2...components.count {
            let prefix = components.prefix(length).joined(separator: "/")
            if !used.contains(where: { $0 == prefix || $0.hasPrefix(prefix + "/") }) { return prefix }
        }
        return path
    }

    /// What the file stores under `root`, for error messages: "the file's layers are
    /// layers/gru ('gru_3'), layers/dense ('out')", with the names Keras stored for them.
    private static func storedLayers(in file: HDF5File, under root: String) -> String {
        let groups = file.childNames(of: root)
        guard !groups.isEmpty else { return "the file stores no layers under '\(root)'" }
        let described = groups.map { group -> String in
            let name = (try? file.stringAttribute("name", on: "\(root)/\(group)/vars")) ?? nil
            return "\(root)/\(group)" + (name.map { " ('\($0)')" } ?? "")
        }
        return "the file's layers are " + described.joined(separator: ", ")
    }

    /// The weight `name` of `file`, which must have the shape of `layer`'s `spec`: the shape
    /// the file declares is checked before anything is read or allocated. Every weight Loom
    /// loads (Keras 3 and Keras 2 files, for every command) must be finite, as every weight it
    /// writes: a model holding NaN or Inf predicts nothing.
    static func read(_ name: String, for spec: ParameterSpec, of layer: any Layer, in file: HDF5File) throws -> Tensor {
        let declared = try file.info(of: name).shape
        guard declared == spec.shape else {
            throw HDF5Error(
                file: file.path, dataset: name,
                "has shape \(Shape.describe(declared)), but layer '\(layer.name)' \(spec.name) is \(Shape.describe(spec.shape))")
        }
        let tensor = try file.read(name)
        if let index = tensor.scalars.firstIndex(where: { !$0.isFinite }) {
            throw HDF5Error(
                file: file.path, dataset: name,
                "the \(spec.name) of layer '\(layer.name)' holds \(tensor.scalars[index]) at index \(index); "
                    + "a model's weights must be finite (was it saved from a run that diverged?)")
        }
        return tensor
    }
}
