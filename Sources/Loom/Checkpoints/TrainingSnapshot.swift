/// Everything a training run needs to continue bit for bit from the end of a step: what
/// `TrainingRun.snapshot()` gives and `restore(_:)` takes, and what a checkpoint file holds.
///
/// Named arrays of four kinds (names use `.` as separator, never `/`):
///
/// - `floats`: `parameters` (the store's layout); `optimizer.<i>` (the optimizer's state
///   buffers); `state.<layer>.<store>.<batch size>.<component>` (carried recurrent state,
///   `(batch size, units)`); with parameter averaging `replica.<s>.parameters` and
///   `replica.<s>.optimizer.<i>`.
/// - `words`: `position` = [next epoch, next batch of that epoch, optimizer steps, local
///   steps since the last parameter average]; `generator` (the model's, as it was when that
///   epoch's order was drawn); `random.<layer>` and `replica.<s>.random.<layer>` (dropout
///   generators, `SeededGenerator.state` words); with gradient accumulation
///   `leaf.<leaf>.random.<randomized layer>` (each leaf's).
/// - `reals`: `learning_rate`; `totals` (the epoch's running loss and metric sums and its
///   sample count); `history.<key>` (one value per finished epoch); `callback.<type>.<n>`
///   (each callback's `checkpointState`).
/// - `texts`: `setting.<name>`, the run's settings that decide its bits (checked on resume).
public struct TrainingSnapshot: Equatable, Sendable {
    /// Float32 arrays by name.
    public var floats: [String: [Float]] = [:]
    /// 64-bit words by name.
    public var words: [String: [UInt64]] = [:]
    /// Float64 arrays by name.
    public var reals: [String: [Double]] = [:]
    /// Texts by name.
    public var texts: [String: String] = [:]

    /// An empty snapshot.
    public init() {}

    /// CRC-32 over every entry, kinds in the order above and names sorted, each as its
    /// name's UTF-8 bytes, its element count and its little-endian values: a checkpoint file
    /// stores it and a reader recomputes it, so a flipped byte is caught.
    public var checksum: UInt32 {
        var crc = CRC32()
        func entries<T>(_ kind: String, _ values: [String: [T]], _ body: (inout CRC32, [T]) -> Void) {
            for name in values.keys.sorted() {
                crc.add(Array((kind + ":" + name).utf8))
                let array = values[name]!
                crc.add(UInt64(array.count))
                body(&crc, array)
            }
        }
        entries("floats", floats) { crc, values in for value in values { crc.add(value.bitPattern) } }
        entries("words", words) { crc, values in for value in values { crc.add(value) } }
        entries("reals", reals) { crc, values in for value in values { crc.add(value.bitPattern) } }
        entries("texts", texts.mapValues { Array($0.utf8) }) { crc, bytes in crc.add(bytes) }
        return crc.value
    }

    /// The `floats` entry `name`, or an error naming what the snapshot lacks.
    func floats(_ name: String, count: Int? = nil) throws -> [Float] {
        guard let values = floats[name] else { throw TrainingSnapshot.missing(name) }
        if let count, values.count != count { throw TrainingSnapshot.wrongSize(name, values.count, count) }
        return values
    }

    /// The `words` entry `name`, or an error naming what the snapshot lacks; an entry of no
    /// words (`count` 0) may be absent (a layer that draws nothing, as GRU and SimpleRNN without
    /// dropout, whose checkpoints from before they had dropout hold no entry).
    func words(_ name: String, count: Int? = nil) throws -> [UInt64] {
        if count == 0 && words[name] == nil { return [] }
        guard let values = words[name] else { throw TrainingSnapshot.missing(name) }
        if let count, values.count != count { throw TrainingSnapshot.wrongSize(name, values.count, count) }
        return values
    }

    static func missing(_ name: String) -> LoomError {
        .invalidArgument("the checkpoint has no '\(name)': it was not written by this kind of run")
    }

    static func wrongSize(_ name: String, _ found: Int, _ expected: Int) -> LoomError {
        .invalidArgument("the checkpoint's '\(name)' holds \(found) values; this run needs \(expected)")
    }
}

extension Sequential {
    /// Replaces the weights with a checkpoint's (its `parameters`), to predict or evaluate
    /// with them; the rest of the run's state is for `TrainingRun.restore`.
    public func loadWeights(from snapshot: TrainingSnapshot) throws {
        try build()
        let values = try snapshot.floats(SnapshotKey.parameters, count: parameterCount)
        values.withUnsafeBufferPointer { parameterStore.values.pointer.update(from: $0.baseAddress!, count: $0.count) }
    }
}

extension TrainingSnapshot {
    /// The snapshot as bytes, for sending between processes: "LOOMSNAP", then each kind's
    /// entries (a count, then per entry its name's length and UTF-8, its element count and
    /// its little-endian values), kinds in the order floats, words, reals, texts.
    public func encoded() -> [UInt8] {
        var bytes = Array("LOOMSNAP".utf8)
        func word(_ value: UInt64) { withUnsafeBytes(of: value.littleEndian) { bytes += $0 } }
        func entries<T>(_ values: [String: [T]], _ element: (T) -> UInt64, width: Int) {
            word(UInt64(values.count))
            for name in values.keys.sorted() {
                let utf8 = Array(name.utf8)
                word(UInt64(utf8.count))
                bytes += utf8
                word(UInt64(values[name]!.count))
                for value in values[name]! {
                    withUnsafeBytes(of: element(value).littleEndian) { bytes += $0.prefix(width) }
                }
            }
        }
        entries(floats, { UInt64($0.bitPattern) }, width: 4)
        entries(words, { $0 }, width: 8)
        entries(reals, { $0.bitPattern }, width: 8)
        entries(texts.mapValues { Array($0.utf8) }, { UInt64($0) }, width: 1)
        return bytes
    }

    /// The snapshot `encoded()` gave; throws on any other bytes.
    public init(encoded bytes: [UInt8]) throws {
        var offset = 8
        let malformed = LoomError.invalidArgument("a snapshot received from another process is malformed")
        guard bytes.starts(with: Array("LOOMSNAP".utf8)) else { throw malformed }
        func value(width: Int) throws -> UInt64 {
            guard width <= bytes.count - offset else { throw malformed }
            var result: UInt64 = 0
            for k in 0..<width { result |= UInt64(bytes[offset + k]) << (8 * UInt64(k)) }
            offset += width
            return result
        }
        func entries<T>(width: Int, _ make: (UInt64) -> T) throws -> [String: [T]] {
            var result: [String: [T]] = [:]
            for _ in 0..<(try value(width: 8)) {
                guard let length = Int(exactly: try value(width: 8)), length <= bytes.count - offset else { throw malformed }
                let name = String(decoding: bytes[offset..<(offset + length)], as: UTF8.self)
                offset += length
                let count = try value(width: 8)
                guard count <= UInt64(bytes.count - offset) / UInt64(width) else { throw malformed }
                result[name] = try (0..<Int(count)).map { _ in make(try value(width: width)) }
            }
            return result
        }
        self.init()
        floats = try entries(width: 4) { Float(bitPattern: UInt32(truncatingIfNeeded: $0)) }
        words = try entries(width: 8) { $0 }
        reals = try entries(width: 8) { Double(bitPattern: $0) }
        texts = try entries(width: 1) { UInt8(truncatingIfNeeded: $0) }.mapValues { String(decoding: $0, as: UTF8.self) }
        guard offset == bytes.count else { throw malformed }
    }
}

extension Int {
    /// A count or index kept as a Float64 in a checkpoint (a callback's state): nil unless
    /// it is a whole number in 0...Int32.max, so a crafted value never traps a conversion.
    init?(checkpointCount value: Double) {
        guard value.isFinite, value >= 0, value <= Double(Int32.max), value == value.rounded() else { return nil }
        self.init(value)
    }
}
