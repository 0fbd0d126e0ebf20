import ArgumentParser

/// The values of a parsed command's options, read from the command itself: every `@Option`,
/// `@Flag` and `@Argument`, in its `@OptionGroup`s too, named as on the command line from
/// its property (`checkpointDir` → `--checkpoint-dir`). An option added later is covered
/// without being listed anywhere.
enum ParsedOptions {
    /// Each option's name and its value's description ("none" when an optional is unset).
    static func values(of command: any ParsableArguments) -> [String: String] {
        var result: [String: String] = [:]
        collect(command, into: &result)
        return result
    }

    private static func collect(_ arguments: Any, into result: inout [String: String]) {
        for child in Mirror(reflecting: arguments).children {
            guard let label = child.label, label.hasPrefix("_") else { continue }
            let wrapper = String(describing: type(of: child.value))
            guard let parsed = parsedValue(of: child.value) else { continue }
            if wrapper.hasPrefix("OptionGroup<") {
                collect(parsed, into: &result)
            } else if ["Option<", "Flag<", "Argument<"].contains(where: wrapper.hasPrefix) {
                result[optionName(String(label.dropFirst()))] = describe(parsed)
            }
        }
    }

    /// The value a property wrapper of the argument parser holds once parsed.
    private static func parsedValue(of wrapper: Any) -> Any? {
        guard let parsed = Mirror(reflecting: wrapper).children.first(where: { $0.label == "_parsedValue" })?.value else {
            return nil
        }
        let state = Mirror(reflecting: parsed)
        guard state.displayStyle == .enum, let value = state.children.first, value.label == "value" else { return nil }
        return value.value
    }

    private static func describe(_ value: Any) -> String {
        let mirror = Mirror(reflecting: value)
        guard mirror.displayStyle == .optional else { return String(describing: value) }
        return mirror.children.first.map { describe($0.value) } ?? "none"
    }

    /// `checkpointDir` → `--checkpoint-dir`.
    private static func optionName(_ property: String) -> String {
        "--" + property.map { $0.isUppercase ? "-" + $0.lowercased() : String($0) }.joined()
    }
}
