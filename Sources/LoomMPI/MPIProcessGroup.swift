import CMPI
import Foundation
import Loom

/// The ranks `mpirun` started, as a `ProcessGroup` for `fit`, `evaluate` and `predict`: every
/// byte between processes goes through Open MPI's point-to-point and collective calls on
/// `MPI_COMM_WORLD`.
///
/// MPI is initialised with `MPI_THREAD_FUNNELED`: only the thread that called `join` (the
/// training engine's worker 0, the caller of `fit`) makes MPI calls. Errors come back as
/// values (`MPI_ERRORS_RETURN`) and are thrown as `MPIError`.
public final class MPIProcessGroup: ProcessGroup, @unchecked Sendable {
    /// This process's rank in `MPI_COMM_WORLD`.
    public let rank: Int
    /// The number of ranks.
    public let size: Int
    /// This rank's index on its host (`OMPI_COMM_WORLD_LOCAL_RANK`, 0 when unset).
    public let localRank: Int
    /// The ranks on this host (`OMPI_COMM_WORLD_LOCAL_SIZE`, 1 when unset).
    public let localSize: Int
    private let world = loom_mpi_comm_world()

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
        return MPIProcessGroup(
            rank: Int(rank), size: Int(size),
            localRank: environment["OMPI_COMM_WORLD_LOCAL_RANK"].flatMap(Int.init) ?? 0,
            localSize: environment["OMPI_COMM_WORLD_LOCAL_SIZE"].flatMap(Int.init) ?? 1)
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

    /// Values of `floats` per message: chunks small enough that the next rank folds one while
    /// the following one is on its way, large enough that a message's fixed cost stays small.
    public static let chunkSize = 4_096

    /// The running sums along the ranks in order and the totals back down (see
    /// `ProcessGroup.sumAlongRanks`): blocking point-to-point messages between neighbours,
    /// chunk by chunk, so a chunk moves on while the next is folded.
    public func sumAlongRanks(
        floats: UnsafeMutableBufferPointer<Float>, doubles: UnsafeMutableBufferPointer<Double>,
        addDoubles: () -> Void, addFloats: (Range<Int>) -> Void
    ) throws {
        let up = rank + 1 < size ? Int32(rank + 1) : nil, down = rank > 0 ? Int32(rank - 1) : nil
        let chunks = stride(from: 0, to: floats.count, by: Self.chunkSize).map { $0..<min($0 + Self.chunkSize, floats.count) }
        if let down {
            try receive(doubles, from: down, tag: Self.upTag)
        } else {
            doubles.update(repeating: 0)
        }
        addDoubles()
        if let up { try send(UnsafeBufferPointer(doubles), to: up, tag: Self.upTag) }
        for range in chunks {
            let chunk = UnsafeMutableBufferPointer(rebasing: floats[range])
            if let down {
                try receive(chunk, from: down, tag: Self.upTag)
            } else {
                chunk.update(repeating: 0)
            }
            addFloats(range)
            if let up { try send(UnsafeBufferPointer(chunk), to: up, tag: Self.upTag) }
        }
        // The last rank holds the totals: they travel back down, chunk by chunk.
        if let up { try receive(doubles, from: up, tag: Self.downTag) }
        if let down { try send(UnsafeBufferPointer(doubles), to: down, tag: Self.downTag) }
        for range in chunks {
            let chunk = UnsafeMutableBufferPointer(rebasing: floats[range])
            if let up { try receive(chunk, from: up, tag: Self.downTag) }
            if let down { try send(UnsafeBufferPointer(chunk), to: down, tag: Self.downTag) }
        }
    }

    /// The tags of the sums going up the ranks and of the totals coming down.
    private static let upTag: Int32 = 7, downTag: Int32 = 8

    private func receive<T: MPIElement>(_ values: UnsafeMutableBufferPointer<T>, from source: Int32, tag: Int32) throws {
        guard values.count > 0 else { return }
        try Self.check(
            MPI_Recv(values.baseAddress, Int32(values.count), T.mpiType, source, tag, world, loom_mpi_status_ignore()),
            "MPI_Recv")
    }

    private func send<T: MPIElement>(_ values: UnsafeBufferPointer<T>, to destination: Int32, tag: Int32) throws {
        guard values.count > 0 else { return }
        try Self.check(MPI_Send(values.baseAddress, Int32(values.count), T.mpiType, destination, tag, world), "MPI_Send")
    }

    /// Every rank's bytes, in rank order (`MPI_Allgather` of the lengths, then `MPI_Allgatherv`).
    public func allGather(_ bytes: [UInt8]) throws -> [[UInt8]] {
        var length = Int32(bytes.count)
        var lengths = [Int32](repeating: 0, count: size)
        try Self.check(MPI_Allgather(&length, 1, loom_mpi_int(), &lengths, 1, loom_mpi_int(), world), "MPI_Allgather")
        var offsets = [Int32](repeating: 0, count: size)
        for index in 1..<max(size, 1) { offsets[index] = offsets[index - 1] + lengths[index - 1] }
        var all = [UInt8](repeating: 0, count: Int(lengths.reduce(0, +)))
        try bytes.withUnsafeBufferPointer { own in
            try Self.check(
                MPI_Allgatherv(own.baseAddress, length, loom_mpi_byte(), &all, lengths, offsets, loom_mpi_byte(), world),
                "MPI_Allgatherv")
        }
        return (0..<size).map { Array(all[Int(offsets[$0])..<Int(offsets[$0] + lengths[$0])]) }
    }

    private static func check(_ status: Int32, _ call: String) throws {
        guard status != loom_mpi_success() else { return }
        var text = [CChar](repeating: 0, count: Int(loom_mpi_max_error_string()) + 1)
        var length: Int32 = 0
        MPI_Error_string(status, &text, &length)
        let bytes = text.prefix(Int(length)).map { UInt8(bitPattern: $0) }
        throw MPIError(call: call, message: String(decoding: bytes, as: UTF8.self))
    }
}

/// A value type MPI sends as it is.
protocol MPIElement {
    /// Its MPI datatype.
    static var mpiType: MPI_Datatype { get }
}

extension Float: MPIElement {
    static var mpiType: MPI_Datatype { loom_mpi_float() }
}

extension Double: MPIElement {
    static var mpiType: MPI_Datatype { loom_mpi_double() }
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
