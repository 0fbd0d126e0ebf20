import Foundation
import Loom

/// The claim of one run on a checkpoint folder: an exclusive `flock` on the file `loom.lock`
/// in the folder, held while the lock exists and released by the kernel when its process
/// dies, so a dead run's lock is taken over at once. The file says who holds it,
/// `pid@host started DATE`, for the message that refuses a second run.
public final class CheckpointFolderLock {
    /// The lock file's name inside the folder.
    public static let fileName = "loom.lock"

    private let descriptor: Int32

    /// Takes the lock on `folder`, or refuses naming the run that holds it.
    public init(folder: String) throws {
        let path = (folder as NSString).appendingPathComponent(CheckpointFolderLock.fileName)
        let descriptor = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0o644)
        guard descriptor >= 0 else {
            throw LoomError.invalidArgument(
                "checkpoints: cannot open the lock file \(path) (\(String(cString: strerror(errno))))")
        }
        guard flock(descriptor, LOCK_EX | LOCK_NB) == 0 else {
            let holder = (try? String(contentsOfFile: path, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines)
            close(descriptor)
            let ownProcess = holder?.hasPrefix("\(getpid())@") == true ? ", this process: another BackupAndRestore holds it" : ""
            throw LoomError.invalidArgument(
                "checkpoints: \(folder) is in use by another run (\(holder.map { $0.isEmpty ? "unknown" : $0 } ?? "unknown")"
                    + "\(ownProcess)); a checkpoint folder belongs to one run at a time: wait for it to end or choose another folder")
        }
        self.descriptor = descriptor
        let started = ISO8601DateFormatter().string(from: Date())
        let text = Array("\(getpid())@\(ProcessInfo.processInfo.hostName) started \(started)\n".utf8)
        if ftruncate(descriptor, 0) == 0 { _ = text.withUnsafeBytes { pwrite(descriptor, $0.baseAddress, $0.count, 0) } }
    }

    deinit { close(descriptor) }
}
