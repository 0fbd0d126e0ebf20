import Foundation

/// What is wrong with a Keras model file or config: always names the file (or "JSON" for a
/// config given as text) and, where it applies, the layer and the option.
public struct KerasFileError: Error, Equatable, CustomStringConvertible {
    /// The path of the file, or "JSON" for a config given as text.
    public let file: String
    /// What is wrong, naming the layer and the option where it applies.
    public let message: String

    /// An error about `file`, described by `message`.
    public init(file: String, _ message: String) {
        self.file = file
        self.message = message
    }

    /// "file: message".
    public var description: String { "\(file): \(message)" }
}

extension KerasFileError {
    /// Runs `body`, turning a config problem into an error that names `file`.
    static func naming<T>(_ file: String, _ body: () throws -> T) throws -> T {
        do { return try body() } catch let problem as KerasConfigProblem { throw KerasFileError(file: file, problem.message) }
    }
}

/// A problem in a model config, before the file it came from is known.
struct KerasConfigProblem: Error, CustomStringConvertible {
    let message: String
    var description: String { message }
}
