import ArgumentParser
import Logging

/// `--log-level`: how much of the library's diagnostics `loom` prints on standard error.
struct LoggingOptions: ParsableArguments {
    @Option(help: "Diagnostics on standard error: trace, debug, info, notice, warning or error (default: LOOM_LOG_LEVEL, else warning).")
    var logLevel: String?

    /// Applies the level for the rest of the process (parsing ends before any work).
    func validate() throws {
        guard let logLevel else { return }
        guard let level = Logger.Level(rawValue: logLevel) else {
            throw ValidationError(
                "--log-level must be one of \(Logger.Level.allCases.map(\.rawValue).joined(separator: ", ")), got '\(logLevel)'")
        }
        CommandLineLogHandler.setLevel(level)
    }
}
