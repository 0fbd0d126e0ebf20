/// Bytes of a message in flight, at an address that stays put while MPI reads or writes it:
/// grown (and moved) only while no message of it is in flight, and never freed as a whole
/// (after a timed-out wait MPI may still hold the address; the job then ends).
final class MessageBuffer {
    private(set) var bytes = UnsafeMutableRawPointer.allocate(byteCount: 64, alignment: 16)
    private var capacity = 64
    /// The bytes in use.
    private(set) var count = 0

    /// Empties the buffer, keeping at least `capacity` bytes of room.
    func reset(capacity wanted: Int = 0) {
        count = 0
        guard wanted > capacity else { return }
        bytes.deallocate()
        bytes = UnsafeMutableRawPointer.allocate(byteCount: wanted, alignment: 16)
        capacity = wanted
    }

    /// `byteCount` zero bytes to be received into.
    func resetZeroed(_ byteCount: Int) {
        reset(capacity: byteCount)
        bytes.initializeMemory(as: UInt8.self, repeating: 0, count: byteCount)
        count = byteCount
    }

    /// Appends `count` values from `source`.
    func append<T>(_ source: UnsafePointer<T>, count values: Int) {
        let added = values * MemoryLayout<T>.stride
        if count + added > capacity {
            let grown = UnsafeMutableRawPointer.allocate(byteCount: max(2 * capacity, count + added), alignment: 16)
            grown.copyMemory(from: bytes, byteCount: count)
            bytes.deallocate()
            bytes = grown
            capacity = max(2 * capacity, count + added)
        }
        (bytes + count).copyMemory(from: source, byteCount: added)
        count += added
    }

    /// The bytes in use.
    var contents: UnsafeMutableRawBufferPointer { UnsafeMutableRawBufferPointer(start: bytes, count: count) }
}
