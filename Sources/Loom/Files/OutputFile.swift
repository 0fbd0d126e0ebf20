import Foundation

/// A file Loom writes (a model, predictions, an import, a history), checked before any work
/// and replaced only once it is whole.
///
/// `init` refuses, by name and before hours of training: a missing or unwritable folder, a
/// target that exists and is not a regular file (a folder, a device such as `/dev/null`, a
/// FIFO, a socket: renaming over it would replace it), and a target that is one of the run's
/// inputs (compared by device and inode, so another spelling of the same path is caught). A
/// symbolic link is followed: the file it leads to is replaced, not the link. `write` puts the
/// content under a temporary name beside the target (`.NAME.loom-tmp-PID-HOST`), flushes it,
/// renames it over the target in one step and flushes the folder: a crash, a kill or a full
/// disk leaves the previous file as it was. Temporary files that a killed run left behind
/// are removed by the next write into the same folder (those of a live process on this host
/// are spared).
package struct OutputFile: Sendable {
    /// The target, as given.
    package let path: String
    /// What the file is, for messages ("--save", "the predictions").
    package let role: String
    /// The file replaced: `path` with its symbolic links followed.
    package let resolvedPath: String

    private var url: URL { URL(fileURLWithPath: resolvedPath) }
    private var folder: URL { url.deletingLastPathComponent() }

    /// Checks that `path` can be written and is none of `inputs` (paths that may not exist).
    package init(_ path: String, role: String, inputs: [String] = []) throws {
        self.path = path
        self.role = role
        guard !path.isEmpty, !path.hasSuffix("/") else {
            throw LoomError.invalidArgument("\(role): '\(path)' names a folder; give a file name")
        }
        resolvedPath = try OutputFile.followingLinks(path, role: role)
        try OutputFile.checkReplaceable(resolvedPath, given: path, role: role)
        var isFolder: ObjCBool = false
        let folderPath = folder.path
        guard FileManager.default.fileExists(atPath: folderPath, isDirectory: &isFolder), isFolder.boolValue else {
            guard FileManager.default.fileExists(atPath: folderPath) else {
                throw LoomError.invalidArgument("\(role): the folder \(folderPath) does not exist (Loom creates no folders)")
            }
            throw LoomError.invalidArgument("\(role): \(folderPath) is a file, not a folder to write \(path) in")
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

    /// Refuses, before any work, a file of `bytes` that the disk holding its folder has no
    /// room for (the space free to this user, as `df` shows it).
    package func checkSpace(forBytes bytes: Double) throws {
        var info = statvfs()
        guard statvfs(folder.path, &info) == 0 else { return }
        let free = Double(info.f_bavail) * Double(info.f_frsize)
        guard bytes > free else { return }
        func gibibytes(_ value: Double) -> String { String(format: "%.1f GiB", value / Double(1 << 30)) }
        throw LoomError.invalidArgument(
            "\(role): \(path) would take about \(gibibytes(bytes)), more than the \(gibibytes(free)) free on the disk of "
                + "\(folder.path)")
    }

    /// The file as one name whatever its spelling: its folder's real path and its name.
    package var canonicalPath: String {
        let folderPath = folder.path
        guard let real = realpath(folderPath, nil) else { return url.standardizedFileURL.path }
        defer { free(real) }
        return (String(cString: real) as NSString).appendingPathComponent(url.lastPathComponent)
    }

    /// Refuses two outputs of one run that name the same file (by canonical path, so a file
    /// that does not exist yet is caught too, and by device and inode): the later write
    /// would replace the earlier.
    package static func checkDistinct(_ outputs: [OutputFile]) throws {
        for (index, output) in outputs.enumerated() {
            for earlier in outputs[..<index] {
                let sameFile = OutputFile.identity(of: output.resolvedPath).map { $0 == OutputFile.identity(of: earlier.resolvedPath) }
                guard output.canonicalPath == earlier.canonicalPath || sameFile == true else { continue }
                throw LoomError.invalidArgument(
                    "\(output.role): '\(output.path)' is the file \(earlier.role) writes ('\(earlier.path)'); "
                        + "give each output its own file")
            }
        }
    }

    /// Writes the file: `body` writes the whole content at the temporary URL it is given;
    /// then the file is flushed and renamed over the target. If `body` throws, the target is
    /// untouched and the temporary file removed; an error that names the temporary file (a
    /// full disk) is rethrown naming the target.
    package func write(_ body: (URL) throws -> Void) throws {
        OutputFile.removeStaleTemporaries(in: folder)
        let temporary = folder.appendingPathComponent(
            ".\(url.lastPathComponent).\(OutputFile.temporaryMarker)\(getpid())-\(OutputFile.hostName)")
        do {
            try body(temporary)
            try OutputFile.flush(temporary.path)
            // Checked again: something else may have appeared there since `init`.
            try OutputFile.checkReplaceable(resolvedPath, given: path, role: role)
            guard rename(temporary.path, resolvedPath) == 0 else {
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
    package func write(_ data: Data) throws {
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
    package static func temporaryURL(in folder: URL, for base: String) -> URL {
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

    /// `path` with its symbolic links followed (each relative to the link's folder), as far
    /// as they lead: to an existing file or to a name that does not exist yet.
    private static func followingLinks(_ path: String, role: String) throws -> String {
        var current = path
        for _ in 0..<40 {
            var info = stat()
            guard lstat(current, &info) == 0, info.st_mode & S_IFMT == S_IFLNK else { return current }
            var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
            let length = readlink(current, &buffer, buffer.count - 1)
            guard length > 0 else { return current }
            let target = String(decoding: buffer[..<length].map { UInt8(bitPattern: $0) }, as: UTF8.self)
            current =
                target.hasPrefix("/")
                ? target : URL(fileURLWithPath: current).deletingLastPathComponent().appendingPathComponent(target).path
        }
        throw LoomError.invalidArgument("\(role): '\(path)' is a loop of symbolic links")
    }

    /// Refuses a target that exists and is not a regular file.
    private static func checkReplaceable(_ resolved: String, given path: String, role: String) throws {
        var info = stat()
        guard lstat(resolved, &info) == 0 else { return }
        let kind: String
        switch info.st_mode & S_IFMT {
        case S_IFREG: return
        case S_IFDIR: throw LoomError.invalidArgument("\(role): '\(path)' is a folder; give a file name")
        case S_IFCHR: kind = "a character device"
        case S_IFBLK: kind = "a block device"
        case S_IFIFO: kind = "a FIFO"
        case S_IFSOCK: kind = "a socket"
        default: kind = "not a regular file"
        }
        throw LoomError.invalidArgument(
            "\(role): '\(path)' is \(kind); Loom writes only regular files (it would replace it): give a file name")
    }

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
    package static func removeStaleTemporaries(in folder: URL) {
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
