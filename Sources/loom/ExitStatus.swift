import ArgumentParser
import Foundation
import Loom
import LoomHDF5
import LoomKeras
import LoomMPI

/// The exit statuses of every `loom` command (the README and `loom --help` list them), and
/// `MPI_Abort`'s under `mpirun`, so that a job script can tell what to do next.
enum ExitStatus {
    /// Success.
    static let success: Int32 = 0
    /// A user or data error: a missing or broken file, data of the wrong shape, a model that
    /// does not fit the data, a run that diverged (one line on standard error).
    static let failure: Int32 = 1
    /// A command line that cannot run: an unknown option, a bad value (EX_USAGE).
    static let usage: Int32 = 64
    /// Under `mpirun`: another rank was lost (EX_UNAVAILABLE); the last checkpoint resumes.
    static let rankLost: Int32 = 69
    /// Under `mpirun`: a rank did not answer within `--rank-timeout` (as `timeout(1)`); every
    /// rank that still runs ends, and the last checkpoint resumes.
    static let rankTimeout: Int32 = 124
    /// An error Loom did not expect: a bug to report (EX_SOFTWARE).
    static let internalError: Int32 = 70
    /// Stopped by a signal, with a checkpoint to continue from with `--resume` (EX_TEMPFAIL).
    static let resumable: Int32 = StopRequest.exitStatus
    /// Stopped by a signal with nothing to resume (its outputs hold the last finished step).
    static let interrupted: Int32 = StopRequest.interruptedStatus

    /// The lines `loom --help` prints.
    static let summary = """
        Exit status: \(success) success; \(failure) a user or data error (one line on standard error); \
        \(usage) a command line that cannot run (usage and one line); \(rankLost) under mpirun, another \
        rank lost; \(rankTimeout) under mpirun, a rank not answering within --rank-timeout; \(internalError) \
        an internal error (please report it); \(resumable) stopped by a signal with a checkpoint to \
        resume; \(interrupted) stopped by a signal with nothing to resume.
        """

    /// The status of a command that ended with `error`, and whether Loom chose it (else the
    /// argument parser's own, for usage errors and `ExitCode`).
    static func of(_ error: Error, command: LoomCommand.Type) -> (status: Int32, chosen: Bool) {
        if error is MPIRankTimeout { return (rankTimeout, true) }
        if error is MPIError { return (rankLost, true) }
        let parsed = command.exitCode(for: error).rawValue
        // The argument parser's own status (usage, help, ExitCode), or one of the errors that
        // say what a file, the data or the model is wrong in: a user or data error.
        let known =
            error is ExitCode || error is LoomError || error is HDF5Error || error is KerasFileError || error is CocoaError
            || error is POSIXError || error is DecodingError
        return parsed != failure || known ? (parsed, false) : (internalError, true)
    }

    /// Ends the process for `error`: its message on standard error, its status.
    static func exit(_ command: LoomCommand.Type, for error: Error) -> Never {
        let (status, chosen) = of(error, command: command)
        guard chosen else { command.exit(withError: error) }
        let prefix = status == internalError ? "Internal error (please report it): " : "Error: "
        FileHandle.standardError.write(Data((prefix + command.message(for: error) + "\n").utf8))
        Foundation.exit(status)
    }
}
