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
        // The first bad field by line, whatever its column.
        let gaps = try writeCSV("a,b\n1,2\n3,\nNA,6\n", "gaps.csv")
        XCTAssertEqual(
            message { try CSVImporter(window: 1, columns: ["a", "b"]).run(csv: gaps, output: out) },
            "\(gaps): line 3, column 'b': '' is not a finite number")
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

    /// The columns imported by default are those with a number in any row, not in the first
    /// alone: a missing value on the first line is refused by line, not its column dropped
    /// (which changed the default target unseen); a column of text is left out. A field quoted
    /// in an error is cut short (a quote left open runs to the end of the file).
    func testCSVDefaultColumnsAndLongFieldsInErrors() throws {
        let out = folder.path("out.h5")
        let missingFirst = try writeCSV("a,b\n1,NA\n3,4\n5,6\n", "missing.csv")
        XCTAssertEqual(
            message { try CSVImporter(window: 1).run(csv: missingFirst, output: out) },
            "\(missingFirst): line 2, column 'b': 'NA' is not a finite number")
        let text = try writeCSV("day,a,b\nmon,1,2\ntue,3,4\nwed,5,6\n", "text.csv")
        XCTAssertEqual(try CSVImporter(window: 1).run(csv: text, output: out).featureColumns, ["a", "b"])
        XCTAssertEqual(
            message { try CSVImporter(window: 1, columns: ["a", "2", "b"]).run(csv: text, output: out) },
            "\(text): the feature columns name column 'b' twice")
        XCTAssertEqual(
            message { try CSVSequenceImporter(groupBy: "day", targets: ["a", "a"]).run(csv: text, output: out) },
            "\(text): the target columns name column 'a' twice")
        let field = String(repeating: "7", count: 100_000)
        let long = try writeCSV("a,b\n1,2\n3,x\(field)\n5,6\n", "long.csv")
        let refusal = message { try CSVImporter(window: 1).run(csv: long, output: out) }
        XCTAssertLessThan(refusal.count, 300, refusal)
        XCTAssertEqual(refusal, "\(long): line 3, column 'b': 'x\(field.prefix(39))…' (100001 characters) is not a finite number")
        let unclosed = try writeCSV("a,b\n1,2\n3,\"4\n5,6\n7,8\n", "unclosed.csv")
        let open = message { try CSVImporter(window: 1, columns: ["a"], targets: ["b"]).run(csv: unclosed, output: out) }
        XCTAssertLessThan(open.count, 300, open)
        XCTAssertTrue(open.contains("is a quote left open?"), open)
    }

    /// Sequences padded to a length no memory holds are refused before anything is allocated.
    func testSequenceImportRefusesAPaddedLengthBeyondMemory() throws {
        let csv = try writeCSV("id,v\n1,0.5\n1,0.25\n2,1\n", "long.csv")
        let out = folder.path("long.h5")
        for length in [1 << 62, Int(Sequential.memoryLimit.bytes / 4)] {
            let refusal = message {
                try CSVSequenceImporter(groupBy: "id", maxLength: length, columns: ["v"], targets: ["v"]).run(csv: csv, output: out)
            }
            XCTAssertTrue(refusal.contains("2 sequences padded to \(length) steps would need "), refusal)
            XCTAssertTrue(refusal.hasSuffix("give a smaller --max-length"), refusal)
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: out))
    }

    /// RFC 4180 as spreadsheets write it: a byte-order mark, CRLF line ends, quoted fields with
    /// the delimiter, a doubled quote and a line break inside, blank lines; a ragged row after a
    /// quoted line break is refused by the line it starts on.
    func testCSVQuotesLineEndsAndByteOrderMark() throws {
        let text = "\u{FEFF}id,\"note, free\",a,b\r\n1,\"x, \"\"y\"\"\",1.5,2\r\n\r\n2,\"two\nlines\",2.5,3\r\n3, plain ,3.5,4\r\n"
        let csv = try writeCSV(text, "quoted.csv")
        let out = folder.path("quoted.h5")
        let summary = try CSVImporter(window: 1, columns: ["a", "b"], targets: ["b"]).run(csv: csv, output: out)
        XCTAssertEqual(summary.featureColumns, ["a", "b"])
        XCTAssertEqual(try HDF5File(path: out).read("X").scalars, [1.5, 2, 2.5, 3])
        XCTAssertEqual(try HDF5File(path: out).read("y").scalars, [3, 4])
        XCTAssertEqual(try CSVImporter(window: 1).run(csv: csv, output: out).featureColumns, ["id", "a", "b"])
        // A header name that holds the delimiter is reached by its index.
        XCTAssertEqual(
            message { try CSVImporter(window: 1, columns: ["1"]).run(csv: csv, output: out) },
            "\(csv): line 2, column 'note, free': 'x, \"y\"' is not a finite number")
        let ragged = try writeCSV("a,b\n\"1\n2\",3\n4\n5,6\n", "ragged.csv")
        XCTAssertEqual(message { try CSVImporter(window: 1).run(csv: ragged, output: out) }, "\(ragged): line 4 has 1 fields, expected 2")
        let latin1 = folder.path("latin1.csv")
        try Data([0x61, 0x2C, 0x62, 0x0A, 0x31, 0x2C, 0xFF, 0x0A]).write(to: URL(fileURLWithPath: latin1))
        XCTAssertEqual(message { try CSVImporter(window: 1).run(csv: latin1, output: out) }, "\(latin1): is not UTF-8 text (line 2)")
    }

    /// `--delimiter` and `--no-header`: semicolons and tabs; a first row of numbers read as data
    /// or, told there is none, a first row of names refused as data.
    func testCSVDelimitersAndHeaderRule() throws {
        let semicolons = try writeCSV("a;b\n1,5;2\n3;4\n5;6\n", "semicolons.csv")
        let out = folder.path("d.h5")
        XCTAssertEqual(
            message {
                try CSVImporter(window: 1, columns: ["a", "b"], format: CSVFormat(delimiter: ";")).run(csv: semicolons, output: out)
            },
            "\(semicolons): line 2, column 'a': '1,5' is not a finite number")
        let tabs = try writeCSV("1\t2\n3\t4\n5\t6\n", "tabs.tsv")
        let summary = try CSVImporter(window: 1, format: CSVFormat(delimiter: "\t", header: .absent)).run(csv: tabs, output: out)
        XCTAssertEqual(summary.samples, 2)
        XCTAssertEqual(try HDF5File(path: out).read("X").scalars, [1, 2, 3, 4])
        let named = try writeCSV("x,y\n1,2\n3,4\n", "named.csv")
        XCTAssertEqual(
            message { try CSVImporter(window: 1, columns: ["0", "1"], format: CSVFormat(header: .absent)).run(csv: named, output: out) },
            "\(named): line 1, column '0': 'x' is not a finite number")
        let numbers = try writeCSV("10,20\n1,2\n3,4\n", "numbers.csv")
        XCTAssertEqual(
            try CSVImporter(window: 1, format: CSVFormat(header: .present)).run(csv: numbers, output: out).featureColumns, ["10", "20"])
    }

    /// `--scaling-from`: new data scaled with the training file's parameters and columns; the
    /// parameters map the stored targets back to the CSV's values.
    func testScalingFromAnEarlierImportAndBack() throws {
        let training = try writeCSV("t,a,b\n0,1,10\n1,2,30\n2,3,20\n3,4,40\n", "training.csv")
        let fresh = try writeCSV("t,a,b,c\n0,5,50,7\n1,7,25,7\n2,9,35,7\n", "fresh.csv")
        let (fitted, scaledAgain) = (folder.path("training.h5"), folder.path("fresh.h5"))
        try CSVImporter(window: 1, columns: ["a", "b"], targets: ["b"], scaling: .standard).run(csv: training, output: fitted)
        let scaling = try ColumnScaling.read(from: fitted)
        XCTAssertEqual(scaling.kind, .standard)
        XCTAssertEqual(scaling.features, ["a", "b"])
        XCTAssertEqual(scaling.parameters["a"]?.shift, 2.5)
        try CSVImporter(window: 1, scalingFrom: scaling).run(csv: fresh, output: scaledAgain)
        let file = try HDF5File(path: scaledAgain)
        XCTAssertEqual(try file.stringAttribute("feature_columns"), "a,b")
        XCTAssertEqual(try file.doubleAttribute("feature_shift"), try HDF5File(path: fitted).doubleAttribute("feature_shift"))
        let x = try file.read("X").scalars, y = try file.read("y")
        let a = scaling.parameters["a"]!, b = scaling.parameters["b"]!
        XCTAssertEqual(x[0], Float((5 - a.shift) / a.scale), accuracy: 1e-6)
        XCTAssertEqual(x[1], Float((50 - b.shift) / b.scale), accuracy: 1e-6)
        var targets = y.scalars
        try targets.withUnsafeMutableBufferPointer { try ColumnScaling.read(from: scaledAgain).unscale($0, width: 1) }
        XCTAssertEqual(targets[0], 25, accuracy: 1e-5)
        XCTAssertEqual(targets[1], 35, accuracy: 1e-5)
        XCTAssertEqual(
            message {
                try CSVImporter(window: 1, columns: ["c"], targets: ["b"], scalingFrom: scaling).run(csv: fresh, output: scaledAgain)
            },
            "\(fresh): column 'c' has no scaling in the file given (it scaled a, b)")
        let twins = try writeCSV("a,a\n1,2\n3,4\n5,6\n", "twins.csv")
        XCTAssertEqual(
            message { try CSVImporter(window: 1, columns: ["0", "1"], scaling: .minMax).run(csv: twins, output: scaledAgain) },
            "\(twins): columns 0 and 1 are both named 'a'; rename one to import both")
        let plain = folder.path("plain.h5")
        try HDF5File(path: plain, mode: .create).close()
        XCTAssertTrue(
            message { _ = try ColumnScaling.read(from: plain) }.hasSuffix(
                "holds no column scaling (the attributes `loom import csv` writes: scaling, feature_columns, target_columns)"))
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
