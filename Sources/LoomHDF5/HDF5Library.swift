import CHDF5
import Foundation

/// The one lock every HDF5 call in Loom holds, so that two threads (training and a
/// prefetch) are never inside libhdf5 at once whichever way it was built. It also silences
/// HDF5's own error printing, since Loom throws instead: in a thread-safe build that setting
/// is per thread, so it is made on every entry (silenced once, on one thread, the prefetch
/// thread's errors were printed as `HDF5-DIAG` lines).
///
/// libhdf5's exit-time teardown is turned off (`H5dont_atexit`, before its first call): it
/// closes every file still open, and crashes on one whose writes failed (a full disk),
/// turning a clean error into a segmentation fault after it was printed. Every file Loom
/// writes is closed when its `HDF5File` goes away, before the process exits.
enum HDF5Library {
    private static let lock = NSRecursiveLock()
    private static let withoutExitTeardown: Void = { _ = H5dont_atexit() }()

    /// Runs `body` holding the HDF5 lock, with HDF5's error printing off on this thread.
    static func locked<T>(_ body: () throws -> T) rethrows -> T {
        lock.lock()
        defer { lock.unlock() }
        withoutExitTeardown
        loom_h5_silence_errors()
        return try body()
    }
}
