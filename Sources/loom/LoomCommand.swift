import ArgumentParser
import Loom

/// `loom`: trains, evaluates and runs Loom models on HDF5 data from the shell.
@main
struct LoomCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "loom",
        abstract: "Train recurrent sequence models on the CPU.",
        subcommands: [Train.self, Evaluate.self, Predict.self, Summary.self, Convert.self, Import.self, Bench.self],
        defaultSubcommand: Train.self
    )

    /// Refuses a `LOOM_KERNEL_LEVEL` that names no level before any work starts.
    static func main() {
        if let problem = Kernels.requestedLevelProblem { exit(withError: ValidationError(problem)) }
        main(nil)
    }
}
