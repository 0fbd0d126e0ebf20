import Logging

extension Logger {
    /// The core's diagnostics (label `loom`): warnings a run goes on after (a callback's
    /// monitor missing from the logs), and at `debug` what Loom chose for this machine (the
    /// kernel level, OpenBLAS's threads, the workers and shards of a run). An application
    /// picks where they go with `LoggingSystem.bootstrap`; `loom` prints them on standard error.
    static let loom = Logger(label: "loom")
}
