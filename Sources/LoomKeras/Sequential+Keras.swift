import Foundation
import Loom
import LoomHDF5

extension Sequential {
    /// A model from a Keras file: a `.keras` archive (Keras 3), a whole-model `.h5` (Keras 2 /
    /// tf.keras) or a `.json` config (`model.to_json()`, Keras 3 or 2), with the file's weights.
    /// A JSON config has none: they are initialised from `seed`, unless `weights` names a
    /// weights file (Keras 3 `.weights.h5`, a Keras 2 `.h5`, or another `.keras`) to load.
    ///
    /// An unsupported layer or option, a functional model, a damaged file or weights that do
    /// not fit the architecture are thrown as `KerasFileError` (naming the file, the layer and
    /// the option or shapes).
    public convenience init(kerasModel url: URL, weights: URL? = nil, seed: UInt64 = 0) throws {
        let file = try KerasModelFile(url)
        let config = file.config
        self.init(name: config.name, seed: seed, inputShape: config.inputShape, batchSize: config.batchSize)
        for layer in config.layers { add(layer) }
        do {
            try build()
        } catch {
            throw KerasFileError(file: url.path, "the model does not build in Loom: \(error)")
        }
        try file.loadWeights(into: self)
        if let weights { try loadWeights(from: weights) }
    }

    /// Saves the model for Keras, by the name's ending: `.keras` (the model, loaded by
    /// `keras.models.load_model`), `.weights.h5` (weights only, for `model.load_weights`) or
    /// `.json` (the config of `model.to_json()`). The file is replaced only once it is whole.
    public func save(to url: URL) throws {
        try build()
        switch KerasFileName(url) {
        case .keras: try KerasModelFile.writeArchive(self, to: url)
        case .weights: try KerasModelFile.writeWeights(self, to: url)
        case .json: try KerasFileError.naming(url) { try KerasModelConfig.json(of: self) }.write(to: url, options: .atomic)
        case nil:
            throw KerasFileError(file: url.path, "cannot tell the format: name it .keras (model), .weights.h5 (weights) or .json (config)")
        }
    }

    /// Replaces the weights with those of a Keras file: Keras 3 `.weights.h5` (by layer name),
    /// a Keras 2 `.h5` (model or weights, by layer order, as Keras 2 loads them) or a `.keras`
    /// archive's. Nothing changes unless every weight is there with the model's shapes.
    public func loadWeights(from url: URL) throws {
        try build()
        switch try KerasModelFile.kind(of: url) {
        case .zip:
            let folder = try KerasModelFile.unpack(url)
            defer { try? FileManager.default.removeItem(at: folder) }
            try KerasWeightsFile.load(into: self, from: HDF5File(path: folder.appendingPathComponent("model.weights.h5").path))
        case .hdf5:
            let file = try HDF5File(path: url.path)
            if LegacyKerasFile.isLegacy(file) {
                try LegacyKerasFile.load(into: self, from: file)
            } else {
                try KerasWeightsFile.load(into: self, from: file)
            }
        case .json:
            throw KerasFileError(file: url.path, "is a model config (JSON), not weights")
        }
    }

    /// The Keras 3 config of the model as JSON text, as `model.to_json()` gives it.
    public func kerasJSON() throws -> String {
        try build()
        return String(decoding: try KerasFileError.naming(URL(fileURLWithPath: "JSON")) { try KerasModelConfig.json(of: self) },
                      as: UTF8.self)
    }
}

/// The formats `save(to:)` writes, by the file name's ending.
enum KerasFileName {
    case keras, weights, json

    init?(_ url: URL) {
        let name = url.lastPathComponent.lowercased()
        if name.hasSuffix(".keras") { self = .keras }
        else if name.hasSuffix(".weights.h5") { self = .weights }
        else if name.hasSuffix(".json") { self = .json }
        else { return nil }
    }
}
