import Dispatch

/// The processes of one data-parallel job (ranks `0..<size`), as the training engine sees
/// them: one process alone by default; `LoomMPI` provides the ranks `mpirun` started.
///
/// A step's shards are numbered globally: with R ranks of L local shards each, rank r owns
/// shards r·L ..< (r+1)·L of every batch. Sums over shards are taken in one canonical order,
/// the `ShardTree` over the global shard index, whatever the split: each rank sums the
/// subtrees its own shards make up, and `sumShards` completes the tree across the ranks. R
/// ranks of L shards therefore give the bits of one process with R·L fixed shards.
///
/// Every method is called by every rank in the same order, from the thread that started the
/// job (the training engine's worker 0). Its exchanges are requirements behind
/// `@_spi(Ranks)`: a group written outside Loom implements them under
/// `@_spi(Ranks) import Loom`.
public protocol ProcessGroup: AnyObject {
    /// This process's index.
    var rank: Int { get }
    /// The number of processes.
    var size: Int { get }
    /// This process's index among the processes on its host (thread placement).
    var localRank: Int { get }
    /// The number of processes on this host.
    var localSize: Int { get }
    /// Completes `sum`'s tree across the ranks: every rank gets the totals.
    @_spi(Ranks) func sumShards(_ sum: ShardSum) throws
    /// Starts `sum` (after the sums begun before it) without waiting for it: `progressSums`
    /// moves it on, `finishSums` waits for all. The training engine begins one a bucket of
    /// gradients while the backward pass goes on; until `finishSums` returns it makes no other
    /// call. By default the sum is taken at once (`sumShards`).
    @_spi(Ranks) func beginSum(_ sum: ShardSum) throws
    /// Moves the sums begun on without waiting; returns how many have not finished (by
    /// default none).
    @_spi(Ranks) func progressSums() throws -> Int
    /// Returns when every sum begun has finished (by default at once).
    @_spi(Ranks) func finishSums() throws
    /// When each sum begun since the last `finishSums` has finished, in the order begun, for
    /// those that have (a step's profile; by default none is known).
    @_spi(Ranks) var sumFinishTimes: [DispatchTime] { get }
    /// Fills `values` with every rank's part: rank r's own values are at `parts[r]` in its
    /// buffer, the parts contiguous and in rank order.
    @_spi(Ranks) func allGather(_ values: UnsafeMutableBufferPointer<Float>, parts: [Range<Int>]) throws
    /// Every rank's `bytes`, in rank order (start-up checks, checksums).
    @_spi(Ranks) func allGather(_ bytes: [UInt8]) throws -> [[UInt8]]
    /// Called as each training step begins, with the updates finished so far: a group that
    /// bounds its waits measures steps and names the update in its errors (by default
    /// nothing).
    @_spi(Ranks) func noteUpdatesFinished(_ count: Int)
}

extension ProcessGroup {
    /// Nothing: a group whose waits are not bounded needs no step count.
    @_spi(Ranks) public func noteUpdatesFinished(_ count: Int) {}

    /// The whole sum at once.
    @_spi(Ranks) public func beginSum(_ sum: ShardSum) throws { try sumShards(sum) }

    /// None in flight: `beginSum` took each at once.
    @_spi(Ranks) public func progressSums() throws -> Int { 0 }

    /// Nothing to wait for.
    @_spi(Ranks) public func finishSums() throws {}

    /// None known.
    @_spi(Ranks) public var sumFinishTimes: [DispatchTime] { [] }

    /// Throws on every rank, naming the rank and the value, unless every rank gave the same
    /// `value` for `name` (an option, a data shape): called at the same point on every rank,
    /// so a mismatch stops all of them instead of leaving some waiting.
    package func checkSame(_ name: String, _ value: String) throws {
        let values = try allGather(Array(value.utf8)).map { String(decoding: $0, as: UTF8.self) }
        guard let differing = values.indices.first(where: { values[$0] != values[0] }) else { return }
        throw LoomError.invalidArgument(
            "the ranks disagree on \(name): rank 0 has \(values[0]), rank \(differing) has \(values[differing]); "
                + "every rank must run the same command on the same data")
    }

    /// `checkSame` for each of `settings` at once (one exchange), naming the first that differs.
    package func checkSame(settings: [String: String]) throws {
        let encoded = settings.sorted { $0.key < $1.key }.map { "\($0.key)\u{1F}\($0.value)" }.joined(separator: "\u{1E}")
        let all = try allGather(Array(encoded.utf8)).map { bytes in
            Dictionary(
                String(decoding: bytes, as: UTF8.self).split(separator: "\u{1E}").map { entry in
                    let parts = entry.split(separator: "\u{1F}", maxSplits: 1, omittingEmptySubsequences: false)
                    return (String(parts[0]), parts.count > 1 ? String(parts[1]) : "")
                }, uniquingKeysWith: { $1 })
        }
        for (rank, values) in all.enumerated() {
            for name in Set(values.keys).union(all[0].keys).sorted() where values[name] != all[0][name] {
                throw LoomError.invalidArgument(
                    "the ranks disagree on \(name): rank 0 has \(all[0][name] ?? "none"), rank \(rank) has \(values[name] ?? "none"); "
                        + "every rank must run the same command on the same data")
            }
        }
    }

    /// Throws on every rank when any rank's `body` threw, naming that rank and its error;
    /// called at the same point on every rank, so that no rank is left waiting for one that
    /// failed (a missing file on one host).
    /// One process alone throws its own error as it is.
    package func failingTogether<T>(_ what: String, _ body: () throws -> T) throws -> T {
        guard size > 1 else { return try body() }
        var result: Result<T, Error>
        do { result = .success(try body()) } catch { result = .failure(error) }
        let failure: String
        if case let .failure(error) = result { failure = "\(error)" } else { failure = "" }
        let failures = try allGather(Array(failure.utf8)).map { String(decoding: $0, as: UTF8.self) }
        if let rank = failures.indices.first(where: { !failures[$0].isEmpty }) {
            throw LoomError.invalidArgument("rank \(rank) of \(size) could not \(what): \(failures[rank])")
        }
        return try result.get()
    }
}

/// One process alone: the default group.
final class SingleProcess: ProcessGroup {
    var rank: Int { 0 }
    var size: Int { 1 }
    var localRank: Int { 0 }
    var localSize: Int { 1 }

    /// The one piece, or the pieces completed here, into the totals.
    func sumShards(_ sum: ShardSum) {
        sum.complete(
            sum.tree.reduction(of: sum.pieces(ofRank: 0)), floats: sum.pieceFloats, headers: sum.pieceHeaders,
            count: sum.floats.count, into: 0)
    }

    func allGather(_ values: UnsafeMutableBufferPointer<Float>, parts: [Range<Int>]) {}

    func allGather(_ bytes: [UInt8]) -> [[UInt8]] { [bytes] }
}
