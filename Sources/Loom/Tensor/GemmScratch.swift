import Foundation

/// The memory `WideGemm` works in, one per thread, kept for the thread's life: the packed B
/// panel, and the untransposed copy of a transposed B (grown to the largest one the thread
/// has multiplied). A product thus allocates nothing, whichever worker thread runs it.
final class GemmScratch {
    let panel = FloatBuffer(count: WideGemm.depthBlock * 32)
    let untransposed = FloatBuffer()

    /// The calling thread's scratch, made on its first product (released when the thread ends).
    static var current: GemmScratch {
        if let existing = pthread_getspecific(key) {
            return Unmanaged<GemmScratch>.fromOpaque(existing).takeUnretainedValue()
        }
        let scratch = GemmScratch()
        pthread_setspecific(key, Unmanaged.passRetained(scratch).toOpaque())
        return scratch
    }

    private static let key: pthread_key_t = {
        var key = pthread_key_t()
        pthread_key_create(&key) { scratch in
            if let scratch { Unmanaged<GemmScratch>.fromOpaque(scratch).release() }
        }
        return key
    }()
}
