import Foundation
import Loom

/// Small readers of Keras config objects shared by the compile config's parts.
enum KerasConfigReader {
    /// Whether a JSON value is null (or absent).
    static func isNull(_ value: Any?) -> Bool { value == nil || value is NSNull }

    /// Refuses a key of `object` not in `known`, naming it and `context`.
    static func refuseUnknown(_ object: [String: Any], known: Set<String>, in context: String) throws {
        if let unknown = object.keys.sorted().first(where: { !known.contains($0) }) {
            throw KerasConfigProblem(message: "\(context): '\(unknown)' is not supported by Loom")
        }
    }

    /// A loss or metric given by name ("mse") or as a serialized object (`class_name`
    /// "MeanSquaredError", whose snake-case name is tried), made by `make`.
    static func named<T>(_ value: Any?, what: String, _ make: (String) throws -> T) throws -> T {
        if let name = value as? String { return try refusing(what) { try make(name) } }
        guard let object = value as? [String: Any], let className = object["class_name"] as? String else {
            throw KerasConfigProblem(
                message: "compile_config: the \(what) \(value.map { "\($0)" } ?? "null") is not a name or a Keras object")
        }
        // A function (a built-in loss given as `keras.losses.mse`, or the user's own) is
        // serialized by its registered name: "mean_squared_error", "my_package>my_loss".
        if className == "function", let function = object["config"] as? String {
            return try refusing(what) { try make(function) }
        }
        // The class first: an option of a class Loom does not have would be the wrong thing to name.
        let made = try refusing(what) { try make(Sequential.snakeCase(className)) }
        let config = object["config"] as? [String: Any] ?? [:]
        let harmless: [String: (Any) -> Bool] = [
            "name": { _ in true }, "dtype": { _ in true },
            "reduction": { ["sum_over_batch_size", "auto"].contains($0 as? String ?? "") },
            "from_logits": { ($0 as? NSNumber)?.boolValue == false }, "label_smoothing": { ($0 as? NSNumber)?.doubleValue == 0 },
            "axis": { ($0 as? NSNumber)?.intValue == -1 }, "delta": { ($0 as? NSNumber)?.doubleValue == 1 },
            "ignore_class": { $0 is NSNull },
            "class_aggregation": { $0 as? String == "uniform_average" }, "num_regressors": { ($0 as? NSNumber)?.intValue == 0 },
        ]
        for (key, value) in config.sorted(by: { $0.key < $1.key }) where !(harmless[key]?(value) ?? false) {
            throw KerasConfigProblem(
                message: "compile_config: the \(what) \(className)'s \(key)=\(describe(value)) is not supported by Loom")
        }
        return made
    }

    /// A JSON value as Keras's config writes it: true and false (which JSON parsing hands over
    /// as the numbers 1 and 0), null, or the value.
    static func describe(_ value: Any) -> String {
        if value is NSNull { return "null" }
        if let number = value as? NSNumber, String(cString: number.objCType) == "c" { return number.boolValue ? "true" : "false" }
        return "\(value)"
    }

    /// The name Keras logs a metric under: a name as given ("mae", "mean_absolute_error"), an
    /// object's `name` (else its class's snake case), a function's name.
    static func loggedName(_ value: Any) -> String {
        if let name = value as? String { return name }
        let object = value as? [String: Any] ?? [:]
        let className = object["class_name"] as? String ?? ""
        if className == "function", let function = object["config"] as? String { return function }
        return (object["config"] as? [String: Any])?["name"] as? String ?? Sequential.snakeCase(className)
    }

    /// `body`, its error made a config problem about `what`.
    private static func refusing<T>(_ what: String, _ body: () throws -> T) throws -> T {
        do { return try body() } catch { throw KerasConfigProblem(message: "compile_config: \(error)") }
    }
}
