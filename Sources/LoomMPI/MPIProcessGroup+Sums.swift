import CMPI
import Dispatch
@_spi(Ranks) import Loom

/// The sums over the ranks (`ProcessGroup.sumShards`, `beginSum`): each a reduce-scatter in
/// tree order, so that rank o sums slice o of the floats (and every header), then an
/// all-gather of the summed slices. Messages carry data only; every addition is made here, in
/// the tree's order, whatever Open MPI's algorithms, and whatever part of the floats a sum
/// covers (the exchange's buckets give each float the additions of one whole sum).
///
/// With a power-of-two number of ranks, each holding one piece (shards per rank a power of
/// two), the tree above the pieces is the ranks' complete binary tree: recursive halving
/// (log₂ R exchanges with ranks 1, 2, 4, ... apart, each half the size of the last, the
/// lower rank's sums the left operand), then recursive doubling back. Otherwise every rank
/// sends each rank its pieces' part of that rank's slice (`MPI_Ialltoallv`) and gathers the
/// slices (`MPI_Iallgatherv`).
///
/// A sum runs as rounds of messages (`SumRound`), each started once the one before it has
/// finished; the sums begun run one after another, in the order begun, so every rank posts
/// the same messages and collectives in the same order whatever its timing. Only
/// `beginSum`, `progressSums` and `finishSums` move them on, on the caller's thread: the training engine
/// calls the first between its own work (at every layer and every few recurrent steps of the
/// backward pass), so that a sum begun during the pass goes on while it computes, without a
/// thread of its own to wake beside each worker (which slowed the workers more than the
/// overlap saved).
extension MPIProcessGroup {
    /// Queues `sum` after the sums begun before it and starts it when none is in progress.
    @_spi(Ranks) public func beginSum(_ sum: ShardSum) throws {
        // Counts and offsets of MPI messages are 32-bit: a rank's whole message must fit.
        let bytes = sum.pieceFloats.count * (8 * sum.header.count + 4 * sum.floats.count)
        guard bytes <= Int(Int32.max) else {
            throw MPIError(
                call: "sumShards",
                message: "a rank's gradients and pieces take \(bytes) bytes, more than one MPI message carries (2^31 - 1); "
                    + "use fewer parameters, or shards per rank a power of two (one piece)")
        }
        waitingSums.append(sum)
        _ = try moveSums()
    }

    /// Moves the sums begun on without waiting; returns how many are not finished.
    @_spi(Ranks) public func progressSums() throws -> Int {
        try moveSums()
    }

    /// Waits until every sum begun has finished, for at most `waitLimit`.
    @_spi(Ranks) public func finishSums() throws {
        try waitUntil(round < rounds.count ? rounds[round].what : "the exchange") { try moveSums() == 0 }
        finishTimes.removeAll(keepingCapacity: true)
    }

    /// When each sum begun since the last `finishSums` was seen finished (by this thread's
    /// calls), for those that have.
    @_spi(Ranks) public var sumFinishTimes: [DispatchTime] { finishTimes }

    /// Moves the sums on as far as their messages allow; returns how many are not finished.
    private func moveSums() throws -> Int {
        while true {
            if round == rounds.count {
                guard !waitingSums.isEmpty else { return 0 }
                rounds = self.rounds(of: waitingSums.removeFirst())
                round = 0
                guard !rounds.isEmpty else { continue }
                try rounds[0].start()
            }
            var done: Int32 = 0
            try Self.check(MPI_Testall(rounds[round].requests, requests, &done, loom_mpi_statuses_ignore()), "MPI_Testall")
            guard done != 0 else { return waitingSums.count + 1 }
            rounds[round].finish()
            round += 1
            if round < rounds.count { try rounds[round].start() } else { finishTimes.append(DispatchTime.now()) }
        }
    }

    /// The rounds of `sum`: none for one rank alone, whose pieces are completed here.
    private func rounds(of sum: ShardSum) -> [SumRound] {
        if size == 1 {
            sum.complete(
                sum.tree.reduction(of: sum.pieces(ofRank: 0)), floats: sum.pieceFloats, headers: sum.pieceHeaders,
                count: sum.floats.count, into: 0)
            return []
        }
        if size.nonzeroBitCount == 1 && sum.pieceFloats.count == 1 && sum.shardsPerRank.nonzeroBitCount == 1 {
            return halvingRounds(sum)
        }
        return directRounds(sum)
    }

    /// Recursive halving and doubling (see above).
    private func halvingRounds(_ sum: ShardSum) -> [SumRound] {
        let values = sum.pieceFloats[0], header = sum.pieceHeaders[0], headerCount = sum.header.count
        var rounds: [SumRound] = []
        var portions: [Range<Int>] = []
        var portion = 0..<sum.floats.count
        var distance = 1
        while distance < size {
            let (partner, lower, kept, given) = halves(of: portion, distance: distance)
            rounds.append(
                SumRound(
                    requests: 2, what: "the exchange with rank \(partner)",
                    start: { [self] in
                        outgoing.reset()
                        outgoing.append(header, count: headerCount)
                        outgoing.append(values + given.lowerBound, count: given.count)
                        incoming.resetZeroed(8 * headerCount + 4 * kept.count)
                        try post(send: UnsafeRawBufferPointer(outgoing.contents), receive: incoming.contents, partner: partner)
                    },
                    finish: { [self] in
                        let bytes = UnsafeRawBufferPointer(incoming.contents)
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
                    }))
            portions.append(portion)
            portion = kept
            distance *= 2
        }
        let summed = portion
        rounds.append(
            SumRound(
                requests: 0, what: "the exchange", start: {},
                finish: {
                    for k in summed { sum.floats[k] = values[k] }
                    for k in 0..<headerCount { sum.header[k] = header[k] }
                }))
        // A sum of headers alone (the same on every rank) has no floats to gather.
        guard let floats = sum.floats.baseAddress else { return rounds }
        for (index, whole) in portions.enumerated().reversed() {
            let (partner, _, own, theirs) = halves(of: whole, distance: 1 << index)
            rounds.append(
                SumRound(
                    requests: 2, what: "the exchange with rank \(partner)",
                    start: { [self] in
                        try post(
                            send: UnsafeRawBufferPointer(start: floats + own.lowerBound, count: 4 * own.count),
                            receive: UnsafeMutableRawBufferPointer(start: floats + theirs.lowerBound, count: 4 * theirs.count),
                            partner: partner)
                    }, finish: {}))
        }
        return rounds
    }

    /// At `distance` (a power of two), this rank's partner, whether this rank is the lower of
    /// the two (its sums the left operand), and the halves of `portion` it keeps and gives.
    private func halves(of portion: Range<Int>, distance: Int) -> (partner: Int, lower: Bool, kept: Range<Int>, given: Range<Int>) {
        let lower = rank & distance == 0, middle = portion.lowerBound + portion.count / 2
        let (first, second) = (portion.lowerBound..<middle, middle..<portion.upperBound)
        return (rank ^ distance, lower, lower ? first : second, lower ? second : first)
    }

    /// Every rank's pieces of each slice to the slice's rank, which completes the tree over it
    /// (see above), then the slices to every rank.
    private func directRounds(_ sum: ShardSum) -> [SumRound] {
        let count = sum.floats.count, headerCount = sum.header.count
        let slices = (0..<size).map { ($0 * count / size)..<(($0 + 1) * count / size) }
        let own = slices[rank]
        let nodes = (0..<size).map { sum.pieces(ofRank: $0) }
        let (sent, sentOffsets) = (collectiveCounts, collectiveCounts + size)
        let (received, receivedOffsets) = (collectiveCounts + 2 * size, collectiveCounts + 3 * size)
        let exchange = SumRound(
            requests: 1, what: "the exchange of every rank's pieces",
            start: { [self] in
                outgoing.reset()
                for (rank, slice) in slices.enumerated() {
                    let start = outgoing.count
                    for header in sum.pieceHeaders { outgoing.append(header, count: headerCount) }
                    for node in sum.pieceFloats { outgoing.append(node + slice.lowerBound, count: slice.count) }
                    sent[rank] = Int32(outgoing.count - start)
                    received[rank] = Int32(nodes[rank].count * (8 * headerCount + 4 * own.count))
                }
                Self.layEndToEnd(sent, count: size, into: sentOffsets)
                Self.layEndToEnd(received, count: size, into: receivedOffsets)
                incoming.resetZeroed(Int(receivedOffsets[size - 1] + received[size - 1]))
                try Self.check(
                    MPI_Ialltoallv(
                        outgoing.bytes, sent, sentOffsets, loom_mpi_byte(), incoming.bytes, received, receivedOffsets,
                        loom_mpi_byte(), world, requests),
                    "MPI_Ialltoallv")
            },
            finish: { [self] in completeSlice(sum, from: UnsafeRawBufferPointer(incoming.contents), nodes: nodes, own: own) })
        guard let floats = sum.floats.baseAddress, count > 0 else { return [exchange] }
        let gather = SumRound(
            requests: 1, what: "the gathering of every rank's slice",
            start: { [self] in
                for (rank, slice) in slices.enumerated() {
                    sent[rank] = Int32(slice.count)
                    sentOffsets[rank] = Int32(slice.lowerBound)
                }
                try Self.check(
                    MPI_Iallgatherv(
                        loom_mpi_in_place(), 0, loom_mpi_float(), floats, sent, sentOffsets, loom_mpi_float(), world, requests),
                    "MPI_Iallgatherv")
            }, finish: {})
        return [exchange, gather]
    }

    /// Completes `sum`'s tree over this rank's slice `own` from `bytes`, every rank's pieces
    /// (`nodes`, in rank order) as sent: their headers, then their floats over the slice.
    private func completeSlice(_ sum: ShardSum, from bytes: UnsafeRawBufferPointer, nodes: [[Range<Int>]], own: Range<Int>) {
        let headerCount = sum.header.count
        let total = nodes.reduce(0) { $0 + $1.count }
        // At least one value each, so that the buffers have an address (a bucket may leave this
        // rank no floats, and have no header).
        var nodeHeaders = [Double](repeating: 0, count: max(1, total * headerCount))
        var nodeFloats = [Float](repeating: 0, count: max(1, total * own.count))
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
        nodeFloats.withUnsafeMutableBufferPointer { floats in
            nodeHeaders.withUnsafeMutableBufferPointer { headers in
                sum.complete(
                    sum.tree.reduction(of: nodes.flatMap { $0 }),
                    floats: (0..<total).map { floats.baseAddress! + $0 * own.count },
                    headers: (0..<total).map { headers.baseAddress! + $0 * headerCount }, count: own.count,
                    into: own.lowerBound)
            }
        }
    }

    /// Posts `send` to `partner` and the receipt of `receive` from it (bytes), into `requests`.
    private func post(send: UnsafeRawBufferPointer, receive: UnsafeMutableRawBufferPointer, partner: Int) throws {
        try Self.check(
            MPI_Irecv(receive.baseAddress, Int32(receive.count), loom_mpi_byte(), Int32(partner), Self.tag, world, requests),
            "MPI_Irecv")
        try Self.check(
            MPI_Isend(send.baseAddress, Int32(send.count), loom_mpi_byte(), Int32(partner), Self.tag, world, requests + 1),
            "MPI_Isend")
    }

    /// Writes where each of `count` parts of `counts` starts, laid end to end, into `offsets`.
    private static func layEndToEnd(_ counts: UnsafePointer<Int32>, count: Int, into offsets: UnsafeMutablePointer<Int32>) {
        var start: Int32 = 0
        for index in 0..<count {
            offsets[index] = start
            start += counts[index]
        }
    }
}
