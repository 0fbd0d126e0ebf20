import Foundation
import Synchronization

/// `count` workers that live for a whole `fit`: the calling thread is worker 0 and
/// `count − 1` threads wait for jobs. `run` hands every worker the same job (its index as
/// argument) and returns when all have finished it; `barrier` synchronises them inside one.
///
/// A waiting worker spins on an atomic generation counter for up to 2 ms, then sleeps on a
/// condition variable, so a job reaches a worker in well under a microsecond while steps
/// follow each other, and idle workers cost nothing between fits. While the pool lives, the
/// caller is pinned to the CPU it was on and the workers to the other allowed CPUs, round
/// robin; `shutdown` gives the caller its own affinity back (see `CPUAffinity`).
///
/// Thread safety (`@unchecked Sendable`): `job` is written by the caller before it publishes
/// a new generation (release) and read by workers after they observe it (acquire).
final class WorkerPool: @unchecked Sendable {
    let count: Int
    let barrier: SpinBarrier
    private let generation = Atomic<Int>(0)
    private let finished = Atomic<Int>(0)
    private let sleepers = NSCondition()
    private let exited = DispatchGroup()
    private var job: ((Int) -> Void)?
    private var stopping = false
    /// The caller's affinity before the pool pinned it.
    private let callerMask: [UInt8]?

    /// Starts the `count − 1` worker threads. A thread the system cannot create (a process
    /// or memory limit) is an error, after the threads already started have been ended.
    /// When `sharers` processes share the host (MPI ranks), this one's threads take the
    /// allowed CPUs `firstCPU ..< firstCPU + count`, or none are pinned when there are not
    /// enough for every process.
    init(count: Int, firstCPU: Int = 0, sharers: Int = 1) throws {
        self.count = count
        barrier = SpinBarrier(count: count)
        var cpus = count > 1 || sharers > 1 ? CPUAffinity.allowedCPUs() : []
        if sharers > 1 {
            // Numbered, not the caller's first: every process sees the same order.
            cpus = cpus.sorted()
            cpus =
                firstCPU + count <= cpus.count && count * sharers <= cpus.count
                ? Array(cpus[firstCPU..<(firstCPU + count)]) : []
        }
        callerMask = cpus.count > 1 || (sharers > 1 && !cpus.isEmpty) ? CPUAffinity.currentMask() : nil
        if callerMask != nil { CPUAffinity.pinCurrentThread(to: cpus[0]) }
        for index in 1..<max(count, 1) {
            exited.enter()
            // The caller's CPU comes first in `cpus`: workers take the others, then wrap around.
            let cpu: Int? = cpus.count > 1 ? cpus[1 + (index - 1) % (cpus.count - 1)] : nil
            let failure = WorkerPool.startThread { [self] in
                if let cpu { CPUAffinity.pinCurrentThread(to: cpu) }
                loop(index)
                exited.leave()
            }
            if let failure {
                exited.leave()
                shutdown()
                throw LoomError.invalidArgument(
                    "cannot start worker thread \(index + 1) of \(count) (\(failure)); use fewer workers")
            }
        }
    }

    /// Runs `body` on a new detached thread with an 8 MiB stack; the system's reason when it
    /// cannot (Foundation's `Thread.start` gives none).
    private static func startThread(_ body: @escaping () -> Void) -> String? {
        final class Start {
            let body: () -> Void
            init(_ body: @escaping () -> Void) { self.body = body }
        }
        var attributes = pthread_attr_t()
        pthread_attr_init(&attributes)
        defer { pthread_attr_destroy(&attributes) }
        pthread_attr_setstacksize(&attributes, 8 << 20)
        pthread_attr_setdetachstate(&attributes, Int32(PTHREAD_CREATE_DETACHED))
        let start = Unmanaged.passRetained(Start(body))
        var thread = pthread_t()
        let result = pthread_create(
            &thread, &attributes,
            { context in
                Unmanaged<Start>.fromOpaque(context!).takeRetainedValue().body()
                return nil
            }, start.toOpaque())
        guard result != 0 else { return nil }
        start.release()
        return String(cString: strerror(result))
    }

    /// Runs `job(worker)` on every worker, the caller being worker 0; returns when all are done.
    /// The job is held only while `run` is on the stack (every worker has finished with it
    /// before `run` returns), so it need not escape, and a step allocates no closure context.
    func run(_ job: (Int) -> Void) {
        guard count > 1 else { return job(0) }
        withoutActuallyEscaping(job) { job in
            self.job = job
            finished.store(0, ordering: .relaxed)
            publish()
            job(0)
            var spins = 0
            while finished.load(ordering: .acquiring) < count - 1 { SpinBarrier.pause(&spins) }
            self.job = nil
        }
    }

    /// Ends the worker threads; the pool cannot run jobs afterwards.
    func shutdown() {
        if let callerMask { CPUAffinity.restore(callerMask) }
        guard count > 1 else { return }
        stopping = true
        publish()
        exited.wait()
    }

    private func publish() {
        sleepers.lock()
        generation.wrappingAdd(1, ordering: .releasing)
        sleepers.broadcast()
        sleepers.unlock()
    }

    private func loop(_ index: Int) {
        var seen = 0
        while true {
            // Spin (yielding the core after a while) for up to `spinWindow` before sleeping:
            // a fixed count of rounds is too short when yields return slowly.
            var spins = 0
            let start = DispatchTime.now().uptimeNanoseconds
            while generation.load(ordering: .acquiring) == seen {
                if DispatchTime.now().uptimeNanoseconds - start < WorkerPool.spinWindow {
                    SpinBarrier.pause(&spins)
                    continue
                }
                sleepers.lock()
                while generation.load(ordering: .acquiring) == seen { sleepers.wait() }
                sleepers.unlock()
            }
            seen = generation.load(ordering: .acquiring)
            if stopping { return }
            job?(index)
            finished.wrappingAdd(1, ordering: .releasing)
        }
    }

    /// How long an idle worker spins before it sleeps: 2 ms, far above the gap between two
    /// steps, far below anything a user would notice between two fits.
    static let spinWindow: UInt64 = 2_000_000
}

/// A reusable barrier for the workers of one job: the last to arrive flips the phase the
/// others spin on (yielding the core after a while, for more workers than cores).
final class SpinBarrier: @unchecked Sendable {
    let count: Int
    private let arrived = Atomic<Int>(0)
    private let phase = Atomic<Int>(0)

    init(count: Int) { self.count = count }

    func wait() {
        guard count > 1 else { return }
        let current = phase.load(ordering: .acquiring)
        if arrived.wrappingAdd(1, ordering: .acquiringAndReleasing).newValue == count {
            arrived.store(0, ordering: .relaxed)
            phase.store(current + 1, ordering: .releasing)
            return
        }
        var spins = 0
        while phase.load(ordering: .acquiring) == current { SpinBarrier.pause(&spins) }
    }

    /// One round of a spin wait: busy for the first few thousand rounds, then yield the core.
    @inline(__always)
    static func pause(_ spins: inout Int) {
        spins += 1
        if spins > 4_000 { sched_yield() }
    }
}
