import Foundation
import Loom
import Synchronization

/// SIGTERM and SIGINT while `loom train` runs: the first asks training to stop after the
/// current step (writing a checkpoint when one is configured), a second SIGINT exits at once.
enum StopRequest {
    /// Signals received so far (written by the handler; an atomic is async-signal-safe).
    static let received = Atomic<Int>(0)
    /// The exit status of a run that stopped on a signal: EX_TEMPFAIL, "try again" (with `--resume`).
    static let exitStatus: Int32 = 75

    /// Installs the handlers.
    static func install() {
        let handler: @convention(c) (Int32) -> Void = { signal in
            let count = StopRequest.received.wrappingAdd(1, ordering: .relaxed).newValue
            if count > 1 && signal == SIGINT { _exit(130) }
        }
        signal(SIGTERM, handler)
        signal(SIGINT, handler)
    }

    /// A callback that interrupts the run at the first batch or epoch end after a signal.
    final class Watch: Callback {
        /// The run being watched, once training began.
        private(set) var run: TrainingRun?

        /// Remembers the run.
        func onTrainBegin(_ run: TrainingRun) throws { self.run = run }

        /// Interrupts after the step that was running when the signal came.
        func onBatchEnd(_ batch: Int, logs: [String: Double], run: TrainingRun) throws {
            if StopRequest.received.load(ordering: .relaxed) > 0 { run.interrupt() }
        }

        /// Interrupts after the epoch's validation when the signal came during it.
        func onEpochEnd(_ epoch: Int, logs: [String: Double], run: TrainingRun) throws {
            if StopRequest.received.load(ordering: .relaxed) > 0 { run.interrupt() }
        }
    }
}
