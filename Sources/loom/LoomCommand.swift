import ArgumentParser
import Loom
import LoomMPI

/// `loom`: trains, evaluates and runs Loom models on HDF5 data from the shell.
@main
struct LoomCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "loom",
        abstract: "Train recurrent sequence models on the CPU.",
        subcommands: [Train.self, Evaluate.self, Predict.self, Summary.self, Convert.self, Import.self, Bench.self, TimeToLoss.self],
        defaultSubcommand: Train.self
    )

    /// Refuses a `LOOM_KERNEL_LEVEL` that names no level before any work starts; under
    /// `mpirun`, joins the job first (see `Job`).
    static func main() {
        if let problem = Kernels.requestedLevelProblem { exit(withError: ValidationError(problem)) }
        if MPIProcessGroup.launchedByMPIRun { Job.runUnderMPIRun(self) }
        main(nil)
    }
}
