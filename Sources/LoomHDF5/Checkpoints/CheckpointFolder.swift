import Foundation
import Logging
import Loom

/// A folder of checkpoints of one run: each under its own name, `checkpoint-<step>.h5`
/// (the optimizer step, ten digits), and a small file `latest` naming the newest.
///
/// `save` writes the new checkpoint through `OutputFile` (temporary name, flush, rename,
/// folder flush), then replaces `latest` the same way, then removes all but the newest
/// `keep`: a kill, a full disk or a read-only folder at any point leaves `latest` naming a
/// whole checkpoint. Only Loom's checkpoints are ever removed or replaced: regular files of
/// exactly that name whose content is a Loom checkpoint (`CheckpointFile.isCheckpoint`);
/// other files (Keras's `checkpoint-01.h5`, folders, links) stay as they are. A run holds
/// the folder while it trains (`CheckpointFolderLock`).
public struct CheckpointFolder: Sendable {
    /// The folder.
    public let path: String
    /// How many checkpoints `save` leaves (the newest; at least 1).
    public let keep: Int

    /// A checkpoint folder at `path`, created when missing (its parent must exist); checks
    /// now, before training, that it can be written.
    public init(_ path: String, keep: Int = 2) throws {
        guard keep >= 1 else { throw LoomError.invalidArgument("checkpoints: keep must be at least 1, got \(keep)") }
        self.path = path
        self.keep = keep
        var isFolder: ObjCBool = false
        if !FileManager.default.fileExists(atPath: path, isDirectory: &isFolder) {
            let parent = URL(fileURLWithPath: path).deletingLastPathComponent().path
            guard FileManager.default.fileExists(atPath: parent, isDirectory: &isFolder), isFolder.boolValue else {
                throw LoomError.invalidArgument("checkpoints: the folder \(parent) does not exist")
            }
            do {
                // Tolerates another process (an MPI rank on this host) creating it at the same moment.
                try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
            } catch {
                throw LoomError.invalidArgument("checkpoints: cannot create the folder \(path) (\(error.localizedDescription))")
            }
        } else if !isFolder.boolValue {
            throw LoomError.invalidArgument("checkpoints: \(path) is a file, not a folder")
        }
        _ = try OutputFile(pointerPath, role: "the checkpoint folder")
    }

    private var pointerPath: String { (path as NSString).appendingPathComponent("latest") }

    private static func name(step: Int) -> String { String(format: "checkpoint-%010d.h5", step) }

    /// Whether `name` is one of the files Loom writes in a checkpoint folder: a checkpoint,
    /// one moved aside as damaged, the `latest` pointer, the lock file.
    public static func isReserved(_ name: String) -> Bool {
        let checkpoint = name.hasSuffix(".damaged") ? String(name.dropLast(".damaged".count)) : name
        return step(of: checkpoint) != nil || name == "latest" || name == CheckpointFolderLock.fileName
    }

    /// Refuses an output of the run (`--save`, `--history`) that would replace one of the
    /// files Loom keeps in the checkpoint folder at `folder` (`isReserved`).
    package static func checkOutsideTheFolder(_ folder: String, _ outputs: [OutputFile]) throws {
        guard let real = realpath(folder, nil) else { return }
        defer { free(real) }
        let folderPath = String(cString: real)
        for output in outputs {
            let url = URL(fileURLWithPath: output.canonicalPath)
            guard url.deletingLastPathComponent().path == folderPath, isReserved(url.lastPathComponent) else { continue }
            throw LoomError.invalidArgument(
                "\(output.role): '\(output.path)' is a file Loom keeps in the checkpoint folder \(folder); "
                    + "write it elsewhere")
        }
    }

    /// The step of a checkpoint file's name (ten digits or more, as `name(step:)` writes),
    /// nil for any other name.
    private static func step(of name: String) -> Int? {
        guard name.hasPrefix("checkpoint-"), name.hasSuffix(".h5") else { return nil }
        let digits = name.dropFirst("checkpoint-".count).dropLast(".h5".count)
        guard digits.count >= 10, digits.allSatisfy({ $0.isASCII && $0.isNumber }) else { return nil }
        return Int(digits)
    }

    /// The checkpoints Loom wrote into the folder, newest first: names of that form, regular
    /// files (not links, not folders), holding a Loom checkpoint.
    private func ownCheckpoints() -> [(step: Int, name: String)] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []
        return names.compactMap { name in
            guard let step = CheckpointFolder.step(of: name) else { return nil }
            let file = (path as NSString).appendingPathComponent(name)
            var info = stat()
            guard lstat(file, &info) == 0, info.st_mode & S_IFMT == S_IFREG, CheckpointFile.isCheckpoint(file) else { return nil }
            return (step, name)
        }.sorted { $0.step > $1.step }
    }

    /// Takes the folder for this run (see `CheckpointFolderLock`); the run holds it as long
    /// as it keeps the lock.
    public func lock() throws -> CheckpointFolderLock { try CheckpointFolderLock(folder: path) }

    /// Writes `snapshot` as the checkpoint of step `step`, points `latest` at it and removes
    /// the checkpoints beyond `keep`; returns the checkpoint's path.
    @discardableResult
    public func save(_ snapshot: TrainingSnapshot, step: Int) throws -> String {
        let name = CheckpointFolder.name(step: step)
        let target = (path as NSString).appendingPathComponent(name)
        var info = stat()
        if lstat(target, &info) == 0, !(info.st_mode & S_IFMT == S_IFREG && CheckpointFile.isCheckpoint(target)) {
            throw LoomError.invalidArgument(
                "cannot write checkpoint \(target): a file of that name that Loom did not write is there; "
                    + "move it away or choose another folder")
        }
        if lstat(pointerPath, &info) == 0, info.st_mode & S_IFMT != S_IFREG {
            throw LoomError.invalidArgument(
                "cannot write checkpoint \(target): \(pointerPath) is not a regular file (a link, a folder); Loom writes the "
                    + "pointer itself: move it away")
        }
        do {
            try CheckpointFile.write(snapshot, to: OutputFile(target, role: "checkpoint"))
            try OutputFile(pointerPath, role: "checkpoint pointer").write(Data((name + "\n").utf8))
        } catch {
            throw LoomError.invalidArgument(
                "cannot write checkpoint \(target): \(error); the previous checkpoint is unchanged")
        }
        for (_, file) in ownCheckpoints().dropFirst(keep) where file != name {
            unlink((path as NSString).appendingPathComponent(file))
        }
        return target
    }

    /// The path of the checkpoint `latest` names, nil when there is none yet.
    public func latestPath() throws -> String? {
        guard FileManager.default.fileExists(atPath: pointerPath) else { return nil }
        let text = (try? String(contentsOfFile: pointerPath, encoding: .utf8)) ?? ""
        let name = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard CheckpointFolder.step(of: name) != nil, !name.contains("/") else {
            let shown = name.prefix(80).replacingOccurrences(of: "\n", with: "\\n").replacingOccurrences(of: "\r", with: "\\r")
            throw LoomError.invalidArgument("\(pointerPath) does not name a checkpoint (it holds '\(shown)')")
        }
        return (path as NSString).appendingPathComponent(name)
    }

    /// The newest whole checkpoint, nil when the folder holds none yet. When the one `latest`
    /// names is missing or damaged (it is there and readable, but not a whole checkpoint),
    /// the newest earlier checkpoint of the folder that reads whole is taken instead (the run
    /// continues from there to the same bits): the damaged file is moved aside to
    /// `<name>.damaged`, `latest` names the earlier one, and `warning` is told; with none, the
    /// error says what to do. Since it may change the folder, call it holding the folder
    /// (`lock()`, as `BackupAndRestore` does).
    public func latest(warning: (String) -> Void = CheckpointFolder.printWarning) throws -> TrainingSnapshot? {
        guard let newest = try latestPath() else { return nil }
        let problem: String
        do {
            return try CheckpointFile.read(newest)
        } catch {
            guard !FileManager.default.fileExists(atPath: newest) || FileManager.default.isReadableFile(atPath: newest) else {
                throw error
            }
            problem = "\(error)"
        }
        let newestName = (newest as NSString).lastPathComponent
        for (_, name) in ownCheckpoints() where name != newestName {
            let earlier = (path as NSString).appendingPathComponent(name)
            guard let snapshot = try? CheckpointFile.read(earlier) else { continue }
            var info = stat()
            let aside = newest + ".damaged"
            let moved = lstat(newest, &info) == 0 && info.st_mode & S_IFMT == S_IFREG && rename(newest, aside) == 0
            try OutputFile(pointerPath, role: "checkpoint pointer").write(Data((name + "\n").utf8))
            warning("\(problem); \(moved ? "moved it to \(aside) and " : "")resuming from the earlier checkpoint \(earlier)")
            return snapshot
        }
        throw LoomError.invalidArgument(
            "\(problem); the folder holds no earlier whole checkpoint: start again without --resume in another folder")
    }

    /// Logs a warning (`Logger.loomHDF5`).
    public static func printWarning(_ text: String) {
        Logger.loomHDF5.warning("\(text)")
    }

    /// Removes the checkpoints Loom wrote and the pointer (the folder, the lock file and
    /// any other file stay).
    public func removeAll() throws {
        for (_, file) in ownCheckpoints() {
            try FileManager.default.removeItem(atPath: (path as NSString).appendingPathComponent(file))
        }
        var info = stat()
        if lstat(pointerPath, &info) == 0, info.st_mode & S_IFMT == S_IFREG { try FileManager.default.removeItem(atPath: pointerPath) }
    }
}
