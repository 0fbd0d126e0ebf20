import Foundation
import Loom
import LoomHDF5
import ZIPFoundation

/// The Keras model files Loom reads and writes, told apart by their first bytes:
///
/// - `.keras` (Keras 3): a zip of `config.json`, `metadata.json` and `model.weights.h5`
///   (the `.weights.h5` layout, `KerasWeightsFile`).
/// - Keras 2 `.h5`: a whole model (the config in attribute `model_config`) or weights only,
///   in the legacy layout (`LegacyKerasFile`); or a Keras 3 `.weights.h5`.
/// - JSON: a config alone (`model.to_json()`).
enum KerasModelFile {
    enum Kind { case zip, hdf5, json }

    /// What `url` holds, by its first bytes.
    static func kind(of url: URL) throws -> Kind {
        if let problem = InputFile.problem(at: url.path) { throw KerasFileError(file: url.path, problem) }
        let handle = try FileHandle(forReadingFrom: url)
        defer { try? handle.close() }
        let head = [UInt8](try handle.read(upToCount: 8) ?? Data())
        if head.starts(with: [0x50, 0x4B, 0x03, 0x04]) { return .zip }
        if head.starts(with: [0x89, 0x48, 0x44, 0x46, 0x0D, 0x0A, 0x1A, 0x0A]) { return .hdf5 }
        if let first = head.first(where: { ![0x20, 0x09, 0x0A, 0x0D].contains($0) }), first == UInt8(ascii: "{") { return .json }
        throw KerasFileError(file: url.path, "is not a Keras model file (.keras zip, Keras 2 .h5 or JSON config)")
    }

    /// The model config a file holds.
    static func config(of url: URL, kind: Kind, forPrediction: Bool = false) throws -> KerasModelConfig {
        switch kind {
        case .zip:
            var data = Data()
            try unpack("config.json", of: url, limit: maximumConfigBytes) { data.append($0) }
            return try KerasFileError.naming(url.path) { try KerasModelConfig(json: data, forPrediction: forPrediction) }
        case .hdf5:
            let file = try HDF5File(path: url.path)
            guard let json = try LegacyKerasFile.modelConfig(in: file) else {
                throw KerasFileError(
                    file: url.path,
                    "holds weights only, no model config; load the model from its "
                        + ".keras or .json file and pass this file as its weights")
            }
            let keras2 = LegacyKerasFile.writtenByKeras2(file)
            return try KerasFileError.naming(url.path) {
                var config = try KerasModelConfig(json: json, keras2: keras2, forPrediction: forPrediction)
                // A training_config that cannot be read leaves the model loading, uncompiled.
                config.compileConfig = (try? LegacyKerasFile.trainingConfig(in: file)) ?? nil
                return config
            }
        case .json:
            let data = try Data(contentsOf: url)
            return try KerasFileError.naming(url.path) { try KerasModelConfig(json: data, forPrediction: forPrediction) }
        }
    }

    /// Loads the weights of any of the formats into `model`; errors name `url`. `kind`, when
    /// known, saves reading the file's first bytes again.
    static func loadWeights(into model: Sequential, from url: URL, kind known: Kind? = nil) throws {
        switch try known ?? kind(of: url) {
        case .zip:
            // HDF5 reads files, not zip entries: the weights go to a temporary file first.
            let folder = try temporaryFolder(near: FileManager.default.temporaryDirectory)
            defer { try? FileManager.default.removeItem(at: folder) }
            let weights = folder.appendingPathComponent("model.weights.h5")
            guard FileManager.default.createFile(atPath: weights.path, contents: nil),
                let handle = FileHandle(forWritingAtPath: weights.path)
            else {
                throw KerasFileError(file: folder.path, "cannot write the unpacked weights there")
            }
            defer { try? handle.close() }
            // Weights, a Keras optimizer's state beside them and the file's own structure.
            let limit = model.parameterCount * 4 * 4 + maximumConfigBytes
            try unpack("model.weights.h5", of: url, limit: limit) { try handle.write(contentsOf: $0) }
            do {
                let file = try HDF5File(path: weights.path)
                try KerasWeightsFile.load(into: model, from: file)
                try KerasOptimizerFile.load(into: model, from: file)
            } catch let error as HDF5Error {
                throw KerasFileError(
                    file: url.path,
                    "model.weights.h5" + (error.dataset.map { ", dataset '\($0)'" } ?? "")
                        + ": " + error.message)
            }
        case .hdf5:
            let file = try HDF5File(path: url.path)
            if LegacyKerasFile.isLegacy(file) {
                try LegacyKerasFile.load(into: model, from: file)
            } else {
                try KerasWeightsFile.load(into: model, from: file)
            }
        case .json:
            throw KerasFileError(file: url.path, "is a model config (JSON), not weights")
        }
    }

    /// The most a `.keras` archive's config may inflate to (a config is a few KB).
    static let maximumConfigBytes = 64 << 20

    /// Unpacks one entry of a `.keras` archive into `consume`, refusing it once it inflates
    /// past `limit` bytes: checked against the size the archive declares before anything is
    /// inflated, and while inflating, in case the declaration lies.
    static func unpack(_ name: String, of url: URL, limit: Int, into consume: (Data) throws -> Void) throws {
        let archive: Archive
        do { archive = try Archive(url: url, accessMode: .read) } catch {
            throw KerasFileError(file: url.path, "is not a readable zip archive; it may be truncated or damaged")
        }
        guard let entry = archive[name] else {
            throw KerasFileError(file: url.path, "has no \(name); a .keras file holds config.json and model.weights.h5")
        }
        let copies = archive.reduce(0) { $0 + ($1.path == name ? 1 : 0) }
        guard copies == 1 else {
            throw KerasFileError(
                file: url.path,
                "holds \(copies) entries named \(name); Keras reads the last, Loom refuses an archive whose entries disagree on what it holds"
            )
        }
        let tooLarge = KerasFileError(
            file: url.path, "\(name) inflates to more than \(limit) bytes, more than the model can need; the file may be damaged")
        guard entry.uncompressedSize <= UInt64(limit) else { throw tooLarge }
        var inflated = 0
        do {
            _ = try archive.extract(entry) { chunk in
                inflated += chunk.count
                guard inflated <= limit else { throw tooLarge }
                try consume(chunk)
            }
        } catch let error as KerasFileError {
            throw error
        } catch {
            throw KerasFileError(file: url.path, "cannot unpack \(name) (\(error)); the file may be truncated or damaged")
        }
    }

    // MARK: writing

    /// Writes `model` in the format `url`'s name asks for (`KerasFileName`), through
    /// `OutputFile`: assembled under a temporary name beside `url` (a `.keras` archive's parts
    /// in a temporary folder there), flushed and renamed into place, so a failure or a kill
    /// leaves any file already there as it was, and the next save cleans up after a kill.
    static func write(_ model: Sequential, to url: URL) throws {
        try model.checkSavable(to: url)
        guard let format = KerasFileName(url) else { return }
        let output: OutputFile
        do { output = try OutputFile(url.path, role: "the model file") } catch {
            // A folder that is there and writable: the target itself is refused (a device, a folder).
            let folder = url.deletingLastPathComponent().path
            guard FileManager.default.fileExists(atPath: folder), access(folder, W_OK | X_OK) == 0 else {
                throw KerasFileError(file: folder, "cannot write there (check the folder exists and is writable)")
            }
            throw error
        }
        try output.write { staged in
            switch format {
            case .json:
                try KerasFileError.naming(url.path) { try KerasModelConfig.json(of: model) }.write(to: staged)
            case .weights:
                try KerasFileError.naming(url.path) {
                    let file = try HDF5File(path: staged.path, mode: .create)
                    try KerasWeightsFile.save(model, to: file)
                    try file.close()
                }
            case .legacyH5:
                try KerasFileError.naming(url.path) {
                    let file = try HDF5File(path: staged.path, mode: .create)
                    try LegacyKerasFile.save(model, to: file)
                    try file.close()
                }
            case .keras:
                // The parts' folder ends in the staged file's marker, so a killed save's parts are cleaned up too.
                let parts = staged.deletingLastPathComponent().appendingPathComponent(".parts" + staged.lastPathComponent)
                try FileManager.default.createDirectory(at: parts, withIntermediateDirectories: false)
                defer { try? FileManager.default.removeItem(at: parts) }
                let config = try KerasFileError.naming(url.path) { try KerasModelConfig.json(of: model, compiled: true) }
                try config.write(to: parts.appendingPathComponent("config.json"))
                let metadata: [String: Any] = ["keras_version": "3.15.1", "date_saved": timestamp(), "saved_by": "Loom"]
                try JSONSerialization.data(withJSONObject: metadata, options: [.sortedKeys])
                    .write(to: parts.appendingPathComponent("metadata.json"))
                let weights = parts.appendingPathComponent("model.weights.h5")
                try KerasFileError.naming(url.path) {
                    let file = try HDF5File(path: weights.path, mode: .create)
                    try KerasWeightsFile.save(model, to: file)
                    try KerasOptimizerFile.save(model, to: file)
                    try file.close()
                }
                let archive = try Archive(url: staged, accessMode: .create)
                for name in ["metadata.json", "config.json", "model.weights.h5"] {
                    try archive.addEntry(with: name, fileURL: parts.appendingPathComponent(name), compressionMethod: .deflate)
                }
            }
        }
    }

    /// A new hidden folder inside `parent` (where a `.keras` archive's weights are unpacked to
    /// be read), which must exist; named so that a later run removes it if this process is
    /// killed while reading (`OutputFile.temporaryURL`).
    private static func temporaryFolder(near parent: URL) throws -> URL {
        let folder = OutputFile.temporaryURL(in: parent, for: "keras-weights-\(UUID().uuidString)")
        do {
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: false)
        } catch {
            throw KerasFileError(file: parent.path, "cannot write there (check the folder exists and is writable)")
        }
        return folder
    }

    private static func timestamp() -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.dateFormat = "yyyy-MM-dd@HH:mm:ss"
        return formatter.string(from: Date())
    }
}

/// The formats `Sequential.save(to:)` writes, by the file name's ending.
public enum KerasFileName: Sendable {
    /// `keras`: a Keras 3 archive (config and weights); `weights`: `.weights.h5`, weights only;
    /// `legacyH5`: `.h5`, Keras 2's whole model (`LegacyKerasFile`); `json`: the config.
    case keras, weights, legacyH5, json

    /// The format a file name asks for; nil when its ending names none.
    public init?(_ url: URL) {
        let name = url.lastPathComponent.lowercased()
        if name.hasSuffix(".keras") {
            self = .keras
        } else if name.hasSuffix(".weights.h5") {
            self = .weights
        } else if name.hasSuffix(".h5") {
            self = .legacyH5
        } else if name.hasSuffix(".json") {
            self = .json
        } else {
            return nil
        }
    }
}
