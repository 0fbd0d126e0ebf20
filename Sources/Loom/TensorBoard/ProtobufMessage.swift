/// The few protocol-buffer encodings an event file needs, appended field by field: a field
/// is its number and wire type as a varint key, then the value (varint; little-endian 64 or
/// 32 bits; or a length-prefixed run of bytes for strings and nested messages).
struct ProtobufMessage {
    private(set) var bytes: [UInt8] = []

    private mutating func key(_ field: Int, _ wireType: UInt64) { appendVarint(UInt64(field) << 3 | wireType) }

    private mutating func appendVarint(_ value: UInt64) {
        var value = value
        while value >= 0x80 {
            bytes.append(UInt8(value & 0x7F) | 0x80)
            value >>= 7
        }
        bytes.append(UInt8(value))
    }

    /// A varint field (int64, uint64, bool).
    mutating func varint(_ field: Int, _ value: UInt64) {
        key(field, 0)
        appendVarint(value)
    }

    /// A `double` field.
    mutating func double(_ field: Int, _ value: Double) {
        key(field, 1)
        withUnsafeBytes(of: value.bitPattern.littleEndian) { bytes += $0 }
    }

    /// A `float` field.
    mutating func float(_ field: Int, _ value: Float) {
        key(field, 5)
        withUnsafeBytes(of: value.bitPattern.littleEndian) { bytes += $0 }
    }

    /// A `string` field (UTF-8).
    mutating func string(_ field: Int, _ value: String) {
        key(field, 2)
        appendVarint(UInt64(value.utf8.count))
        bytes += value.utf8
    }

    /// A nested message.
    mutating func message(_ field: Int, _ value: ProtobufMessage) {
        key(field, 2)
        appendVarint(UInt64(value.bytes.count))
        bytes += value.bytes
    }
}
