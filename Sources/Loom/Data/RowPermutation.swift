/// A pseudo-random permutation of `0 ..< count`, keyed by one 64-bit draw and evaluated index
/// by index, so that an epoch's order takes no memory whatever the sample count.
///
/// A balanced Feistel network (six rounds of SplitMix64's mixer) permutes `0 ..< 4ʰ`, the
/// smallest power of four covering `count`; from index i it is applied again until the image
/// falls below `count` (cycle walking), which keeps it a bijection of `0 ..< count` and takes
/// under four applications on average.
struct RowPermutation {
    let count: Int
    /// h: the bits of each half of an index.
    private let halfBits: Int
    private let key: UInt64

    /// The permutation of `0 ..< count` (`count` ≥ 0) that `key` selects.
    init(count: Int, key: UInt64) {
        var halfBits = 0
        while halfBits < 32 && UInt64(1) << (2 * halfBits) < UInt64(count) { halfBits += 1 }
        self.count = count
        self.halfBits = halfBits
        self.key = key
    }

    /// The image of `index` (in `0 ..< count`).
    subscript(index: Int) -> Int {
        guard halfBits > 0 else { return index }
        var x = UInt64(index)
        repeat { x = encrypt(x) } while x >= UInt64(count)
        return Int(x)
    }

    /// One pass of the Feistel network over `0 ..< 4ʰ`.
    private func encrypt(_ x: UInt64) -> UInt64 {
        let mask = UInt64.max >> (64 - halfBits)
        var left = (x >> halfBits) & mask, right = x & mask
        for round in 0..<6 {
            let f = RowPermutation.mix(right ^ key ^ (UInt64(round) &* 0xD1B5_4A32_D192_ED03)) & mask
            (left, right) = (right, left ^ f)
        }
        return left << halfBits | right
    }

    /// SplitMix64's output function (also how keys are derived from keys).
    static func mix(_ value: UInt64) -> UInt64 {
        var z = value &+ 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
