import Foundation
import Loom
import LoomHDF5
import TestSupport
import XCTest

final class ImporterTests: XCTestCase {
    let folder = TemporaryFolder()

    private func writeCSV(_ text: String, _ name: String = "series.csv") throws -> String {
        let path = folder.path(name)
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    func testCSVWindowsWithHeader() throws {
        let csv = try writeCSV("date,a,b\n2020-01,1,10\n2020-02,2,20\n2020-03,3,30\n2020-04,4,40\n2020-05,5,50\n")
        let out = folder.path("windows.h5")
        let summary = try CSVImporter(window: 2, horizon: 2, columns: ["a", "b"], targets: ["b"]).run(csv: csv, output: out)
        XCTAssertEqual(summary.samples, 2)
        XCTAssertEqual(summary.featureColumns, ["a", "b"])
        XCTAssertEqual(summary.targetColumns, ["b"])
        XCTAssertEqual(summary.inputShape, [2, 2, 2])
        XCTAssertEqual(summary.targetShape, [2, 2])
        let file = try HDF5File(path: out)
        XCTAssertEqual(try file.read("X").scalars, [1, 10, 2, 20, 2, 20, 3, 30])
        XCTAssertEqual(try file.read("y").scalars, [30, 40, 40, 50])
        XCTAssertEqual(try file.stringAttribute("feature_columns"), "a,b")
        XCTAssertEqual(try file.doubleAttribute("target_feature_index"), [1])
    }

    func testCSVWithoutHeaderSeveralTargetsAndMinMaxScaling() throws {
        let csv = try writeCSV("0,5\n2,6\n4,7\n6,8\n")
        let out = folder.path("scaled.h5")
        try CSVImporter(window: 2, horizon: 1, targets: ["0", "1"], scaling: .minMax).run(csv: csv, output: out)
        let file = try HDF5File(path: out)
        XCTAssertEqual(try file.read("y").shape, [2, 1, 2])
        // Column 0 spans 0...6 and column 1 5...8: both scale to thirds.
        let thirds: [Float] = try file.read("X").scalars.map { ($0 * 3).rounded() }
        XCTAssertEqual(thirds, [0, 0, 1, 1, 1, 1, 2, 2])
        XCTAssertEqual(try file.doubleAttribute("feature_shift"), [0, 5])
        XCTAssertEqual(try file.doubleAttribute("feature_scale"), [6, 3])
        XCTAssertEqual(try file.stringAttribute("scaling"), "minmax")
    }

    func testCSVErrors() throws {
        let csv = try writeCSV("a,b\n1,2\n3,x\n5,6\n", "bad.csv")
        let out = folder.path("bad.h5")
        XCTAssertEqual(
            message { try CSVImporter(window: 1, columns: ["a", "b"]).run(csv: csv, output: out) },
            "\(csv): line 3, column 'b': 'x' is not a finite number")
        XCTAssertEqual(
            message { try CSVImporter(window: 1, columns: ["c"]).run(csv: csv, output: out) },
            "\(csv): has no column 'c' (columns: a, b)")
        XCTAssertEqual(
            message { try CSVImporter(window: 3, horizon: 2, columns: ["a"]).run(csv: csv, output: out) },
            "\(csv): has 3 rows; window 3 + horizon 2 needs at least 5")
        XCTAssertEqual(
            message { try CSVImporter(window: Int.max, horizon: 1, columns: ["a"]).run(csv: csv, output: out) },
            "\(csv): has 3 rows; window \(Int.max) + horizon 1 needs at least more than \(Int.max)")
        let ragged = try writeCSV("1,2\n3\n", "ragged.csv")
        XCTAssertEqual(message { try CSVImporter(window: 1).run(csv: ragged, output: out) }, "\(ragged): line 2 has 1 fields, expected 2")
        XCTAssertFalse(FileManager.default.fileExists(atPath: out), "no output file after a refused import")
    }

    /// A .npy file as NumPy writes it: magic, version 1.0, a padded header dict, raw data.
    private func writeNPY(_ name: String, descr: String, shape: [Int], data: [UInt8], fortran: Bool = false) throws -> String {
        let shapeText = "(" + shape.map(String.init).joined(separator: ", ") + (shape.count == 1 ? ",)" : ")")
        var header = "{'descr': '\(descr)', 'fortran_order': \(fortran ? "True" : "False"), 'shape': \(shapeText), }"
        while (10 + header.utf8.count + 1) % 64 != 0 { header += " " }
        header += "\n"
        var bytes: [UInt8] = [0x93] + Array("NUMPY".utf8) + [1, 0, UInt8(header.utf8.count & 0xFF), UInt8(header.utf8.count >> 8)]
        bytes += Array(header.utf8) + data
        let path = folder.path(name)
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return path
    }

    private func littleEndianBytes<T: FixedWidthInteger>(_ values: [T]) -> [UInt8] {
        values.flatMap { value in withUnsafeBytes(of: value.littleEndian) { Array($0) } }
    }

    func testNPYEveryDtypeRoundTrips() throws {
        let values: [Float] = [1.5, -2, 3, 4, 5, 6]
        let files = [
            try writeNPY("f4.npy", descr: "<f4", shape: [2, 3], data: littleEndianBytes(values.map(\.bitPattern))),
            try writeNPY("f8.npy", descr: "<f8", shape: [2, 3], data: littleEndianBytes(values.map { Double($0).bitPattern })),
            try writeNPY("i4.npy", descr: "<i4", shape: [2, 3], data: littleEndianBytes([1, -2, 3, 4, 5, 6] as [Int32])),
            try writeNPY("i8.npy", descr: "<i8", shape: [2, 3], data: littleEndianBytes([1, -2, 3, 4, 5, 6] as [Int64])),
        ]
        XCTAssertEqual(try NPYImporter.read(files[0]).scalars, values)
        XCTAssertEqual(try NPYImporter.read(files[1]).scalars, values)
        XCTAssertEqual(try NPYImporter.read(files[2]).scalars, [1, -2, 3, 4, 5, 6])
        XCTAssertEqual(try NPYImporter.read(files[3]).shape, [2, 3])
        let x = try writeNPY("x.npy", descr: "<f4", shape: [2, 3, 1], data: littleEndianBytes(values.map(\.bitPattern)))
        let y = try writeNPY("y.npy", descr: "<i8", shape: [2], data: littleEndianBytes([0, 1] as [Int64]))
        let out = folder.path("npy.h5")
        _ = try NPYImporter.run(x: x, y: y, output: out)
        let file = try HDF5File(path: out)
        XCTAssertEqual(try file.read("X"), try Tensor(shape: [2, 3, 1], scalars: values))
        XCTAssertEqual(try file.read("y").scalars, [0, 1])
    }

    func testNPYRefusals() throws {
        let big = try writeNPY("big.npy", descr: ">f4", shape: [2], data: [0, 0, 0, 0, 0, 0, 0, 0])
        XCTAssertTrue(
            message { _ = try NPYImporter.read(big) }.hasSuffix(
                "has dtype '>f4'; expected little-endian float32, float64, int32 or int64 (<f4, <f8, <i4, <i8)"))
        let fortran = try writeNPY("f.npy", descr: "<f4", shape: [2], data: [0, 0, 0, 0, 0, 0, 0, 0], fortran: true)
        XCTAssertTrue(message { _ = try NPYImporter.read(fortran) }.contains("Fortran order"))
        let short = try writeNPY("short.npy", descr: "<f4", shape: [3], data: [0, 0, 0, 0])
        XCTAssertEqual(message { _ = try NPYImporter.read(short) }, "\(short): holds 4 data bytes; shape (3) of '<f4' needs 12")
        let x = try writeNPY("x3.npy", descr: "<f4", shape: [3, 1], data: [UInt8](repeating: 0, count: 12))
        let y = try writeNPY("y2.npy", descr: "<f4", shape: [2], data: [UInt8](repeating: 0, count: 8))
        XCTAssertEqual(
            message { _ = try NPYImporter.run(x: x, y: y, output: self.folder.path("o.h5")) },
            "\(y): has 2 samples but \(x) has 3")
    }
}
