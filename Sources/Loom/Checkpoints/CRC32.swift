/// CRC-32 (the IEEE polynomial of zip and PNG, reflected, 0xEDB88320), fed in pieces.
struct CRC32 {
    private static let table: [UInt32] = (0..<256).map { index in
        var c = UInt32(index)
        for _ in 0..<8 { c = c & 1 != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
        return c
    }
    private var crc: UInt32 = 0xFFFF_FFFF

    /// The checksum of everything added so far.
    var value: UInt32 { crc ^ 0xFFFF_FFFF }

    mutating func add(_ bytes: [UInt8]) {
        for byte in bytes { crc = CRC32.table[Int((crc ^ UInt32(byte)) & 0xFF)] ^ (crc >> 8) }
    }

    /// Adds the eight bytes of `word`, least significant first.
    mutating func add(_ word: UInt64) {
        add(UInt32(truncatingIfNeeded: word))
        add(UInt32(truncatingIfNeeded: word >> 32))
    }

    /// Adds the four bytes of `word`, least significant first.
    mutating func add(_ word: UInt32) {
        var word = word
        for _ in 0..<4 {
            crc = CRC32.table[Int((crc ^ UInt32(word & 0xFF)) & 0xFF)] ^ (crc >> 8)
            word >>= 8
        }
    }
}
