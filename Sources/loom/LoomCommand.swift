import ArgumentParser

/// `loom`: trains, evaluates and runs Loom models on HDF5 data from the shell.
@main
struct LoomCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "loom",
        abstract: "Train recurrent sequence models on the CPU.",
        subcommands: [Train.self, Evaluate.self, Predict.self, Summary.self, Convert.self, Import.self, Bench.self],
        defaultSubcommand: Train.self
    )
}
