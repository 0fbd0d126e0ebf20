/// Each worker's running `StepProfile`, in its own cache lines (a Swift array would make
/// every worker's update a modify access of the whole array: a race).
final class WorkerTimings: @unchecked Sendable {
    /// Slots this many profiles apart, so two workers never share a 64-byte line.
    private static let spacing = (64 + MemoryLayout<StepProfile>.stride - 1) / MemoryLayout<StepProfile>.stride + 1
    private let slots: UnsafeMutablePointer<StepProfile>
    private let count: Int

    init(workers: Int) {
        count = workers * WorkerTimings.spacing
        slots = .allocate(capacity: count)
        slots.initialize(repeating: StepProfile(), count: count)
    }

    deinit {
        slots.deinitialize(count: count)
        slots.deallocate()
    }

    subscript(worker: Int) -> UnsafeMutablePointer<StepProfile> { slots + worker * WorkerTimings.spacing }

    /// Seconds per step of the steps so far, averaged over the `workers`; worker 0's slot
    /// counts the steps, their whole time and the exchanges with other processes.
    func profile(workers: Int) -> StepProfile {
        var result = StepProfile()
        let first = self[0].pointee, steps = Double(max(first.steps, 1))
        result.steps = first.steps
        for worker in 0..<workers {
            let timing = self[worker].pointee
            result.compute += timing.compute / steps / Double(workers)
            result.wait += timing.wait / steps / Double(workers)
            result.reduce += timing.reduce / steps / Double(workers)
            result.optimizer += timing.optimizer / steps / Double(workers)
        }
        result.total = first.total / steps
        result.communicate = first.communicate / steps
        result.rankWait = first.rankWait / steps
        result.hiddenExchange = first.hiddenExchange / steps
        result.exchangeBuckets = first.exchangeBuckets.map { ExchangeBucket(floats: $0.floats, lead: $0.lead / steps) }
        return result
    }
}
