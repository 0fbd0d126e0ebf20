import ArgumentParser
import Foundation
import Loom
import LoomKeras

/// `loom convert`: reads a Keras model in one format and writes it in another.
struct Convert: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Convert a Keras model between formats.",
        discussion: """
            Reads .keras (Keras 3), .h5 (Keras 2 whole model) or .json (config, with --weights); \
            writes by OUTPUT's name: .keras (model), .weights.h5 (weights), .h5 (Keras 2 model, which Keras 3 and \
            tf.keras 2 load) or .json (config).
            """)

    @OptionGroup var loggingOptions: LoggingOptions

    @Argument(help: "The model to read.")
    var input: String

    @Argument(help: "The file to write: .keras, .weights.h5, .h5 or .json.")
    var output: String

    @Option(help: "Weights to load into the input model first (.weights.h5, Keras 2 .h5 or .keras).")
    var weights: String?

    /// Carries a compiled model's compile config and optimizer state to a `.keras` output; one
    /// Loom cannot read is left behind, and the command says so.
    func run() throws {
        let url = URL(fileURLWithPath: input)
        var note = ""
        do {
            _ = try KerasCompileConfig.read(from: url)
        } catch {
            note = "; not compiled: its compile config is not carried over (\(error))"
        }
        let model = try Sequential(
            kerasModel: url, weights: weights.map { URL(fileURLWithPath: $0) }, compile: note.isEmpty)
        try model.save(to: URL(fileURLWithPath: output))
        print("wrote \(output): \(model.layers.count) layers, \(model.parameterCount) parameters\(note)")
    }
}
