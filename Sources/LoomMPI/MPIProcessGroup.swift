import CMPI
import Foundation
import Logging
@_spi(Ranks) import Loom
import Synchronization

/// The ranks `mpirun` started, as a `ProcessGroup` for `fit`, `evaluate` and `predict`: every
/// byte between processes goes through Open MPI's point-to-point and collective calls on
/// `MPI_COMM_WORLD`.
///
/// MPI is initialised with `MPI_THREAD_FUNNELED`: only the thread that called `join` (the
/// training engine's worker 0, the caller of `fit`) makes MPI calls; sums begun during the
/// backward pass move on when it polls them (see `MPIProcessGroup+Sums.swift`). Errors come
/// back as values (`MPI_ERRORS_RETURN`) and are thrown as `MPIError`.
///
/// Every wait for another rank is bounded: messages are started nonblocking and polled until
/// they complete or `waitLimit` passes; then this rank finds which ranks still answer (see
/// `MPIProcessGroup+Waiting.swift`) and throws `MPIRankTimeout` naming those that do not.
public final class MPIProcessGroup: ProcessGroup, @unchecked Sendable {
    /// This process's rank in `MPI_COMM_WORLD`.
    public let rank: Int
    /// The number of ranks.
    public let size: Int
    /// This rank's index on its host (`OMPI_COMM_WORLD_LOCAL_RANK`, 0 when unset).
    public let localRank: Int
    /// The ranks on this host (`OMPI_COMM_WORLD_LOCAL_SIZE`, 1 when unset).
    public let localSize: Int
    let world = loom_mpi_comm_world()
    /// The longest any wait for other ranks may last, in seconds; nil (the default) for
    /// max(60 s, 20 × the longest step so far) (`waitLimit`).
    public var rankTimeout: Double?
    /// The updates every rank had finished when the current step began (for messages).
    var updatesFinished = 0
    /// When the current step began, and the longest step so far, in seconds (between the starts
    /// of two steps: validation and checkpoint writes count in the step they follow).
    var stepStart: DispatchTime?
    var longestStep = 0.0
    /// This rank's notice that it still answers, and a notice received: the buffers of the
    /// messages `silentRanks` starts, never freed (a notice may still be in flight when the
    /// rank ends).
    let notices = UnsafeMutablePointer<Int64>.allocate(capacity: 2)
    /// The requests of the exchange in flight (two at most), reused by every exchange; never
    /// freed either (requests stay pending after a timeout; MPI allows one group a process).
    let requests = UnsafeMutablePointer<MPI_Request?>.allocate(capacity: 2)
    /// The counts and offsets of the nonblocking collective in flight (four arrays of `size`),
    /// which MPI reads until it completes; never freed, as `requests`.
    let collectiveCounts: UnsafeMutablePointer<Int32>
    /// The bytes of the sum's messages in flight (`MPIProcessGroup+Sums.swift`).
    let outgoing = MessageBuffer(), incoming = MessageBuffer()
    /// The sums begun and not yet started (`beginSum`), in order.
    var waitingSums: [ShardSum] = []
    /// The rounds of the sum in progress and the index of the one in flight (`rounds.count`:
    /// none in progress).
    var rounds: [SumRound] = []
    var round = 0
    /// When each sum begun since the last `finishSums` was seen finished (`sumFinishTimes`).
    var finishTimes: [DispatchTime] = []

    /// Whether `mpirun` (Open MPI) started this process: its environment names the job's size.
    public static var launchedByMPIRun: Bool { ProcessInfo.processInfo.environment["OMPI_COMM_WORLD_SIZE"] != nil }

    /// `join()`, bounded: Open MPI's start-up waits for every rank without a limit, so a rank
    /// stopped or lost before the job began would hold this one, and `mpirun`, for ever.
    /// `stalled` runs on another thread when `MPI_Init_thread` has not returned within
    /// `limit` seconds; it must end the process without MPI (`_exit`).
    public static func join(within limit: Double, orElse stalled: @escaping @Sendable (_ limit: Double) -> Never) throws
        -> MPIProcessGroup
    {
        let joined = CompletionFlag()
        DispatchQueue.global().asyncAfter(deadline: .now() + limit) {
            if !joined.done.load(ordering: .acquiring) { stalled(limit) }
        }
        defer { joined.done.store(true, ordering: .releasing) }
        return try join()
    }

    /// Joins the job `mpirun` started (`MPI_Init_thread`, funneled); call once, on the thread
    /// that will train.
    public static func join() throws -> MPIProcessGroup {
        var provided: Int32 = 0
        try check(MPI_Init_thread(nil, nil, loom_mpi_thread_funneled(), &provided), "MPI_Init_thread")
        guard provided >= loom_mpi_thread_funneled() else {
            throw MPIError(call: "MPI_Init_thread", message: "the MPI library gives thread level \(provided), below MPI_THREAD_FUNNELED")
        }
        MPI_Comm_set_errhandler(loom_mpi_comm_world(), loom_mpi_errors_return())
        var rank: Int32 = 0, size: Int32 = 0
        try check(MPI_Comm_rank(loom_mpi_comm_world(), &rank), "MPI_Comm_rank")
        try check(MPI_Comm_size(loom_mpi_comm_world(), &size), "MPI_Comm_size")
        let environment = ProcessInfo.processInfo.environment
        let group = MPIProcessGroup(
            rank: Int(rank), size: Int(size),
            localRank: environment["OMPI_COMM_WORLD_LOCAL_RANK"].flatMap(Int.init) ?? 0,
            localSize: environment["OMPI_COMM_WORLD_LOCAL_SIZE"].flatMap(Int.init) ?? 1)
        Logger.loomMPI.info(
            "rank \(group.rank) of \(group.size) on \(ProcessInfo.processInfo.hostName) (\(group.localRank) of \(group.localSize) there)")
        return group
    }

    private init(rank: Int, size: Int, localRank: Int, localSize: Int) {
        self.rank = rank
        self.size = size
        self.localRank = localRank
        self.localSize = localSize
        collectiveCounts = .allocate(capacity: 4 * size)
        collectiveCounts.initialize(repeating: 0, count: 4 * size)
    }

    /// Leaves the job normally (`MPI_Finalize`), after every rank's last call. `MPI_Finalize`
    /// waits for every rank without a limit: a rank stopped after its part of the run's last
    /// barrier (stopped while it waited there for rank 0's last writes) would hold this rank,
    /// and `mpirun`, forever. So `stalled` runs, on another thread, when `MPI_Finalize` has not
    /// returned within `waitLimit` (at least `finishSeconds`, however short the rank timeout).
    /// It must end the process without touching MPI or running exit handlers (`_exit`: the
    /// main thread is still inside `MPI_Finalize`); `mpirun` then ends the job, the stopped
    /// rank with it.
    public func finish(orElse stalled: @escaping @Sendable (_ limit: Double) -> Never) {
        let limit = max(waitLimit, Self.finishSeconds)
        let finalized = CompletionFlag()
        DispatchQueue.global().asyncAfter(deadline: .now() + limit) {
            if !finalized.done.load(ordering: .acquiring) { stalled(limit) }
        }
        MPI_Finalize()
        finalized.done.store(true, ordering: .releasing)
    }

    /// The least time `finish` waits for `MPI_Finalize`, which takes well under a second.
    public static let finishSeconds = 5.0

    /// For the lowest rank on each host, the other ranks on it (rank, process id); empty for
    /// the other ranks. A collective: every rank calls it. Ranks share a host when they run on
    /// one booted kernel in one process-id namespace (`kill` reaches each other's ids there),
    /// whatever their host names: hosts of one name, or containers of one machine, stay apart.
    public func hostPeers() throws -> [(rank: Int, process: Int32)] {
        let own = "\(Self.processIdentitySpace)\n\(getpid())"
        let all = try allGather(Array(own.utf8)).map { String(decoding: $0, as: UTF8.self).split(separator: "\n") }
        let host = all[rank].first
        let sameHost = all.indices.filter { all[$0].first == host }
        guard sameHost.first == rank else { return [] }
        return sameHost.dropFirst().compactMap { peer in all[peer].last.flatMap { Int32($0) }.map { (peer, $0) } }
    }

    /// The kernel's boot id and the process-id namespace, or the host name where either is unknown.
    private static var processIdentitySpace: String {
        let boot = try? String(contentsOfFile: "/proc/sys/kernel/random/boot_id", encoding: .utf8)
        let namespace = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/ns/pid")
        guard let boot, let namespace else { return ProcessInfo.processInfo.hostName }
        return boot.trimmingCharacters(in: .whitespacesAndNewlines) + " " + namespace
    }

    /// Waits, once `finish` has returned, until `peers` (`hostPeers()`) have exited, for at
    /// most `finish`'s limit; returns those still running. `MPI_Finalize` may return while a
    /// rank of this host, stopped after its own part of it, has not exited: `mpirun` would
    /// wait for it for ever, unless a rank that ends with an error makes it end the job.
    public func awaitExit(of peers: [(rank: Int, process: Int32)]) -> [(rank: Int, process: Int32)] {
        let start = DispatchTime.now(), limit = max(waitLimit, Self.finishSeconds)
        var left = peers
        while true {
            left = left.filter { kill($0.process, 0) == 0 || errno != ESRCH }
            if left.isEmpty || Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e9 >= limit { return left }
            usleep(10_000)
        }
    }

    /// Ends every rank of the job now (`MPI_Abort`), after an error on this one: no rank is
    /// left waiting for a message this one will never send.
    public func abort(status: Int32) -> Never {
        MPI_Abort(world, status)
        exit(status)
    }

    /// Completes `sum`'s tree across the ranks: `beginSum`, then `finishSums`.
    @_spi(Ranks) public func sumShards(_ sum: ShardSum) throws {
        try beginSum(sum)
        try finishSums()
    }

    /// Fills `values` with every rank's part (`MPI_Allgatherv` in place).
    @_spi(Ranks) public func allGather(_ values: UnsafeMutableBufferPointer<Float>, parts: [Range<Int>]) throws {
        let counts = parts.map { Int32($0.count) }, offsets = parts.map { Int32($0.lowerBound) }
        try withStable(counts, offsets, [], []) { counts, offsets, _, _ in
            try Self.check(
                MPI_Iallgatherv(
                    loom_mpi_in_place(), 0, loom_mpi_float(), values.baseAddress, counts, offsets, loom_mpi_float(), world,
                    requests),
                "MPI_Iallgatherv")
            try complete(1, "the gathering of every rank's slice")
        }
    }

    /// The tag of the sums' messages.
    static let tag: Int32 = 7

    /// Returns when every rank has called it (`MPI_Ibarrier`), or throws `MPIRankTimeout`
    /// naming those that did not within `rankTimeout`; `what` names the wait in that error.
    package func barrier(_ what: @autoclosure () -> String) throws {
        try Self.check(MPI_Ibarrier(world, requests), "MPI_Ibarrier")
        try complete(1, what())
    }

    /// Every rank's bytes, in rank order (`MPI_Allgather` of the lengths, then `MPI_Allgatherv`).
    @_spi(Ranks) public func allGather(_ bytes: [UInt8]) throws -> [[UInt8]] {
        let length = [Int32(bytes.count)]
        var lengths = [Int32](repeating: 0, count: size)
        try length.withUnsafeBufferPointer { own in
            try lengths.withUnsafeMutableBufferPointer { all in
                try Self.check(
                    MPI_Iallgather(own.baseAddress, 1, loom_mpi_int(), all.baseAddress, 1, loom_mpi_int(), world, requests),
                    "MPI_Iallgather")
                try complete(1, "the gathering of every rank's bytes (start-up checks, checkpoint states)")
            }
        }
        var offsets = [Int32](repeating: 0, count: size)
        for index in 1..<max(size, 1) { offsets[index] = offsets[index - 1] + lengths[index - 1] }
        var all = [UInt8](repeating: 0, count: Int(lengths.reduce(0, +)))
        try bytes.withUnsafeBufferPointer { own in
            try all.withUnsafeMutableBufferPointer { gathered in
                try withStable(lengths, offsets, [], []) { lengths, offsets, _, _ in
                    try Self.check(
                        MPI_Iallgatherv(
                            own.baseAddress, length[0], loom_mpi_byte(), gathered.baseAddress, lengths, offsets, loom_mpi_byte(),
                            world, requests),
                        "MPI_Iallgatherv")
                    try complete(1, "the gathering of every rank's bytes (start-up checks, checkpoint states)")
                }
            }
        }
        return (0..<size).map { Array(all[Int(offsets[$0])..<Int(offsets[$0] + lengths[$0])]) }
    }

    static func check(_ status: Int32, _ call: String) throws {
        guard status != loom_mpi_success() else { return }
        var text = [CChar](repeating: 0, count: Int(loom_mpi_max_error_string()) + 1)
        var length: Int32 = 0
        MPI_Error_string(status, &text, &length)
        let bytes = text.prefix(Int(length)).map { UInt8(bitPattern: $0) }
        throw MPIError(call: call, message: String(decoding: bytes, as: UTF8.self))
    }
}

/// An MPI call that failed: the call and Open MPI's message.
public struct MPIError: Error, CustomStringConvertible {
    /// The MPI function.
    public let call: String
    /// Open MPI's text for the error.
    public let message: String
    /// "MPI_Send failed: ...".
    public var description: String { "\(call) failed: \(message)" }
}

/// Whether a call a watchdog bounds (`MPI_Init_thread`, `MPI_Finalize`) has returned.
private final class CompletionFlag: Sendable {
    let done = Atomic<Bool>(false)
}
