import ArgumentParser
import Foundation
import Loom
import LoomHDF5
import LoomKeras

/// `loom summary`: the Keras-style table of a saved model (`--model`), or of a preset sized for a dataset.
struct Summary: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Print a model's layers, output shapes and parameters.")

    @OptionGroup var loggingOptions: LoggingOptions

    @OptionGroup var kerasOptions: KerasModelOptions
    @OptionGroup var dataOptions: DataOptions
    @OptionGroup var modelOptions: ModelOptions

    @Option(help: "Batch size (shown for the stateful preset).")
    var batchSize = 32

    func validate() throws {
        guard (1...Int(Int32.max)).contains(batchSize) else {
            throw ValidationError("--batch-size must be in 1...\(Int32.max), got \(batchSize)")
        }
    }

    func run() throws {
        // Compiled as the file says, so the optimizer's variables are counted as Keras's summary
        // counts them; else (an optimizer state of frozen layers' model) uncompiled.
        let compiled = try? kerasOptions.loadCompiled(seed: 0, replacing: (true, true, true), forPrediction: true)?.model
        if let model = try compiled ?? kerasOptions.load(forPrediction: true) {
            try model.summary()
            return
        }
        let dataset = try dataOptions.open(try dataOptions.path())
        try modelOptions.makeModel(inputShape: dataset.inputShape, targetShape: dataset.targetShape ?? [], batchSize: batchSize)
            .summary()
    }
}
