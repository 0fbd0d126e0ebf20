/// A 64-byte-aligned, growable array of `Float` that a layer owns as a workspace.
///
/// Layers size their buffers once per batch size with `reserve(_:)`; a training step then
/// reads and writes them through `pointer` with no allocation. Contents are not kept when the
/// buffer grows.
public final class FloatBuffer {
    /// The start of the storage; valid until the next `reserve` that grows it.
    public private(set) var pointer: UnsafeMutablePointer<Float>
    /// How many floats `pointer` holds.
    public private(set) var capacity: Int

    /// An empty buffer, or one of `count` zeros.
    public init(count: Int = 0) {
        capacity = 0
        pointer = FloatBuffer.allocate(0)
        reserve(count)
        zero()
    }

    deinit { pointer.deallocate() }

    /// Makes room for at least `count` floats; returns the (possibly new) storage.
    @discardableResult
    public func reserve(_ count: Int) -> UnsafeMutablePointer<Float> {
        if count > capacity {
            pointer.deallocate()
            pointer = FloatBuffer.allocate(count)
            capacity = count
            pointer.initialize(repeating: 0, count: count)
        }
        return pointer
    }

    /// Sets every element to zero.
    public func zero() { pointer.update(repeating: 0, count: capacity) }

    private static func allocate(_ count: Int) -> UnsafeMutablePointer<Float> {
        let raw = UnsafeMutableRawPointer.allocate(
            byteCount: max(count, 1) * MemoryLayout<Float>.stride, alignment: 64)
        return raw.bindMemory(to: Float.self, capacity: max(count, 1))
    }
}
