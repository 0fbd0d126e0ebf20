import CHDF5
import Foundation

/// The one lock every HDF5 call in Loom holds, so that two threads (training and a
/// prefetch) are never inside libhdf5 at once whichever way it was built. It also silences
/// HDF5's own error printing, since Loom throws instead: in a thread-safe build that setting
/// is per thread, so it is made on every entry (silenced once, on one thread, the prefetch
/// thread's errors were printed as `HDF5-DIAG` lines).
enum HDF5Library {
    private static let lock = NSRecursiveLock()

    /// Runs `body` holding the HDF5 lock, with HDF5's error printing off on this thread.
    static func locked<T>(_ body: () throws -> T) rethrows -> T {
        lock.lock()
        defer { lock.unlock() }
        loom_h5_silence_errors()
        return try body()
    }
}
