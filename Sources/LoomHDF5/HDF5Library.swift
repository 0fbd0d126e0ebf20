import CHDF5
import Foundation

/// The one lock every HDF5 call in Loom holds: Debian's libhdf5 is built without its
/// thread-safety option, so two threads (training and a prefetch) must never be inside it
/// at once. It also silences HDF5's own error printing, once, since Loom throws instead.
enum HDF5Library {
    private static let lock: NSRecursiveLock = {
        let lock = NSRecursiveLock()
        loom_h5_silence_errors()
        return lock
    }()

    /// Runs `body` holding the HDF5 lock.
    static func locked<T>(_ body: () throws -> T) rethrows -> T {
        lock.lock()
        defer { lock.unlock() }
        return try body()
    }
}
