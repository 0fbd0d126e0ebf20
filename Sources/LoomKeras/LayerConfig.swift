import Foundation

/// One layer's `config` object from a Keras model config, read option by option.
///
/// Every read marks its key used; `finish()` then refuses any key left over that Loom does
/// not implement, so no option is silently dropped. Keys that change no number Loom
/// computes (`trainable`, `seed`, `implementation`, `unroll`, ...) are accepted by name, and
/// the regularizer, constraint and LoRA keys only when they are null (regularizers and
/// constraints do not change predictions, but training would differ: a model read for
/// prediction accepts them, and `trainable=false`, into `TrainingOnlySettings`).
struct LayerConfig {
    /// "LSTM 'lstm'", for messages.
    let layer: String
    private let values: [String: Any]
    private var used: Set<String> = []

    /// Settings that change training alone (a regularizer, a constraint, a frozen layer),
    /// accepted and collected here instead of refused, when the model is read for prediction;
    /// nil: refused.
    private let trainingOnly: TrainingOnlySettings?

    init(_ values: [String: Any], layer: String, trainingOnly: TrainingOnlySettings? = nil) {
        self.values = values
        self.layer = layer
        self.trainingOnly = trainingOnly
    }

    /// Keys every layer may carry that change nothing Loom computes.
    private static let harmless: Set<String> = [
        "name", "trainable", "seed", "implementation", "unroll", "input_length",
        "sparse", "ragged", "optional", "autocast", "input_dim", "batch_input_shape", "batch_shape", "input_shape",
        "batch_size", "lora_alpha",
    ]

    /// The largest size any option may give (units, filters, kernel sizes, n): 2²⁴.
    static let largestSize = 1 << 24

    func error(_ message: String) -> KerasConfigProblem { KerasConfigProblem(message: "\(layer): \(message)") }

    mutating func raw(_ key: String) -> Any? {
        used.insert(key)
        guard let value = values[key], !(value is NSNull) else { return nil }
        return value
    }

    mutating func int(_ key: String, default fallback: Int? = nil) throws -> Int {
        guard let value = raw(key) else {
            if let fallback { return fallback }
            throw error("option '\(key)' is missing")
        }
        guard let number = value as? NSNumber, let int = Int(exactly: number.doubleValue) else {
            throw error("option '\(key)' should be a whole number, found \(value)")
        }
        guard (0...LayerConfig.largestSize).contains(int) else {
            throw error("option '\(key)' = \(int) is out of range (0 to \(LayerConfig.largestSize))")
        }
        return int
    }

    mutating func bool(_ key: String, default fallback: Bool) throws -> Bool {
        guard let value = raw(key) else { return fallback }
        guard let flag = value as? Bool else { throw error("option '\(key)' should be true or false, found \(value)") }
        return flag
    }

    mutating func float(_ key: String, default fallback: Float) throws -> Float {
        guard let value = raw(key) else { return fallback }
        guard let number = value as? NSNumber else { throw error("option '\(key)' should be a number, found \(value)") }
        return number.floatValue
    }

    /// A number that may be null (nil).
    mutating func optionalFloat(_ key: String) throws -> Float? {
        guard let value = raw(key) else { return nil }
        guard let number = value as? NSNumber else {
            throw error("option '\(key)' should be a number or null, found \(value)")
        }
        return number.floatValue
    }

    mutating func string(_ key: String, default fallback: String? = nil) throws -> String {
        guard let value = raw(key) else {
            if let fallback { return fallback }
            throw error("option '\(key)' is missing")
        }
        guard let text = value as? String else { throw error("option '\(key)' should be a string, found \(value)") }
        return text
    }

    /// A pair such as `kernel_size`: `[3, 3]`, or one number meaning both.
    mutating func pair(_ key: String, default fallback: (Int, Int)? = nil) throws -> (Int, Int) {
        guard let value = raw(key) else {
            if let fallback { return fallback }
            throw error("option '\(key)' is missing")
        }
        func size(_ element: Any) -> Int? {
            (element as? NSNumber).flatMap { Int(exactly: $0.doubleValue) }.flatMap {
                (0...LayerConfig.largestSize).contains($0) ? $0 : nil
            }
        }
        if let n = size(value) { return (n, n) }
        guard let list = value as? [Any], list.count == 2, let a = size(list[0]), let b = size(list[1]) else {
            throw error("option '\(key)' should be two whole numbers from 0 to \(LayerConfig.largestSize), found \(value)")
        }
        return (a, b)
    }

    /// Throws unless `key` is absent or equal to `expected` (an option Loom supports only in
    /// its Keras default, such as `time_major: false`).
    mutating func require<T: Equatable>(_ key: String, is expected: T, explaining why: String) throws {
        guard let value = raw(key) else { return }
        guard let typed = value as? T, typed == expected else {
            throw error("option '\(key)' = \(KerasConfigReader.describe(value)) is not supported (\(why))")
        }
    }

    /// Throws for any key not read and not harmless, and for a regularizer, constraint or LoRA
    /// setting that is not null.
    mutating func finish() throws {
        if let trainingOnly, let frozen = raw("trainable") as? Bool, !frozen {
            trainingOnly.names.append("\(layer): trainable=false")
            if let name = raw("name") as? String { trainingOnly.frozenLayers.insert(name) }
        } else {
            try require("trainable", is: true, explaining: "Loom trains every layer; unfreeze it in Keras first")
        }
        try require("time_major", is: false, explaining: "Loom's sequences are batch first")
        try require("data_format", is: "channels_last", explaining: "Loom's images are channels last")
        // "float32", or a dtype policy {"class_name": "DTypePolicy", "config": {"name": "float32"}}.
        if let dtype = raw("dtype") {
            let name = dtype as? String ?? ((dtype as? [String: Any])?["config"] as? [String: Any])?["name"] as? String
            guard name == "float32" else { throw error("dtype \(name ?? "\(dtype)") is not supported (Loom computes in float32)") }
        }
        for key in values.keys.sorted() where !used.contains(key) {
            let nullOnly =
                key.hasSuffix("_regularizer") || key.hasSuffix("_constraint") || key == "lora_rank"
                || key == "quantization_config"
            if nullOnly {
                if let trainingOnly, key.hasSuffix("_regularizer") || key.hasSuffix("_constraint"), !(values[key] is NSNull) {
                    trainingOnly.names.append("\(layer): \(key)")
                    continue
                }
                guard values[key] is NSNull else { throw error("option '\(key)' is not supported (only null)") }
            } else if !LayerConfig.harmless.contains(key) {
                throw error("option '\(key)' is not supported")
            }
        }
    }
}
