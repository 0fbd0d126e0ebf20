import Dispatch

/// How a layer's backward pass tells its replica that the gradients from an index to the end
/// of the buffer are final, before the pass ends (a recurrent layer: its recurrent kernel and
/// bias before its kernel's product), so that an exchange with other processes can take them
/// while the rest of the pass runs. Used by one worker at a time: the one running the replica.
final class GradientProgress {
    /// Whether the replica wants to hear now (the last row block of a training pass).
    var isListening = false
    /// What the replica does with an index.
    var report: (Int) -> Void = { _ in }

    /// What the replica does at a poll: move an exchange on.
    var pollAction: (() -> Void)?
    /// The progress this one polls for and never reports to (`pollingOnly`), if any.
    private weak var polledFor: GradientProgress?
    /// When the last poll acted, in nanoseconds of uptime.
    private var lastPoll: UInt64 = 0

    /// The gradients from `offset` (an index into the whole buffer) on will not change again
    /// in this pass.
    func finished(from offset: Int) {
        if isListening && polledFor == nil { report(offset) }
    }

    /// A progress for the layers inside another (a `Bidirectional`'s), whose gradients above
    /// theirs may still change: their polls move the exchange on; what they report is not heard.
    var pollingOnly: GradientProgress {
        let inner = GradientProgress()
        inner.polledFor = self
        return inner
    }

    /// A point in a long backward pass (a recurrent layer's step) where an exchange in flight
    /// may be moved on: `pollAction` runs when set, at most once every `pollInterval`.
    func poll() {
        if let polledFor { return polledFor.poll() }
        guard let pollAction else { return }
        let now = DispatchTime.now().uptimeNanoseconds
        guard now &- lastPoll >= GradientProgress.pollInterval else { return }
        lastPoll = now
        pollAction()
    }

    /// The least time between two polls' actions, in nanoseconds.
    static let pollInterval: UInt64 = 50_000
}
