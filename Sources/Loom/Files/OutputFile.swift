import Foundation

/// A file Loom writes (a model, predictions, an import, a history), checked before any work
/// and replaced only once it is whole.
///
/// `init` refuses, by name and before hours of training: a missing or unwritable folder, a
/// folder where the file should be, and a target that is one of the run's inputs (compared by
/// device and inode, so another spelling of the same path is caught). `write` puts the
/// content under a temporary name beside the target (`.NAME.loom-tmp-PID-HOST`), flushes it,
/// renames it over the target in one step and flushes the folder: a crash, a kill or a full
/// disk leaves the previous file as it was. Temporary files that a killed run left behind
/// are removed by the next write into the same folder (those of a live process on this host
/// are spared).
public struct OutputFile: Sendable {
    /// The target, as given.
    public let path: String
    /// What the file is, for messages ("--save", "the predictions").
    public let role: String

    private var url: URL { URL(fileURLWithPath: path) }
    private var folder: URL { url.deletingLastPathComponent() }

    /// Checks that `path` can be written and is none of `inputs` (paths that may not exist).
    public init(_ path: String, role: String, inputs: [String] = []) throws {
        self.path = path
        self.role = role
        var isFolder: ObjCBool = false
        guard !path.isEmpty, !path.hasSuffix("/") else {
            throw LoomError.invalidArgument("\(role): '\(path)' names a folder; give a file name")
        }
        if FileManager.default.fileExists(atPath: path, isDirectory: &isFolder), isFolder.boolValue {
            throw LoomError.invalidArgument("\(role): '\(path)' is a folder; give a file name")
        }
        let folderPath = folder.path
        guard FileManager.default.fileExists(atPath: folderPath, isDirectory: &isFolder), isFolder.boolValue else {
            throw LoomError.invalidArgument("\(role): the folder \(folderPath) does not exist (Loom creates no folders)")
        }
        guard access(folderPath, W_OK | X_OK) == 0 else {
            throw LoomError.invalidArgument("\(role): cannot write in \(folderPath) (\(String(cString: strerror(errno))))")
        }
        if let target = OutputFile.identity(of: path) {
            for input in inputs where OutputFile.identity(of: input) == target {
                throw LoomError.invalidArgument(
                    "\(role): '\(path)' is also an input ('\(input)'); writing it would destroy what the run reads")
            }
        }
    }

    /// Writes the file: `body` writes the whole content at the temporary URL it is given;
    /// then the file is flushed and renamed over the target. If `body` throws, the target is
    /// untouched and the temporary file removed; an error that names the temporary file (a
    /// full disk) is rethrown naming the target.
    public func write(_ body: (URL) throws -> Void) throws {
        OutputFile.removeStaleTemporaries(in: folder)
        let temporary = folder.appendingPathComponent(
            ".\(url.lastPathComponent).\(OutputFile.temporaryMarker)\(getpid())-\(OutputFile.hostName)")
        do {
            try body(temporary)
            try OutputFile.flush(temporary.path)
            guard rename(temporary.path, path) == 0 else {
                throw LoomError.invalidArgument("\(role): cannot replace \(path) (\(String(cString: strerror(errno))))")
            }
        } catch {
            try? FileManager.default.removeItem(at: temporary)
            // An error writing the temporary file (a full disk) is told as one writing the target.
            let description = "\(error)"
            guard description.contains(temporary.path) else { throw error }
            let existed = FileManager.default.fileExists(atPath: path)
            throw LoomError.invalidArgument(
                "\(role): cannot write \(path) ("
                    + description.replacingOccurrences(of: "\(temporary.path), ", with: "")
                    .replacingOccurrences(of: "\(temporary.path): ", with: "").replacingOccurrences(of: temporary.path, with: path)
                    + (existed ? "); the file there is left as it was" : ")"))
        }
        try? OutputFile.flush(folder.path)
    }

    /// Writes `data` as the whole file.
    public func write(_ data: Data) throws {
        try write { temporary in
            do {
                try data.write(to: temporary)
            } catch {
                throw LoomError.invalidArgument("\(role): cannot write \(path) (\(error.localizedDescription))")
            }
        }
    }

    /// A path in `folder` for a temporary file or folder of this process named after `base`
    /// (unique within the process when `base` is), which a later run removes if this process
    /// dies before it does; first removes those of dead processes (`removeStaleTemporaries`).
    public static func temporaryURL(in folder: URL, for base: String) -> URL {
        removeStaleTemporaries(in: folder)
        return folder.appendingPathComponent(".\(base).\(temporaryMarker)\(getpid())-\(hostName)")
    }

    // MARK: helpers

    static let temporaryMarker = "loom-tmp-"

    private static let hostName: String = {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count) == 0 else { return "host" }
        let name = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return name.filter { $0.isLetter || $0.isNumber || $0 == "-" }
    }()

    /// The device and inode of an existing file, nil when there is none.
    private static func identity(of path: String) -> [UInt64]? {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        return [UInt64(info.st_dev), UInt64(info.st_ino)]
    }

    /// fsync of a file or folder.
    private static func flush(_ path: String) throws {
        let descriptor = open(path, O_RDONLY)
        guard descriptor >= 0 else { throw LoomError.invalidArgument("cannot open \(path) to flush it") }
        defer { close(descriptor) }
        guard fsync(descriptor) == 0 else {
            throw LoomError.invalidArgument("cannot flush \(path) to disk (\(String(cString: strerror(errno))))")
        }
    }

    /// Removes `.NAME.loom-tmp-PID-HOST` files (and folders) of this host whose process is gone.
    public static func removeStaleTemporaries(in folder: URL) {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: folder.path) else { return }
        for name in names where name.hasPrefix(".") {
            guard let marker = name.range(of: temporaryMarker, options: .backwards) else { continue }
            let owner = name[marker.upperBound...].split(separator: "-", maxSplits: 1)
            guard owner.count == 2, let pid = Int32(owner[0]), String(owner[1]) == hostName else { continue }
            // kill(pid, 0) fails with ESRCH when no such process exists.
            if kill(pid, 0) != 0 && errno == ESRCH {
                try? FileManager.default.removeItem(at: folder.appendingPathComponent(name))
            }
        }
    }
}
