import Foundation
import Logging
import Loom

extension Sequential {
    /// A model from a Keras file: a `.keras` archive (Keras 3), a whole-model `.h5` (Keras 2 /
    /// tf.keras) or a `.json` config (`model.to_json()`, Keras 3 or 2), with the file's weights.
    /// A JSON config has none: they are initialised from `seed`, unless `weights` names a
    /// weights file (Keras 3 `.weights.h5`, a Keras 2 `.h5`, or another `.keras`) to load.
    ///
    /// With `compile` (Keras's default), a model saved compiled (`.keras` or JSON with a
    /// `compile_config`, a whole-model `.h5` with a `training_config`, whose optimizer starts
    /// afresh) comes compiled as Keras compiled it (optimizer with its schedule and
    /// clipping, loss, metrics; `KerasCompileConfig`), its optimizer continuing from the
    /// state in the file. A compile config Loom cannot train as Keras would (named on
    /// standard error) leaves the model uncompiled, for prediction; `KerasCompileConfig.read`
    /// refuses it by name. Without `compile`, the compile config is not read.
    ///
    /// An unsupported layer or option, a functional model, a damaged file or weights that do
    /// not fit the architecture are thrown as errors that name the file, the layer and the
    /// option or the shapes (`KerasFileError`, or `HDF5Error` for the HDF5 files themselves).
    ///
    /// `forPrediction` accepts what changes training alone (a layer's regularizers and
    /// constraints, `trainable=False`) instead of refusing it: the model then predicts as
    /// Keras's does, and refuses to train, to evaluate with a regularizer's penalty, or to save
    /// a config without them.
    public convenience init(
        kerasModel url: URL, weights: URL? = nil, seed: UInt64 = 0, compile: Bool = true, forPrediction: Bool = false
    ) throws {
        let kind = try KerasModelFile.kind(of: url)
        let config = try KerasModelFile.config(of: url, kind: kind, forPrediction: forPrediction)
        self.init(name: config.name, seed: seed, inputShape: config.inputShape, batchSize: config.batchSize)
        for layer in config.layers { add(layer) }
        trainingOnlySettings = config.trainingOnlySettings
        frozenLayers = config.frozenLayers
        do {
            try build()
        } catch {
            throw KerasFileError(file: url.path, "the model does not build in Loom: \(error)")
        }
        if compile, let raw = config.compileConfig {
            do {
                let compiled = try KerasFileError.naming(url.path) { try KerasCompileConfig(json: raw) }
                try self.compile(
                    optimizer: compiled.optimizer, loss: compiled.loss, metrics: compiled.metrics, metricNames: compiled.metricNames)
                markOptimizerLoaded()
            } catch {
                // The model still predicts; training asks for `compile` (`KerasCompileConfig.read` refuses).
                Logger.loomKeras.warning("\(error); the model is loaded uncompiled (compile it before training)")
            }
        }
        // Weights given apart replace the file's own, which are then not read at all.
        if let weights {
            try loadWeights(from: weights)
        } else if kind != .json {
            try KerasModelFile.loadWeights(into: self, from: url, kind: kind)
        }
    }

    /// Saves the model for Keras, by the name's ending: `.keras` (the model, loaded by
    /// `keras.models.load_model`), `.weights.h5` (weights only, for `model.load_weights`) or
    /// `.json` (the config of `model.to_json()`). The file is replaced only once it is whole.
    public func save(to url: URL) throws {
        try build()
        try KerasModelFile.write(self, to: url)
    }

    /// Whether `save(to:)` writes the compile config (and the optimizer's state) into a
    /// `.keras` file: the model is compiled with an optimizer and schedule Keras has (not
    /// LARS, not a `LinearWarmup`); else Keras loads the file uncompiled.
    public var savesCompileConfig: Bool { optimizer.map { KerasOptimizerConfig.json(of: $0) != nil } ?? false }

    /// Replaces the weights with those of a Keras file: Keras 3 `.weights.h5` or a `.keras`
    /// archive's (found where Keras 3 stores them, by the order of the layers' classes, not
    /// their names), or a Keras 2 `.h5` (model or weights, by layer order, as Keras 2 loads
    /// them). Nothing changes unless every weight is there with the model's shapes and the
    /// file holds no layer weights the model does not use.
    public func loadWeights(from url: URL) throws {
        try build()
        try KerasModelFile.loadWeights(into: self, from: url)
    }

    /// Whether a Keras model file holds weights (a `.keras` archive or an `.h5` file) rather
    /// than a config alone (JSON), told by its first bytes.
    public static func kerasFileHoldsWeights(_ url: URL) throws -> Bool {
        try KerasModelFile.kind(of: url) != .json
    }

    /// Refuses, writing nothing, what `save(to:)` would refuse of this model's layers in the
    /// format `url`'s name asks for (a Keras 3 `hard_sigmoid` in a Keras 2 `.h5`, a layer name
    /// Keras cannot load): a training run checks its output before its first step, not after
    /// its last. What only the trained weights decide (NaN or Inf) is left to `save(to:)`.
    public func checkSavable(to url: URL) throws {
        try build()
        guard let format = KerasFileName(url) else {
            throw KerasFileError(
                file: url.path,
                "cannot tell the format: name it .keras (model), .weights.h5 (weights), .h5 (Keras 2 model) or .json (config)")
        }
        if format != .weights, !trainingOnlySettings.isEmpty {
            throw KerasFileError(
                file: url.path,
                "the model was read for prediction: its config would be written without "
                    + trainingOnlySettings.joined(separator: ", ") + " (save .weights.h5)")
        }
        try KerasFileError.naming(url.path) {
            try KerasModelConfig.checkNames(of: self)
            switch format {
            case .json, .keras: _ = try KerasModelConfig.json(of: self)
            case .legacyH5: _ = try LegacyKerasFile.modelConfig(of: self)
            case .weights: break
            }
        }
    }

    /// The Keras 3 config of the model as JSON text, as `model.to_json()` gives it.
    public func kerasJSON() throws -> String {
        try build()
        return String(
            decoding: try KerasFileError.naming("JSON") {
                try KerasModelConfig.checkNames(of: self)
                return try KerasModelConfig.json(of: self)
            }, as: UTF8.self)
    }
}
