/// One round of a sum's messages: `start` posts them into the group's `requests` (the first
/// `requests` of them), and once those complete `finish` adds or copies what came.
struct SumRound {
    let requests: Int32
    /// What a rank waits for in this round, for a timeout's message.
    let what: String
    let start: () throws -> Void
    let finish: () -> Void
}
