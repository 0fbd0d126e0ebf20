import CMPI
import Foundation
@_spi(Ranks) import Loom

/// Bounded waits: every message between ranks is started nonblocking and polled here until it
/// completes or `waitLimit` passes. Then this rank tells every other rank it still answers and
/// listens for theirs for a short while: the ranks not heard from are the ones that stopped
/// (a stopped or swapped-out process, a host behind a cut link), and `MPIRankTimeout` names
/// them. Every rank that still runs reaches its own limit within about one step of the
/// others (they wait in the same exchange), so each hears the others' notices and names
/// the same ranks; a rank cut off from all others names all others.
extension MPIProcessGroup {
    /// The longest a wait may last now, in seconds: `rankTimeout`, else max(60 s, 20 × the
    /// longest step so far).
    public var waitLimit: Double { rankTimeout ?? max(60, 20 * longestStep) }

    /// Notes that `count` updates are finished and a step begins (the step's length is
    /// measured from here to the next call).
    @_spi(Ranks) public func noteUpdatesFinished(_ count: Int) {
        let now = DispatchTime.now()
        if let stepStart { longestStep = max(longestStep, now.seconds(since: stepStart)) }
        stepStart = now
        updatesFinished = count
    }

    /// Polls the first `count` of `requests` until all complete (`waitUntil`). A sum still in
    /// flight (after a failed step) holds the same requests: an error, not a wait.
    func complete(_ count: Int, _ what: @autoclosure () -> String) throws {
        guard round == rounds.count && waitingSums.isEmpty else {
            throw MPIError(call: "MPI_Testall", message: "\(what()) cannot start while a sum of the last step is in flight")
        }
        try waitUntil(what()) {
            var done: Int32 = 0
            try Self.check(MPI_Testall(Int32(count), requests, &done, loom_mpi_statuses_ignore()), "MPI_Testall")
            return done != 0
        }
    }

    /// Polls `done` until it returns true, for at most `waitLimit`; then throws
    /// `MPIRankTimeout` naming the ranks that no longer answer. `what` names the wait in that
    /// error. A short spin first, then sleeps of 50 µs between polls. After a throw the
    /// requests stay pending (MPI cannot cancel a collective), their buffers possibly still
    /// read or written: the job must end (`abort`), as the command line does.
    func waitUntil(_ what: @autoclosure () -> String, _ done: () throws -> Bool) throws {
        let start = DispatchTime.now(), limit = waitLimit
        var polls = 0
        while true {
            if try done() { return }
            polls += 1
            guard polls % 1024 != 0 || start.secondsElapsed < limit else {
                throw MPIRankTimeout(
                    silentRanks: silentRanks(), seconds: limit, wait: what(), updatesFinished: updatesFinished)
            }
            if polls > 20_000 { usleep(50) }
        }
    }

    /// The ranks that do not answer: this rank's notice goes to every other rank, and theirs
    /// are collected for a grace period long enough for every running rank to reach its own
    /// limit, which comes within about a step of this one's: two of the longest steps, at
    /// least 2 s, at most a quarter of the limit (past 2 s).
    private func silentRanks() -> [Int] {
        notices[0] = Int64(updatesFinished)
        var sent = [MPI_Request?](repeating: loom_mpi_request_null(), count: size)
        for peer in 0..<size where peer != rank {
            _ = MPI_Isend(notices, 1, loom_mpi_int64(), Int32(peer), Self.noticeTag, world, &sent[peer])
        }
        var heard: Set<Int> = [rank]
        let start = DispatchTime.now(), grace = max(2, min(2 * longestStep, waitLimit / 4))
        var receiving: MPI_Request? = loom_mpi_request_null()
        guard MPI_Irecv(notices + 1, 1, loom_mpi_int64(), loom_mpi_any_source(), Self.noticeTag, world, &receiving) == loom_mpi_success()
        else { return (0..<size).filter { $0 != rank } }
        var status = MPI_Status()
        while heard.count < size && start.secondsElapsed < grace {
            var arrived: Int32 = 0
            guard MPI_Test(&receiving, &arrived, &status) == loom_mpi_success() else { break }
            if arrived != 0 {
                heard.insert(Int(status.MPI_SOURCE))
                guard
                    MPI_Irecv(notices + 1, 1, loom_mpi_int64(), loom_mpi_any_source(), Self.noticeTag, world, &receiving)
                        == loom_mpi_success()
                else { break }
            } else {
                usleep(1000)
            }
        }
        return (0..<size).filter { !heard.contains($0) }
    }

    /// The tag of the notices `silentRanks` exchanges (the sums use `tag`).
    private static let noticeTag: Int32 = 9

    /// `body` with stable pointers to four arrays of counts and offsets (a nonblocking
    /// collective reads them until it completes).
    func withStable<T>(
        _ a: [Int32], _ b: [Int32], _ c: [Int32], _ d: [Int32],
        _ body: (UnsafePointer<Int32>?, UnsafePointer<Int32>?, UnsafePointer<Int32>?, UnsafePointer<Int32>?) throws -> T
    ) rethrows -> T {
        try a.withUnsafeBufferPointer { a in
            try b.withUnsafeBufferPointer { b in
                try c.withUnsafeBufferPointer { c in
                    try d.withUnsafeBufferPointer { d in try body(a.baseAddress, b.baseAddress, c.baseAddress, d.baseAddress) }
                }
            }
        }
    }
}
