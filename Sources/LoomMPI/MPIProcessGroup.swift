import CMPI
import Foundation
import Logging
@_spi(Ranks) import Loom

/// The ranks `mpirun` started, as a `ProcessGroup` for `fit`, `evaluate` and `predict`: every
/// byte between processes goes through Open MPI's point-to-point and collective calls on
/// `MPI_COMM_WORLD`.
///
/// MPI is initialised with `MPI_THREAD_FUNNELED`: only the thread that called `join` (the
/// training engine's worker 0, the caller of `fit`) makes MPI calls. Errors come back as
/// values (`MPI_ERRORS_RETURN`) and are thrown as `MPIError`.
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

    /// Whether `mpirun` (Open MPI) started this process: its environment names the job's size.
    public static var launchedByMPIRun: Bool { ProcessInfo.processInfo.environment["OMPI_COMM_WORLD_SIZE"] != nil }

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
    }

    /// Leaves the job normally (`MPI_Finalize`), after every rank's last call.
    public func finish() {
        MPI_Finalize()
    }

    /// Ends every rank of the job now (`MPI_Abort`), after an error on this one: no rank is
    /// left waiting for a message this one will never send.
    public func abort(status: Int32) -> Never {
        MPI_Abort(world, status)
        exit(status)
    }

    /// Completes `sum`'s tree across the ranks (see `ProcessGroup.sumShards`): a
    /// reduce-scatter in tree order, so that rank o sums slice o of the floats (and every
    /// header), then an all-gather of the summed slices. Messages carry data only; every
    /// addition is made here, in the tree's order, whatever Open MPI's algorithms.
    ///
    /// With a power-of-two number of ranks, each holding one piece (shards per rank a power of
    /// two), the tree above the pieces is the ranks' complete binary tree: recursive halving
    /// (log₂ R exchanges with ranks 1, 2, 4, ... apart, each half the size of the last, the
    /// lower rank's sums the left operand), then recursive doubling back. Otherwise every rank
    /// sends each rank its pieces' part of that rank's slice (`MPI_Alltoallv`) and gathers
    /// the slices (`MPI_Allgatherv`).
    @_spi(Ranks) public func sumShards(_ sum: ShardSum) throws {
        // Counts and offsets of MPI messages are 32-bit: a rank's whole message must fit.
        let bytes = sum.pieceFloats.count * (8 * sum.header.count + 4 * sum.floats.count)
        guard bytes <= Int(Int32.max) else {
            throw MPIError(
                call: "sumShards",
                message: "a rank's gradients and pieces take \(bytes) bytes, more than one MPI message carries (2^31 - 1); "
                    + "use fewer parameters, or shards per rank a power of two (one piece)")
        }
        if size.nonzeroBitCount == 1 && sum.pieceFloats.count == 1 && sum.shardsPerRank.nonzeroBitCount == 1 {
            try sumByHalving(sum)
        } else {
            try sumDirectly(sum)
        }
    }

    /// Recursive halving and doubling (see `sumShards`).
    private func sumByHalving(_ sum: ShardSum) throws {
        let values = sum.pieceFloats[0], header = sum.pieceHeaders[0], headerCount = sum.header.count
        var portions: [Range<Int>] = []
        var portion = 0..<sum.floats.count
        var distance = 1
        while distance < size {
            let partner = rank ^ distance, lower = rank & distance == 0
            let middle = portion.lowerBound + portion.count / 2
            let kept = lower ? portion.lowerBound..<middle : middle..<portion.upperBound
            let given = lower ? middle..<portion.upperBound : portion.lowerBound..<middle
            outgoing.removeAll(keepingCapacity: true)
            pack(headers: [header], headerCount: headerCount, floats: [values], range: given, into: &outgoing)
            incoming.removeAll(keepingCapacity: true)
            incoming.append(contentsOf: repeatElement(0, count: 8 * headerCount + 4 * kept.count))
            try exchange(with: partner)
            incoming.withUnsafeBytes { bytes in
                for k in 0..<headerCount {
                    let theirs = bytes.loadUnaligned(fromByteOffset: 8 * k, as: Double.self)
                    let (left, right) = lower ? (header[k], theirs) : (theirs, header[k])
                    header[k] = k < sum.maxima ? max(left, right) : left + right
                }
                let base = 8 * headerCount
                for (index, k) in kept.enumerated() {
                    let theirs = bytes.loadUnaligned(fromByteOffset: base + 4 * index, as: Float.self)
                    values[k] = lower ? values[k] + theirs : theirs + values[k]
                }
            }
            portions.append(portion)
            portion = kept
            distance *= 2
        }
        for k in portion { sum.floats[k] = values[k] }
        for k in 0..<headerCount { sum.header[k] = header[k] }
        // A sum of headers alone (the same on every rank) has no floats to gather.
        guard let floats = sum.floats.baseAddress else { return }
        for (round, whole) in portions.enumerated().reversed() {
            let distance = 1 << round, partner = rank ^ distance, lower = rank & distance == 0
            let middle = whole.lowerBound + whole.count / 2
            let own = lower ? whole.lowerBound..<middle : middle..<whole.upperBound
            let theirs = lower ? middle..<whole.upperBound : whole.lowerBound..<middle
            try sendReceive(
                send: UnsafeRawBufferPointer(start: floats + own.lowerBound, count: 4 * own.count),
                receive: UnsafeMutableRawBufferPointer(start: floats + theirs.lowerBound, count: 4 * theirs.count),
                type: loom_mpi_float(), partner: partner)
        }
    }

    /// Every rank's pieces of each slice to the slice's rank, which completes the tree over it
    /// (see `sumShards`), then the slices to every rank.
    private func sumDirectly(_ sum: ShardSum) throws {
        let count = sum.floats.count, headerCount = sum.header.count
        let slices = (0..<size).map { ($0 * count / size)..<(($0 + 1) * count / size) }
        let own = slices[rank]
        let nodes = (0..<size).map { sum.pieces(ofRank: $0) }
        outgoing.removeAll(keepingCapacity: true)
        var sent: [Int32] = [], received: [Int32] = []
        for slice in slices {
            let start = outgoing.count
            pack(headers: sum.pieceHeaders, headerCount: headerCount, floats: sum.pieceFloats, range: slice, into: &outgoing)
            sent.append(Int32(outgoing.count - start))
        }
        for pieces in nodes { received.append(Int32(pieces.count * (8 * headerCount + 4 * own.count))) }
        incoming.removeAll(keepingCapacity: true)
        incoming.append(contentsOf: repeatElement(0, count: Int(received.reduce(0, +))))
        let (sentOffsets, receivedOffsets) = (Self.offsets(sent), Self.offsets(received))
        // A nonblocking collective reads its count and offset arrays until it completes.
        try outgoing.withUnsafeBufferPointer { send in
            try incoming.withUnsafeMutableBufferPointer { receive in
                try withStable(sent, sentOffsets, received, receivedOffsets) { sent, sentOffsets, received, receivedOffsets in
                    try Self.check(
                        MPI_Ialltoallv(
                            send.baseAddress, sent, sentOffsets, loom_mpi_byte(), receive.baseAddress, received, receivedOffsets,
                            loom_mpi_byte(), world, requests),
                        "MPI_Ialltoallv")
                    try complete(1, "the exchange of every rank's pieces")
                }
            }
        }
        // Each rank's pieces came as their headers, then their floats over this rank's slice:
        // unpacked into one buffer of nodes each, in shard order.
        let total = nodes.reduce(0) { $0 + $1.count }
        var nodeHeaders = [Double](repeating: 0, count: total * headerCount)
        var nodeFloats = [Float](repeating: 0, count: total * own.count)
        incoming.withUnsafeBytes { bytes in
            var offset = 0, node = 0
            for pieces in nodes {
                for index in node..<(node + pieces.count) {
                    for k in 0..<headerCount {
                        nodeHeaders[index * headerCount + k] = bytes.loadUnaligned(fromByteOffset: offset, as: Double.self)
                        offset += 8
                    }
                }
                for index in node..<(node + pieces.count) {
                    for k in 0..<own.count {
                        nodeFloats[index * own.count + k] = bytes.loadUnaligned(fromByteOffset: offset, as: Float.self)
                        offset += 4
                    }
                }
                node += pieces.count
            }
        }
        nodeFloats.withUnsafeMutableBufferPointer { floats in
            nodeHeaders.withUnsafeMutableBufferPointer { headers in
                sum.complete(
                    sum.tree.reduction(of: nodes.flatMap { $0 }),
                    floats: (0..<total).map { floats.baseAddress! + $0 * own.count },
                    headers: (0..<total).map { headers.baseAddress! + $0 * headerCount }, count: own.count,
                    into: own.lowerBound)
            }
        }
        if count > 0 { try allGather(sum.floats, parts: slices) }
    }

    /// Appends the headers of `headers`' nodes, then their floats over `range`, to `bytes`.
    private func pack(
        headers: [UnsafeMutablePointer<Double>], headerCount: Int, floats: [UnsafeMutablePointer<Float>], range: Range<Int>,
        into bytes: inout [UInt8]
    ) {
        for header in headers {
            bytes += UnsafeRawBufferPointer(start: header, count: 8 * headerCount)
        }
        for node in floats {
            bytes += UnsafeRawBufferPointer(start: node + range.lowerBound, count: 4 * range.count)
        }
    }

    /// `outgoing` to `partner` while `incoming` (sized for it) comes from it.
    private func exchange(with partner: Int) throws {
        try outgoing.withUnsafeBufferPointer { send in
            try incoming.withUnsafeMutableBufferPointer { receive in
                try sendReceive(
                    send: UnsafeRawBufferPointer(send), receive: UnsafeMutableRawBufferPointer(receive), type: loom_mpi_byte(),
                    partner: partner)
            }
        }
    }

    /// `send` to `partner` while `receive` comes from it, both in elements of `type` (bytes of
    /// the buffers / the type's size), waiting at most `waitLimit`.
    private func sendReceive(send: UnsafeRawBufferPointer, receive: UnsafeMutableRawBufferPointer, type: MPI_Datatype, partner: Int)
        throws
    {
        let elementBytes = type == loom_mpi_float() ? 4 : 1
        try Self.check(
            MPI_Irecv(receive.baseAddress, Int32(receive.count / elementBytes), type, Int32(partner), Self.tag, world, requests),
            "MPI_Irecv")
        try Self.check(
            MPI_Isend(send.baseAddress, Int32(send.count / elementBytes), type, Int32(partner), Self.tag, world, requests + 1),
            "MPI_Isend")
        try complete(2, "the exchange with rank \(partner)")
    }

    /// The messages of a sum being sent and received, kept between calls.
    private var outgoing: [UInt8] = [], incoming: [UInt8] = []

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

    /// Where each part starts when `counts` are laid end to end.
    private static func offsets(_ counts: [Int32]) -> [Int32] {
        var offsets: [Int32] = [0]
        for count in counts.dropLast() { offsets.append(offsets.last! + count) }
        return offsets
    }

    /// The tag of the sums' messages.
    private static let tag: Int32 = 7

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
