import Synchronization

/// A request to stop training after the current step, as a batch scheduler's SIGTERM or a
/// Ctrl-C makes it: `fit` then interrupts its run (`TrainingRun.interrupt()`, so a
/// `BackupAndRestore` writes its checkpoint) and returns. With other processes the request
/// of any one reaches all of them in the same step.
public enum TrainingStop {
    private static let flag = Atomic<Bool>(false)

    /// Asks every running and future `fit` of this process to stop after its current step.
    /// Async-signal-safe (one lock-free atomic store): a signal handler may call it.
    public static func request() { flag.store(true, ordering: .relaxed) }

    /// Whether a stop was requested.
    public static var isRequested: Bool { flag.load(ordering: .relaxed) }
}
