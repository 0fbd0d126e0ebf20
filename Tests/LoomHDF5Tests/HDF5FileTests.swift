import CHDF5
import Foundation
import Loom
import TestSupport
import XCTest

@testable import LoomHDF5

final class HDF5FileTests: XCTestCase {
    let folder = TemporaryFolder()

    func testRoundTripOfEveryRank() throws {
        let path = folder.path("ranks.h5")
        let file = try HDF5File(path: path, mode: .create)
        let tensors = (1...5).map { rank in ramp(Array([4, 3, 2, 2, 3].prefix(rank)), scale: 0.5, offset: -3) }
        for (i, tensor) in tensors.enumerated() { try file.write(tensor, as: "rank\(i + 1)", compression: i % 2 == 0 ? 4 : nil) }
        let reopened = try HDF5File(path: path)
        for (i, tensor) in tensors.enumerated() {
            XCTAssertEqual(try reopened.read("rank\(i + 1)"), tensor)
            XCTAssertEqual(try reopened.info(of: "rank\(i + 1)").elementType, .float(bits: 32))
        }
        XCTAssertEqual(reopened.rootNames(), ["rank1", "rank2", "rank3", "rank4", "rank5"])
    }

    func testEveryNumericTypeIsReadAsFloat() throws {
        let path = folder.path("types.h5")
        let values: [Double] = [-3, 0, 1, 2, 120, 7]
        let types: [(String, hid_t, HDF5ElementType)] = [
            ("f64", loom_h5t_native_double(), .float(bits: 64)),
            ("i32", loom_h5t_native_int32(), .integer(bits: 32, signed: true)),
            ("i64", loom_h5t_native_int64(), .integer(bits: 64, signed: true)),
            ("i8", loom_h5t_native_int8(), .integer(bits: 8, signed: true)),
            ("u16", loom_h5t_native_uint16(), .integer(bits: 16, signed: false)),
        ]
        for (name, type, _) in types where name != "u16" {
            writeRaw(path: path, name: name, shape: [2, 3], values: values, type: type)
        }
        writeRaw(path: path, name: "u16", shape: [2, 3], values: values.map(abs), type: loom_h5t_native_uint16())
        let file = try HDF5File(path: path)
        for (name, _, kind) in types {
            XCTAssertEqual(try file.info(of: name).elementType, kind, name)
            XCTAssertEqual(try file.read(name).scalars, (name == "u16" ? values.map(abs) : values).map(Float.init), name)
        }
    }

    func testRowsAndAttributes() throws {
        let path = folder.path("rows.h5")
        let file = try HDF5File(path: path, mode: .create)
        try file.write(ramp([10, 2, 3]), as: "group/X", chunkRows: 3)
        try file.setAttribute("window", [24])
        try file.setAttribute("scaling", "minmax", on: "group/X")
        var buffer = [Float](repeating: 0, count: 3 * 6)
        try buffer.withUnsafeMutableBufferPointer { try file.read("group/X", rows: 4..<7, into: $0.baseAddress!) }
        XCTAssertEqual(buffer, (24..<42).map(Float.init))
        XCTAssertEqual(try file.doubleAttribute("window"), [24])
        XCTAssertEqual(try file.stringAttribute("scaling", on: "group/X"), "minmax")
        XCTAssertNil(try file.stringAttribute("absent"))
        XCTAssertEqual(
            message { try file.read("group/X", rows: 8..<11, into: &buffer) },
            "\(path), dataset 'group/X': rows 8..<11 outside its 10 rows")
    }

    func testMissingFile() {
        let path = folder.path("absent.h5")
        XCTAssertEqual(message { _ = try HDF5File(path: path) }, "\(path): no such file")
    }

    func testRandomBytesAreNotHDF5() throws {
        let path = folder.path("random.h5")
        var generator = SeededGenerator(seed: 1)
        try Data((0..<4096).map { _ in UInt8(truncatingIfNeeded: generator.next()) }).write(to: URL(fileURLWithPath: path))
        XCTAssertEqual(message { _ = try HDF5File(path: path) }, "\(path): not an HDF5 file (no HDF5 signature)")
    }

    /// A folder, or a dataset compressed with a filter this libhdf5 lacks (zstd.h5, from
    /// make_zstd.py with hdf5plugin), is named for what it is, not called a damaged file.
    func testAFolderAndAMissingFilterAreNamed() throws {
        let inside = folder.path("data.h5")
        try FileManager.default.createDirectory(atPath: inside, withIntermediateDirectories: false)
        XCTAssertEqual(message { _ = try HDF5File(path: inside) }, "\(inside): is a folder, not a file")
        let fixture = try XCTUnwrap(Bundle.module.url(forResource: "Fixtures/zstd.h5", withExtension: nil))
        let text = message { _ = try HDF5File(path: fixture.path).read("X") }
        XCTAssertTrue(text.contains("dataset 'X': reading rows 0..<40 failed: its chunks are compressed with HDF5 filter 32015"), text)
        XCTAssertTrue(text.contains("set HDF5_PLUGIN_PATH to its folder"), text)
        let rows = message {
            let dataset = try HDF5Dataset(path: fixture.path)
            let inputs = UnsafeMutablePointer<Float>.allocate(capacity: 8 * 18)
            defer { inputs.deallocate() }
            try dataset.read(rows: [0, 1], inputs: inputs, targets: nil)
        }
        XCTAssertTrue(rows.contains("failed: its chunks are compressed with HDF5 filter 32015"), rows)
    }

    func testTruncatedFileGivesAnErrorNotACrash() throws {
        let path = folder.path("whole.h5"), cut = folder.path("cut.h5")
        try HDF5File(path: path, mode: .create).write(ramp([2000, 10, 4]), as: "X")
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        try data.prefix(data.count / 2).write(to: URL(fileURLWithPath: cut))
        let text = message {
            let file = try HDF5File(path: cut)
            _ = try file.read("X")
        }
        XCTAssertTrue(text.hasPrefix("\(cut)"), text)
        XCTAssertTrue(text.contains("truncated or damaged"), text)
    }

    func testScatteredRowsOfEveryLayoutAndAUserBlock() throws {
        // Fixtures/layouts.h5 (make_layouts.py): one array, element (r, i, j) = 100r + 10i + j, stored
        // contiguous little- and big-endian float32, float64, chunked with gzip and compact, behind a
        // 1,024-byte user block. Contiguous little-endian rows are read with pread at their offsets,
        // the others through HDF5; a file open for writing always reads through HDF5.
        let fixture = try XCTUnwrap(Bundle.module.url(forResource: "Fixtures/layouts.h5", withExtension: nil))
        let path = folder.path("layouts.h5")
        try FileManager.default.copyItem(at: fixture, to: URL(fileURLWithPath: path))
        let rows = [0, 1, 2, 7, 8, 20, 35, 36]
        let expected = rows.flatMap { r in (0..<3).flatMap { i in (0..<2).map { j in Float(100 * r + 10 * i + j) } } }
        for mode in [HDF5File.Mode.read, .readWrite] {
            let file = try HDF5File(path: path, mode: mode)
            XCTAssertEqual(try file.contiguousPlacement("le", shape: [37, 3, 2]) != nil, mode == .read, "\(mode)")
            for name in ["be", "f64", "chunked", "compact"] { XCTAssertNil(try file.contiguousPlacement(name, shape: [37, 3, 2]), name) }
            for name in ["le", "be", "f64", "chunked", "compact"] {
                for _ in 0..<2 {
                    var values = [Float](repeating: -1, count: rows.count * 6)
                    try values.withUnsafeMutableBufferPointer { try file.read(name, sortedRows: rows, into: $0.baseAddress!) }
                    XCTAssertEqual(values, expected, "\(name), \(mode)")
                }
            }
            var two = [Float](repeating: 0, count: 12)
            let outside = message {
                try two.withUnsafeMutableBufferPointer { try file.read("le", sortedRows: [36, 37], into: $0.baseAddress!) }
            }
            XCTAssertTrue(outside.contains("row 37 outside its 37 rows"), outside)
            try file.close()
            let closed = message { try two.withUnsafeMutableBufferPointer { try file.read("le", sortedRows: [1], into: $0.baseAddress!) } }
            XCTAssertTrue(closed.hasPrefix(path), closed)
        }
        // Datasets that may lie in other files (links) are read through HDF5.
        let following = try HDF5File(path: path, followsOtherFiles: true)
        XCTAssertNil(try following.contiguousPlacement("le", shape: [37, 3, 2]))
    }

    func testAContiguousDatasetCutWhileOpenIsAnErrorNotACrash() throws {
        let path = folder.path("cut-later.h5")
        try HDF5File(path: path, mode: .create).write(ramp([2000, 10, 4]), as: "X")
        let file = try HDF5File(path: path)
        var values = [Float](repeating: 0, count: 2 * 40)
        try values.withUnsafeMutableBufferPointer { try file.read("X", sortedRows: [3, 1990], into: $0.baseAddress!) }
        XCTAssertEqual(values[40], ramp([2000, 10, 4]).scalars[1990 * 40])
        XCTAssertEqual(truncate(path, 100_000), 0)
        let text = message {
            try values.withUnsafeMutableBufferPointer { try file.read("X", sortedRows: [3, 1990], into: $0.baseAddress!) }
        }
        XCTAssertTrue(text.hasPrefix(path), text)
        XCTAssertTrue(text.contains("truncated or damaged"), text)
    }

    func testMissingDatasetListsWhatIsThere() throws {
        let path = folder.path("names.h5")
        let file = try HDF5File(path: path, mode: .create)
        try file.write(ramp([2, 2]), as: "inputs")
        try file.write(ramp([2, 1]), as: "targets")
        XCTAssertEqual(message { _ = try file.read("X") }, "\(path), dataset 'X': no such dataset (the file has: inputs, targets)")
        try file.write(ramp([2, 2]), as: "train/X")
        XCTAssertEqual(message { _ = try file.read("train") }, "\(path), dataset 'train': is a group, not a dataset")
    }

    func testStringsAreRefused() throws {
        let path = folder.path("strings.h5")
        writeStrings(path: path, name: "X", count: 3)
        XCTAssertEqual(
            message { _ = try HDF5File(path: path).read("X") },
            "\(path), dataset 'X': holds string values; Loom reads numbers (float or integer) only")
    }

    /// Datasets whose values lie elsewhere (an external link, a soft link through one, a
    /// virtual dataset) are read only when the file may follow other files; even then a virtual dataset mapped onto a virtual dataset (here onto itself,
    /// which overflows libhdf5's stack) or onto a missing one is refused.
    func testDatasetsOfOtherFilesAndVirtualChains() throws {
        let source = folder.path("source.h5"), path = folder.path("mapped.h5")
        let values = ramp([4, 2], scale: 1, offset: 0)
        do {
            let file = try HDF5File(path: source, mode: .create)
            try file.write(values, as: "X")
            try file.close()
        }
        do {
            let file = try HDF5File(path: path, mode: .create)
            try file.createExternalLink("linked", to: "/X", in: source)
            try file.createVirtualDataset("virtual", shape: [4, 2], source: source, dataset: "/X")
            try file.createVirtualDataset("itself", shape: [4, 2], source: ".", dataset: "/itself")
            try file.createVirtualDataset("nothing", shape: [4, 2], source: ".", dataset: "/none")
            try file.createExternalLink("elsewhere", to: "/", in: source)
            try file.close()
        }
        // A soft link whose target crosses an external link, made with libhdf5 itself.
        let raw = H5Fopen(path, loom_h5f_acc_rdwr(), loom_h5p_default())
        XCTAssertGreaterThanOrEqual(H5Lcreate_soft("/elsewhere/X", raw, "soft", loom_h5p_default(), loom_h5p_default()), 0)
        H5Fclose(raw)
        let strict = try HDF5File(path: path), following = try HDF5File(path: path, followsOtherFiles: true)
        XCTAssertEqual(
            message { _ = try strict.read("linked") },
            "\(path), dataset 'linked': 'linked' is an external link to another file (\(source):/X); Loom reads only self-contained files")
        XCTAssertEqual(
            message { _ = try strict.read("virtual") },
            "\(path), dataset 'virtual': is a virtual dataset (its values come from other datasets); Loom reads only self-contained files")
        XCTAssertEqual(
            message { _ = try strict.read("soft") },
            "\(path), dataset 'soft': is reached through a link to another file; Loom reads only self-contained files")
        XCTAssertEqual(try following.read("soft"), values)
        XCTAssertEqual(try following.read("linked"), values)
        XCTAssertEqual(try following.read("virtual"), values)
        XCTAssertEqual(
            message { _ = try following.read("itself") },
            "\(path), dataset 'itself': is a virtual dataset whose source .:/itself is itself virtual; Loom follows one level of "
                + "mapping only")
        XCTAssertEqual(
            message { _ = try following.read("nothing") },
            "\(path), dataset 'nothing': is a virtual dataset whose source .:/none is missing or reached through a link to "
                + "another file: its values would read as the fill value")
    }
}
