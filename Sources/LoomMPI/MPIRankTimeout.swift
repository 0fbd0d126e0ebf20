/// A wait for other ranks that passed its limit (`MPIProcessGroup.waitLimit`): the ranks that
/// did not answer, what this rank waited for and how many updates every rank had finished.
/// The job cannot go on; its last checkpoint is intact and resumes.
public struct MPIRankTimeout: Error, CustomStringConvertible {
    /// The ranks that sent no notice in the grace period after the limit (all others when
    /// this rank was cut off from every one).
    public let silentRanks: [Int]
    /// The limit, in seconds.
    public let seconds: Double
    /// What this rank waited for ("the exchange with rank 3").
    public let wait: String
    /// The training updates every rank had finished (0 before the first, and in evaluation
    /// or prediction).
    public let updatesFinished: Int

    /// One line: who did not answer, for how long, and where.
    public var description: String {
        let names = silentRanks.map(String.init).joined(separator: ", ")
        let who = silentRanks.count == 1 ? "rank \(names) did not answer" : "ranks \(names) did not answer"
        let when = updatesFinished > 0 ? ", after update \(updatesFinished)" : ""
        return "\(silentRanks.isEmpty ? "another rank did not answer" : who) within \(Self.format(seconds)) s "
            + "(waiting for \(wait)\(when)); the job ends (a checkpoint it wrote resumes with --resume)"
    }

    /// Seconds as a message gives them: whole, else to a tenth.
    public static func format(_ seconds: Double) -> String {
        seconds == seconds.rounded() ? String(Int(seconds)) : String(format: "%.1f", seconds)
    }
}
