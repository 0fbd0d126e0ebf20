import Foundation
import Loom

/// A `TrainingSnapshot` as an HDF5 file, readable with h5py:
///
///     floats/<name>   float32 vectors       words/<name>   uint64 vectors
///     reals/<name>    float64 vectors       attribute "texts": the texts, as JSON
///     attributes "format" = "loom-checkpoint", "version" = [1], "checksum" = [CRC-32]
///
/// The checksum is the snapshot's (`TrainingSnapshot.checksum`), recomputed on reading: a
/// flipped byte, a truncated file or a file of another kind is an error naming the file,
/// never a different run.
public enum CheckpointFile {
    /// The `format` attribute's value.
    static let format = "loom-checkpoint"

    /// Writes `snapshot` to `output` (through its temporary name, flush and rename).
    package static func write(_ snapshot: TrainingSnapshot, to output: OutputFile) throws {
        try output.write { url in
            let file = try HDF5File(path: url.path, mode: .create)
            for (name, values) in snapshot.floats {
                try file.write(Tensor(shape: [values.count], scalars: values), as: "floats/\(name)")
            }
            for (name, values) in snapshot.words { try file.write(words: values, as: "words/\(name)") }
            for (name, values) in snapshot.reals { try file.write(reals: values, as: "reals/\(name)") }
            let texts = try JSONSerialization.data(withJSONObject: snapshot.texts, options: [.sortedKeys])
            try file.setAttribute("texts", String(decoding: texts, as: UTF8.self))
            try file.setAttribute("format", format)
            try file.setAttribute("version", [1])
            try file.setAttribute("checksum", [Double(snapshot.checksum)])
            try file.close()
        }
    }

    /// Whether the file at `path` says it is a Loom checkpoint (its `format` attribute; the
    /// content is not checked).
    public static func isCheckpoint(_ path: String) -> Bool {
        guard let file = try? HDF5File(path: path) else { return false }
        return (try? file.stringAttribute("format")) == format
    }

    /// Reads the snapshot in the file at `path`; throws when the file is not a whole Loom
    /// checkpoint.
    public static func read(_ path: String) throws -> TrainingSnapshot {
        func damaged(_ why: String) -> LoomError {
            .invalidArgument(
                "checkpoint \(path) is damaged or not a Loom checkpoint (\(why))")
        }
        let file: HDF5File
        do { file = try HDF5File(path: path) } catch { throw damaged("\(error)") }
        var snapshot = TrainingSnapshot()
        do {
            guard try file.stringAttribute("format") == format else { throw damaged("no 'format' attribute \(format)") }
            guard try file.doubleAttribute("version") == [1] else { throw damaged("an unknown version") }
            guard let stored = try file.doubleAttribute("checksum")?.first else { throw damaged("no checksum") }
            let fileSize = HDF5File.size(of: path)
            for name in file.childNames(of: "floats") {
                let (shape, _) = try file.info(of: "floats/\(name)")
                guard shape.count == 1, shape[0] <= fileSize / 4 else { throw damaged("floats/\(name) has shape \(shape)") }
                snapshot.floats[name] = try file.read("floats/\(name)").scalars
            }
            for name in file.childNames(of: "words") { snapshot.words[name] = try file.readWords("words/\(name)") }
            for name in file.childNames(of: "reals") { snapshot.reals[name] = try file.readReals("reals/\(name)") }
            guard let json = try file.stringAttribute("texts") else { throw damaged("no texts") }
            guard let texts = (try? JSONSerialization.jsonObject(with: Data(json.utf8))) as? [String: String] else {
                throw damaged("its texts are not a JSON object of strings")
            }
            snapshot.texts = texts
            guard Double(snapshot.checksum) == stored else {
                throw damaged(
                    "its checksum is \(snapshot.checksum), the file says \(UInt32(exactly: stored).map(String.init) ?? "\(stored)")")
            }
        } catch let error as LoomError {
            throw error
        } catch {
            throw damaged("\(error)")
        }
        return snapshot
    }
}
