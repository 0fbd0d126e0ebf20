import Foundation
import Loom
import Synchronization

/// SIGTERM and SIGINT while `loom train` runs: the first asks training to stop after the
/// current step (`TrainingStop`: a checkpoint is written when one is configured, and under
/// `mpirun` every rank stops in the same step), a second SIGINT exits at once.
enum StopRequest {
    /// Signals received so far (written by the handler; an atomic is async-signal-safe).
    static let received = Atomic<Int>(0)
    /// The exit status of a run that stopped on a signal with a checkpoint to continue from:
    /// EX_TEMPFAIL, "try again" (with `--resume`).
    static let exitStatus: Int32 = 75
    /// The exit status of a run that stopped on a signal (SIGTERM or SIGINT) with nothing to
    /// resume (no `--checkpoint-dir`; its `--save` and `--history` hold the last finished
    /// step), and of a second SIGINT: 130, the status shells give a command interrupted by
    /// Ctrl-C.
    static let interruptedStatus: Int32 = 130

    /// Installs the handlers.
    static func install() {
        let handler: @convention(c) (Int32) -> Void = { signal in
            let count = StopRequest.received.wrappingAdd(1, ordering: .relaxed).newValue
            if count > 1 && signal == SIGINT { _exit(130) }
            TrainingStop.request()
        }
        signal(SIGTERM, handler)
        signal(SIGINT, handler)
    }
}
