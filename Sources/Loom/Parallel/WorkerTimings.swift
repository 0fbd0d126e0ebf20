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
}
