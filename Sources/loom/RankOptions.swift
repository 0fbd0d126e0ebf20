import ArgumentParser

/// `--rank-timeout`: how long a rank of an `mpirun` job waits for the others before it ends
/// the job, naming the ranks that did not answer (read before the ranks' first exchange, see
/// `Job.runUnderMPIRun`).
struct RankOptions: ParsableArguments {
    @Option(
        help: ArgumentHelp(
            "Under mpirun: end the job when another rank does not answer within this many seconds (default: the longer of 60 s and 20 times the slowest step so far).",
            valueName: "seconds"))
    var rankTimeout: Double?

    /// Whether `seconds` is a limit `--rank-timeout` takes: finite, at least 0.1.
    static func isValid(_ seconds: Double) -> Bool { seconds.isFinite && seconds >= 0.1 }

    func validate() throws {
        if let rankTimeout, !RankOptions.isValid(rankTimeout) {
            throw ValidationError("--rank-timeout must be a number of seconds, at least 0.1, got \(rankTimeout)")
        }
    }
}
