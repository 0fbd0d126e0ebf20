import ArgumentParser
import Foundation
@_spi(Ranks) import Loom
import LoomMPI

/// The processes this `loom` belongs to: under `mpirun`, Open MPI's ranks (joined before the
/// command runs); otherwise this process alone.
enum Job {
    /// The ranks, when `mpirun` started this process.
    nonisolated(unsafe) static var group: MPIProcessGroup?

    /// This process's rank (0 alone).
    static var rank: Int { group?.rank ?? 0 }

    /// For the lowest rank on each host, the other ranks on it (`MPIProcessGroup.hostPeers`),
    /// found at start-up: it waits for them to exit at the end.
    nonisolated(unsafe) private static var hostPeers: [(rank: Int, process: Int32)] = []

    /// Whether this process writes files and prints (rank 0 does; the others stay silent).
    static var writesOutput: Bool { rank == 0 }

    /// `body`'s result; under `mpirun`, every rank learns whether any rank's `body` threw and
    /// all throw then, naming the rank (see `ProcessGroup.failingTogether`).
    static func failingTogether<T>(_ what: String, _ body: () throws -> T) throws -> T {
        guard let group else { return try body() }
        return try group.failingTogether(what, body)
    }

    /// Runs the command line as a rank of an `mpirun` job: the ranks first agree that they
    /// run the same command (an MPMD launch with other options or data is refused by name,
    /// on every rank); an error on any rank prints its message, prefixed with the rank, and
    /// ends every rank (`MPI_Abort`) so that none is left waiting.
    static func runUnderMPIRun(_ command: LoomCommand.Type) -> Never {
        let settings = options(CommandLine.arguments)
        // Bounds the start-up and the first exchanges too (the option is checked again, and
        // refused when malformed, as the command line is parsed).
        let rankTimeout = settings["--rank-timeout"].flatMap(Double.init).flatMap { RankOptions.isValid($0) ? $0 : nil }
        let group: MPIProcessGroup
        do {
            group = try MPIProcessGroup.join(within: max(rankTimeout ?? 60, MPIProcessGroup.finishSeconds)) { limit in
                let environment = ProcessInfo.processInfo.environment
                let rank = "rank \(environment["OMPI_COMM_WORLD_RANK"] ?? "?") of \(environment["OMPI_COMM_WORLD_SIZE"] ?? "?")"
                FileHandle.standardError.write(
                    Data(
                        ("\(rank): Error: the job's start-up (MPI_Init) did not end within \(MPIRankTimeout.format(limit)) s: a rank "
                            + "did not join (stopped or lost before the job began); the job ends\n").utf8))
                _exit(ExitStatus.rankTimeout)
            }
        } catch { command.exit(withError: error) }
        Job.group = group
        group.rankTimeout = rankTimeout
        do {
            try group.checkSame(settings: settings)
            hostPeers = try group.hostPeers()
            var parsed = try command.parseAsRoot()
            try parsed.run()
            end(group, status: 0, command)
        } catch {
            let status = ExitStatus.of(error, command: command).status
            let message = command.fullMessage(for: error)
            if [StopRequest.exitStatus, StopRequest.interruptedStatus].contains(status) {
                // Every rank stopped in the same step (a signal reaches them all through the step).
                if group.rank == 0 { print(message) }
                end(group, status: status, command)
            }
            if !message.isEmpty {
                FileHandle.standardError.write(Data("rank \(group.rank) of \(group.size): \(message)\n".utf8))
            }
            if status == 0 { end(group, status: 0, command) }
            group.abort(status: status)
        }
    }

    /// Ends this rank with `status` once every rank has reached its end (a wait bounded by
    /// `--rank-timeout`), or, when one has not, says which and ends the job with the timeout's
    /// status. A rank stopped after its part of that last barrier holds the others in
    /// `MPI_Finalize`: past the same limit they end with the timeout's status too, their
    /// files already written; so does a host's lowest rank when, after `MPI_Finalize`, one of
    /// its host's ranks has not exited (stopped after its own part of it).
    private static func end(_ group: MPIProcessGroup, status: Int32, _ command: LoomCommand.Type) -> Never {
        do {
            try group.barrier("the end of the run: every rank's last step and rank 0's last writes")
        } catch {
            FileHandle.standardError.write(Data("rank \(group.rank) of \(group.size): \(command.fullMessage(for: error))\n".utf8))
            group.abort(status: ExitStatus.of(error, command: command).status)
        }
        fflush(nil)  // every C stream: what rank 0 printed must not be lost to `_exit` below
        let rank = "rank \(group.rank) of \(group.size)"
        group.finish { limit in
            FileHandle.standardError.write(
                Data(
                    ("\(rank): Error: another rank did not end within \(MPIRankTimeout.format(limit)) s of the run's end (every rank had "
                        + "reached it; MPI_Finalize waits for them all); the job ends, its files written\n").utf8))
            _exit(ExitStatus.rankTimeout)
        }
        // A rank of this host stopped after its part of MPI_Finalize would hold mpirun for ever;
        // this rank's error status makes mpirun end it.
        let left = group.awaitExit(of: hostPeers)
        if !left.isEmpty {
            let named = left.map { "rank \($0.rank) (process \($0.process))" }.joined(separator: ", ")
            FileHandle.standardError.write(
                Data(
                    ("\(rank): Error: \(named) did not exit within \(MPIRankTimeout.format(max(group.waitLimit, MPIProcessGroup.finishSeconds))) s "
                        + "of the run's end; the job ends, its files written\n").utf8))
            _exit(ExitStatus.rankTimeout)
        }
        exit(status)
    }

    /// A command line's options by name ("--data" → its value, a flag → "set"), and its
    /// positional arguments by position, for comparing ranks.
    private static func options(_ arguments: [String]) -> [String: String] {
        var result: [String: String] = [:]
        var index = 1, position = 0
        while index < arguments.count {
            let argument = arguments[index]
            if argument.hasPrefix("--") {
                if let equals = argument.firstIndex(of: "=") {
                    result[String(argument[..<equals])] = String(argument[argument.index(after: equals)...])
                } else if index + 1 < arguments.count, !arguments[index + 1].hasPrefix("--") {
                    result[argument] = arguments[index + 1]
                    index += 1
                } else {
                    result[argument] = "set"
                }
            } else {
                result["argument \(position + 1)"] = argument
                position += 1
            }
            index += 1
        }
        return result
    }
}
