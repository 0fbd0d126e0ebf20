import Foundation
import Loom

/// A folder of checkpoints of one run: each under its own name, `checkpoint-<step>.h5`
/// (the optimizer step, ten digits), and a small file `latest` naming the newest.
///
/// `save` writes the new checkpoint through `OutputFile` (temporary name, flush, rename,
/// folder flush), then replaces `latest` the same way, then removes all but the newest
/// `keep`: a kill, a full disk or a read-only folder at any point leaves `latest` naming a
/// whole checkpoint.
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

    /// The step of a checkpoint file's name, nil for any other file.
    private static func step(of name: String) -> Int? {
        guard name.hasPrefix("checkpoint-"), name.hasSuffix(".h5") else { return nil }
        return Int(name.dropFirst("checkpoint-".count).dropLast(".h5".count))
    }

    /// Writes `snapshot` as the checkpoint of step `step`, points `latest` at it and removes
    /// the checkpoints beyond `keep`; returns the checkpoint's path.
    @discardableResult
    public func save(_ snapshot: TrainingSnapshot, step: Int) throws -> String {
        let name = CheckpointFolder.name(step: step)
        let target = (path as NSString).appendingPathComponent(name)
        do {
            try CheckpointFile.write(snapshot, to: OutputFile(target, role: "checkpoint"))
            try OutputFile(pointerPath, role: "checkpoint pointer").write(Data((name + "\n").utf8))
        } catch {
            throw LoomError.invalidArgument(
                "cannot write checkpoint \(target): \(error); the previous checkpoint is unchanged")
        }
        let names = (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []
        let older = names.compactMap { file in CheckpointFolder.step(of: file).map { ($0, file) } }
            .sorted { $0.0 > $1.0 }.dropFirst(keep)
        for (_, file) in older where file != name {
            try? FileManager.default.removeItem(atPath: (path as NSString).appendingPathComponent(file))
        }
        return target
    }

    /// The path of the checkpoint `latest` names, nil when there is none yet.
    public func latestPath() throws -> String? {
        guard FileManager.default.fileExists(atPath: pointerPath) else { return nil }
        let text = (try? String(contentsOfFile: pointerPath, encoding: .utf8)) ?? ""
        let name = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard CheckpointFolder.step(of: name) != nil, !name.contains("/") else {
            throw LoomError.invalidArgument("\(pointerPath) does not name a checkpoint (it holds '\(text.prefix(80))')")
        }
        return (path as NSString).appendingPathComponent(name)
    }

    /// The newest checkpoint, nil when the folder holds none yet.
    public func latest() throws -> TrainingSnapshot? {
        try latestPath().map { try CheckpointFile.read($0) }
    }

    /// Removes the checkpoints and the pointer (the folder stays).
    public func removeAll() throws {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []
        for file in names where CheckpointFolder.step(of: file) != nil || file == "latest" {
            try FileManager.default.removeItem(atPath: (path as NSString).appendingPathComponent(file))
        }
    }
}
