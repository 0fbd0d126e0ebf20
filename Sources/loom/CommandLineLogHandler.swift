import Foundation
import Logging
import Synchronization

/// Where `loom` sends the library's diagnostics (swift-log): standard error, a warning as
/// `Warning: ...`, an error as `Error: ...`, anything finer as `[level label] ...`, at or
/// above one threshold for the whole process (`--log-level`, else `LOOM_LOG_LEVEL`, else
/// warning). The progress bar and epoch lines are not logs: they stay on standard output.
struct CommandLineLogHandler: LogHandler {
    /// The threshold's index in `Logger.Level.allCases` (trace first), shared by every logger.
    private static let threshold = Atomic<Int>(CommandLineLogHandler.index(.warning))

    let label: String
    var metadata: Logger.Metadata = [:]

    /// Installs the handler for every logger of the process, at `LOOM_LOG_LEVEL`'s level
    /// when it names one.
    static func install() {
        if let name = ProcessInfo.processInfo.environment["LOOM_LOG_LEVEL"], let level = Logger.Level(rawValue: name) {
            threshold.store(index(level), ordering: .relaxed)
        }
        LoggingSystem.bootstrap { CommandLineLogHandler(label: $0) }
    }

    /// Sets the process's threshold.
    static func setLevel(_ level: Logger.Level) { threshold.store(index(level), ordering: .relaxed) }

    private static func index(_ level: Logger.Level) -> Int { Logger.Level.allCases.firstIndex(of: level)! }

    var logLevel: Logger.Level {
        get { Logger.Level.allCases[CommandLineLogHandler.threshold.load(ordering: .relaxed)] }
        set { CommandLineLogHandler.setLevel(newValue) }
    }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        let prefix =
            switch event.level {
            case .warning: "Warning: "
            case .error, .critical: "Error: "
            default: "[\(event.level) \(label)] "
            }
        FileHandle.standardError.write(Data((prefix + event.message.description + "\n").utf8))
    }
}
