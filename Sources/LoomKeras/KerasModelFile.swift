import Foundation
import Loom
import LoomHDF5
import ZIPFoundation

/// A Keras model file opened for reading, told apart by its first bytes:
///
/// - `.keras` (Keras 3): a zip of `config.json`, `metadata.json` and `model.weights.h5`
///   (the `.weights.h5` layout). Unpacked into a temporary folder, removed with this object.
/// - Keras 2 whole-model `.h5`: the config in attribute `model_config`, the weights in the
///   legacy layout (`LegacyKerasFile`).
/// - JSON: a config alone (`model.to_json()`); weights come from elsewhere or from the seed.
final class KerasModelFile {
    let path: String
    let config: KerasModelConfig
    private let weights: (load: (Sequential) throws -> Void, folder: URL?)?

    init(_ url: URL) throws {
        path = url.path
        switch try KerasModelFile.kind(of: url) {
        case .zip:
            let folder = try KerasModelFile.unpack(url)
            do {
                let configData = try Data(contentsOf: folder.appendingPathComponent("config.json"))
                config = try KerasFileError.naming(url) { try KerasModelConfig(json: configData) }
            } catch {
                try? FileManager.default.removeItem(at: folder)
                throw error
            }
            let weightsURL = folder.appendingPathComponent("model.weights.h5")
            weights = ({ model in try KerasWeightsFile.load(into: model, from: HDF5File(path: weightsURL.path)) }, folder)
        case .hdf5:
            let file = try HDF5File(path: url.path)
            guard let json = try LegacyKerasFile.modelConfig(in: file) else {
                throw KerasFileError(file: url.path, "holds weights only, no model config; load the model from its "
                                        + ".keras or .json file and pass this file as its weights")
            }
            let keras2 = LegacyKerasFile.writtenByKeras2(file)
            config = try KerasFileError.naming(url) { try KerasModelConfig(json: json, keras2: keras2) }
            weights = ({ model in try LegacyKerasFile.load(into: model, from: file) }, nil)
        case .json:
            let data = try Data(contentsOf: url)
            config = try KerasFileError.naming(url) { try KerasModelConfig(json: data) }
            weights = nil
        }
    }

    deinit {
        if let folder = weights?.folder { try? FileManager.default.removeItem(at: folder) }
    }

    /// Loads the file's own weights into `model` (built from `config`); does nothing for JSON.
    func loadWeights(into model: Sequential) throws {
        try weights?.load(model)
    }

    // MARK: formats

    enum Kind { case zip, hdf5, json }

    /// What `url` holds, by its first bytes.
    static func kind(of url: URL) throws -> Kind {
        guard FileManager.default.fileExists(atPath: url.path) else { throw KerasFileError(file: url.path, "no such file") }
        let handle = try FileHandle(forReadingFrom: url)
        defer { try? handle.close() }
        let head = [UInt8](try handle.read(upToCount: 8) ?? Data())
        if head.starts(with: [0x50, 0x4B, 0x03, 0x04]) { return .zip }
        if head.starts(with: [0x89, 0x48, 0x44, 0x46, 0x0D, 0x0A, 0x1A, 0x0A]) { return .hdf5 }
        if let first = head.first(where: { ![0x20, 0x09, 0x0A, 0x0D].contains($0) }), first == UInt8(ascii: "{") { return .json }
        throw KerasFileError(file: url.path, "is not a Keras model file (.keras zip, Keras 2 .h5 or JSON config)")
    }

    /// Unpacks a `.keras` archive into a new temporary folder; checks it holds a config.
    static func unpack(_ url: URL) throws -> URL {
        let archive: Archive
        do { archive = try Archive(url: url, accessMode: .read) } catch {
            throw KerasFileError(file: url.path, "is not a readable zip archive; it may be truncated or damaged")
        }
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("loom-keras-\(UUID().uuidString)")
        do {
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            for name in ["config.json", "model.weights.h5"] {
                guard let entry = archive[name] else {
                    throw KerasFileError(file: url.path, "has no \(name); a .keras file holds config.json and model.weights.h5")
                }
                _ = try archive.extract(entry, to: folder.appendingPathComponent(name))
            }
        } catch {
            try? FileManager.default.removeItem(at: folder)
            if error is KerasFileError { throw error }
            throw KerasFileError(file: url.path, "cannot be unpacked (\(error)); it may be truncated or damaged")
        }
        return folder
    }

    /// Writes `model` as a `.keras` archive at `url`: assembled in a temporary folder and moved
    /// into place, so a failure leaves any file already at `url` as it was.
    static func writeArchive(_ model: Sequential, to url: URL) throws {
        let config = try KerasFileError.naming(url) { try KerasModelConfig.json(of: model) }
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("loom-keras-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        try config.write(to: folder.appendingPathComponent("config.json"))
        let metadata: [String: Any] = ["keras_version": "3.15.1", "date_saved": Self.timestamp(), "saved_by": "Loom"]
        try JSONSerialization.data(withJSONObject: metadata, options: [.sortedKeys])
            .write(to: folder.appendingPathComponent("metadata.json"))
        try KerasWeightsFile.save(model, to: HDF5File(path: folder.appendingPathComponent("model.weights.h5").path, mode: .create))
        let zip = folder.appendingPathComponent("model.keras")
        let archive = try Archive(url: zip, accessMode: .create)
        for name in ["metadata.json", "config.json", "model.weights.h5"] {
            try archive.addEntry(with: name, fileURL: folder.appendingPathComponent(name), compressionMethod: .deflate)
        }
        try replace(url, with: zip)
    }

    /// Writes `model`'s weights in Keras 3's `.weights.h5` layout at `url` (atomically, as above).
    static func writeWeights(_ model: Sequential, to url: URL) throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("loom-keras-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let file = folder.appendingPathComponent("model.weights.h5")
        try KerasWeightsFile.save(model, to: HDF5File(path: file.path, mode: .create))
        try replace(url, with: file)
    }

    private static func replace(_ url: URL, with file: URL) throws {
        if FileManager.default.fileExists(atPath: url.path) {
            _ = try FileManager.default.replaceItemAt(url, withItemAt: file)
        } else {
            try FileManager.default.moveItem(at: file, to: url)
        }
    }

    private static func timestamp() -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.dateFormat = "yyyy-MM-dd@HH:mm:ss"
        return formatter.string(from: Date())
    }
}
