/// A 64-byte-aligned, growable array of `Float` that a layer owns as a workspace.
///
/// Layers size their buffers once per batch size with `reserveDiscarding(_:)`; a training step
/// then reads and writes them through `pointer` with no allocation. Contents are not kept when
/// the buffer grows (unlike an array's `reserveCapacity`).
@_spi(Kernels) public final class FloatBuffer {
    /// The start of the storage; valid until the next `reserveDiscarding` that grows it.
    public private(set) var pointer: UnsafeMutablePointer<Float>
    /// How many floats `pointer` holds.
    public private(set) var capacity: Int

    /// An empty buffer, or one of `count` zeros.
    public init(count: Int = 0) {
        (pointer, capacity) = FloatBuffer.allocate(count)
        zero()
    }

    deinit { FloatBuffer.release(pointer, capacity: capacity) }

    /// Makes room for at least `count` floats, dropping the contents (zeros) when it must grow;
    /// returns the (possibly new) storage.
    @discardableResult
    public func reserveDiscarding(_ count: Int) -> UnsafeMutablePointer<Float> {
        if count > capacity {
            FloatBuffer.release(pointer, capacity: capacity)
            (pointer, capacity) = FloatBuffer.allocate(count)
            pointer.initialize(repeating: 0, count: capacity)
        }
        return pointer
    }

    /// Sets every element to zero.
    public func zero() { pointer.update(repeating: 0, count: capacity) }

    /// Storage for at least `count` floats (large ones reused from `WorkspacePool`), and how
    /// many it holds.
    private static func allocate(_ count: Int) -> (UnsafeMutablePointer<Float>, Int) {
        let bytes = max(count, 1) * MemoryLayout<Float>.stride
        let (start, size) =
            WorkspacePool.shared.take(bytes: bytes)
            ?? (UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: 64), bytes)
        let floats = size / MemoryLayout<Float>.stride
        return (start.bindMemory(to: Float.self, capacity: floats), count == 0 ? 0 : floats)
    }

    private static func release(_ pointer: UnsafeMutablePointer<Float>, capacity: Int) {
        let start = UnsafeMutableRawPointer(pointer)
        if !WorkspacePool.shared.give(start, bytes: max(capacity, 1) * MemoryLayout<Float>.stride) { start.deallocate() }
    }
}
