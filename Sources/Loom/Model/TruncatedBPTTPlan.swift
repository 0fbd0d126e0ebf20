/// The chunks of a truncated-BPTT fit: `length` steps a chunk of `timesteps`
/// (`Sequential+TruncatedBPTT.swift`).
struct TruncatedBPTTPlan {
    let length: Int
    let timesteps: Int
    /// The value the first layer reads as padding, for the masked end of a short chunk.
    let fill: Float

    /// The timesteps of each chunk, in order.
    var chunks: [Range<Int>] {
        stride(from: 0, to: timesteps, by: length).map { $0..<min($0 + length, timesteps) }
    }
}
