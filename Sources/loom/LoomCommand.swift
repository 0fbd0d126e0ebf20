import ArgumentParser
@preconcurrency import Glibc
@_spi(Kernels) import Loom
import LoomMPI

/// `loom`: trains, evaluates and runs Loom models on HDF5 data from the shell.
@main
struct LoomCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "loom",
        abstract: "Train recurrent sequence models on the CPU.",
        discussion: ExitStatus.summary,
        subcommands: [
            Train.self, Evaluate.self, Predict.self, Summary.self, Convert.self, Import.self, Bench.self, TimeToLoss.self, Plot.self,
        ],
        defaultSubcommand: Train.self
    )

    /// Refuses a `LOOM_KERNEL_LEVEL` that names no level before any work starts; under
    /// `mpirun`, joins the job first (see `Job`).
    static func main() {
        // Each line reaches a log file or a pipe as it is printed (stdout is block-buffered
        // when it is not a terminal: a batch job's log would stay empty for hours).
        setvbuf(stdout, nil, _IOLBF, 0)
        CommandLineLogHandler.install()
        if let problem = Kernels.requestedLevelProblem { exit(withError: ValidationError(problem)) }
        if MPIProcessGroup.launchedByMPIRun { Job.runUnderMPIRun(self) }
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch {
            ExitStatus.exit(self, for: error)
        }
    }
}
