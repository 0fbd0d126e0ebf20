/// Each sample's sequence length in a padded dataset, and the mask it gives the inputs.
///
/// Sample `i` holds `lengths[i]` valid steps of `timesteps`, its padding before them (`.pre`,
/// Keras's `pad_sequences` default) or after (`.post`). The mask `(samples, timesteps)` is 1
/// at the valid steps; the model's first layer receives it as if a `Masking` layer had made it
/// (see `MaskAwareLayer`).
public struct SequenceLengths: Sendable, Equatable {
    /// Where the padding of a sample lies.
    public enum Padding: String, Sendable, CaseIterable {
        /// Before the valid steps (Keras's `pad_sequences` default).
        case pre
        /// After them.
        case post
    }

    /// Each sample's valid steps, in 0...`timesteps` (0: all padding, as a row a `Masking`
    /// layer masks whole).
    public let lengths: [Int]
    /// The padded length of every sample.
    public let timesteps: Int
    /// Which side of the sequences the padding is on.
    public let padding: Padding

    /// Checks that every length is in 0...`timesteps`; `name` names the lengths in the error
    /// (a dataset's name), which gives the first bad sample.
    public init(lengths: [Int], timesteps: Int, padding: Padding = .pre, name: String = "lengths") throws {
        for (sample, length) in lengths.enumerated() where !(0...timesteps).contains(length) {
            throw LoomError.invalidArgument(
                "\(name) holds \(length) at sample \(sample); a length must be in 0...\(timesteps) (the timesteps)")
        }
        self.lengths = lengths
        self.timesteps = timesteps
        self.padding = padding
    }

    /// Writes the mask of `rows`, `(rows.count, timesteps)`, into `mask`.
    public func writeMask(rows: ArraySlice<Int>, into mask: UnsafeMutablePointer<Float>) {
        for (k, row) in rows.enumerated() {
            let length = lengths[row], first = padding == .pre ? timesteps - length : 0
            let line = mask + k * timesteps
            line.update(repeating: 0, count: timesteps)
            (line + first).update(repeating: 1, count: length)
        }
    }
}
