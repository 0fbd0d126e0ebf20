import CHDF5
import Foundation
import Loom
import LoomHDF5
import XCTest
import ZIPFoundation

/// What `loom` reads is what the file holds: a dataset that takes its values from another file
/// (an HDF5 external link, a virtual dataset) is refused by name unless the data option allows
/// it, a weight never written is refused, an archive with two entries of one name is refused,
/// and NaN weights are refused by every command.
extension CLITests {
    /// Opens `path` read-write with libhdf5 itself (what a crafted file's author would use).
    private func rawFile(_ path: String, create: Bool = false) -> hid_t {
        let file =
            create
            ? H5Fcreate(path, loom_h5f_acc_trunc(), loom_h5p_default(), loom_h5p_default())
            : H5Fopen(path, loom_h5f_acc_rdwr(), loom_h5p_default())
        XCTAssertGreaterThanOrEqual(file, 0, "cannot open \(path)")
        return file
    }

    /// A copy of `data` whose `X` is an external link to `source`'s `X`.
    private func externallyLinked(_ data: String, source: String) throws -> String {
        let linked = folder.path("linked.h5")
        try FileManager.default.copyItem(atPath: data, toPath: linked)
        let file = rawFile(linked)
        XCTAssertGreaterThanOrEqual(H5Ldelete(file, "X", loom_h5p_default()), 0)
        XCTAssertGreaterThanOrEqual(H5Lcreate_external(source, "/X", file, "X", loom_h5p_default(), loom_h5p_default()), 0)
        H5Fclose(file)
        return linked
    }

    /// A file whose `X` is a virtual dataset of all of `source`'s `X` (`shape`), with `y` copied.
    private func virtual(_ data: String, source: String, shape: [Int]) throws -> String {
        let path = folder.path("virtual.h5")
        let file = rawFile(path, create: true)
        let dims = shape.map { hsize_t($0) }
        let space = H5Screate_simple(Int32(dims.count), dims, nil)
        let creation = H5Pcreate(loom_h5p_dataset_create())
        XCTAssertGreaterThanOrEqual(H5Pset_virtual(creation, space, source, "/X", space), 0)
        let dataset = H5Dcreate2(file, "X", loom_h5t_native_float(), space, loom_h5p_default(), creation, loom_h5p_default())
        XCTAssertGreaterThanOrEqual(dataset, 0)
        H5Dclose(dataset)
        H5Pclose(creation)
        H5Sclose(space)
        H5Fclose(file)
        let copy = try HDF5File(path: path, mode: .readWrite)
        try copy.write(try HDF5File(path: data).read("y"), as: "y")
        try copy.close()
        return path
    }

    func testDataThatReadsOtherFilesIsRefusedUnlessAllowed() throws {
        let (data, model) = try dataAndModel()
        let source = folder.path("source.h5")
        try FileManager.default.copyItem(atPath: data, toPath: source)
        let linked = try externallyLinked(data, source: "source.h5")
        let train = ["train", "--epochs", "1", "--units", "2", "--quiet", "--save", model]
        try refused(
            train + ["--data", linked], status: 1,
            message: "\(linked), dataset 'X': 'X' is an external link to another file (source.h5:/X); "
                + "Loom reads only self-contained files")
        try refused(
            ["predict", "--model", model, "--data", linked, "--out", folder.path("p.h5")], status: 1,
            starting: "\(linked), dataset 'X': 'X' is an external link")
        try loom(["train", "--data", linked, "--allow-external-data", "--epochs", "1", "--units", "2", "--quiet"])

        let shape = try HDF5File(path: data).info(of: "X").shape
        let virtualData = try virtual(data, source: "source.h5", shape: shape)
        try refused(
            train + ["--data", virtualData], status: 1,
            message: "\(virtualData), dataset 'X': is a virtual dataset (its values come from other datasets); "
                + "Loom reads only self-contained files")
        try loom(["train", "--data", virtualData, "--allow-external-data", "--epochs", "1", "--units", "2", "--quiet"])
        try FileManager.default.removeItem(atPath: source)
        try refused(
            train + ["--data", virtualData, "--allow-external-data"], status: 1,
            message: "\(virtualData), dataset 'X': is a virtual dataset whose source file source.h5 is missing: "
                + "its values would read as the fill value")
    }

    /// `m.json` and `m.weights.h5` of the model `dataAndModel` trained.
    private func configAndWeights(_ model: String) throws -> (config: String, weights: String) {
        let config = folder.path("m.json"), weights = folder.path("m.weights.h5")
        try loom(["convert", model, config])
        try loom(["convert", model, weights])
        return (config, weights)
    }

    func testWeightsThatReadOtherFilesOrWereNeverWrittenAreRefused() throws {
        let (data, model) = try dataAndModel()
        let (config, weights) = try configAndWeights(model)
        let other = folder.path("other.h5")
        do {
            let file = try HDF5File(path: other, mode: .create)
            try file.write(Tensor(shape: [4, 1], scalars: [1, 2, 3, 4]), as: "w")
            try file.close()
        }
        let linked = folder.path("linked.weights.h5")
        try FileManager.default.copyItem(atPath: weights, toPath: linked)
        var file = rawFile(linked)
        XCTAssertGreaterThanOrEqual(H5Ldelete(file, "layers/dense/vars/0", loom_h5p_default()), 0)
        XCTAssertGreaterThanOrEqual(
            H5Lcreate_external(other, "/w", file, "layers/dense/vars/0", loom_h5p_default(), loom_h5p_default()), 0)
        H5Fclose(file)
        try refused(
            ["evaluate", "--model", config, "--weights", linked, "--data", data], status: 1,
            message: "\(linked), dataset 'layers/dense/vars/0': 'layers/dense/vars/0' is an external link to another file "
                + "(\(other):/w); Loom reads only self-contained files")

        let unwritten = folder.path("unwritten.weights.h5")
        try FileManager.default.copyItem(atPath: weights, toPath: unwritten)
        file = rawFile(unwritten)
        XCTAssertGreaterThanOrEqual(H5Ldelete(file, "layers/dense/vars/1", loom_h5p_default()), 0)
        H5Fclose(file)
        do {
            let copy = try HDF5File(path: unwritten, mode: .readWrite)
            try copy.createDataset("layers/dense/vars/1", shape: [1])
            try copy.close()
        }
        for command in [["evaluate"], ["predict", "--out", folder.path("p.h5")]] {
            try refused(
                command + ["--model", config, "--weights", unwritten, "--data", data], status: 1,
                message: "\(unwritten), dataset 'layers/dense/vars/1': declares shape (1) but holds no data: nothing was ever "
                    + "written to it, so every value would be its fill value")
        }
    }

    func testNaNWeightsAreRefusedByEveryCommand() throws {
        let (data, model) = try dataAndModel()
        let (config, weights) = try configAndWeights(model)
        do {
            let file = try HDF5File(path: weights, mode: .readWrite)
            var nan: Float = .nan
            try file.write("layers/dense/vars/1", rows: 0..<1, from: &nan)
            try file.close()
        }
        let message =
            "\(weights), dataset 'layers/dense/vars/1': the bias of layer 'dense' holds nan at index 0; "
            + "a model's weights must be finite (was it saved from a run that diverged?)"
        let loaded = ["--model", config, "--weights", weights]
        try refused(["evaluate"] + loaded + ["--data", data], status: 1, message: message)
        try refused(["predict"] + loaded + ["--data", data, "--out", folder.path("p.h5")], status: 1, message: message)
        try refused(["train"] + loaded + ["--data", data, "--epochs", "1", "--quiet"], status: 1, message: message)
        try refused(["convert", config, folder.path("copy.keras"), "--weights", weights], status: 1, message: message)
    }

    func testAKerasArchiveWithTwoEntriesOfOneNameIsRefused() throws {
        let (data, model) = try dataAndModel()
        let doubled = folder.path("doubled.keras")
        let parts = folder.url.appendingPathComponent("parts")
        try FileManager.default.createDirectory(at: parts, withIntermediateDirectories: true)
        let source = try Archive(url: URL(fileURLWithPath: model), accessMode: .read, pathEncoding: nil)
        for entry in source { _ = try source.extract(entry, to: parts.appendingPathComponent(entry.path)) }
        do {
            let archive = try Archive(url: URL(fileURLWithPath: doubled), accessMode: .create, pathEncoding: nil)
            for name in ["config.json", "metadata.json", "model.weights.h5", "model.weights.h5"] {
                try archive.addEntry(with: name, fileURL: parts.appendingPathComponent(name), compressionMethod: .none)
            }
        }
        try FileManager.default.removeItem(at: parts)
        try refused(
            ["evaluate", "--model", doubled, "--data", data], status: 1,
            message: "\(doubled): holds 2 entries named model.weights.h5; Keras reads the last, Loom refuses an archive "
                + "whose entries disagree on what it holds")
    }
}
