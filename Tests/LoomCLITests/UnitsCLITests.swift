import Foundation
import Loom
import LoomHDF5
import XCTest

/// A new user's data in the CSV's own units: scaled at import, new data scaled the same way
/// (`--scaling-from`), predictions mapped back (`predict --unscale`); the CSV reader's options.
extension CLITests {
    func testPredictionsBackInTheCSVsUnits() throws {
        let csv = try writeSeries(), semicolons = folder.path("new.csv")
        // The same series in European CSV: semicolons between fields.
        try String(contentsOfFile: csv, encoding: .utf8).replacingOccurrences(of: ",", with: ";")
            .write(toFile: semicolons, atomically: true, encoding: .utf8)
        let (data, fresh, model) = (folder.path("series.h5"), folder.path("new.h5"), folder.path("m.keras"))
        try loom(["import", "csv", csv, "--window", "8", "--columns", "s,c", "--target", "s", "--scaling", "standard", "--out", data])
        try loom(["import", "csv", semicolons, "--delimiter", ";", "--window", "8", "--scaling-from", data, "--out", fresh])
        let scaling = try ColumnScaling.read(from: data)
        XCTAssertEqual(try ColumnScaling.read(from: fresh), scaling)
        XCTAssertEqual(try HDF5File(path: fresh).read("X"), try HDF5File(path: data).read("X"))
        try loom(["train", "--data", data, "--epochs", "1", "--units", "4", "--quiet", "--save", model])
        let (scaled, unscaled) = (folder.path("p.h5"), folder.path("u.h5"))
        try loom(["predict", "--model", model, "--data", fresh, "--out", scaled])
        let said = try loom(["predict", "--model", model, "--data", fresh, "--out", unscaled, "--unscale"]).out
        XCTAssertEqual(said, "wrote (112, 1) predictions to \(unscaled) in the units of s\n")
        let s = try XCTUnwrap(scaling.parameters["s"])
        let expected = try HDF5File(path: scaled).read("predictions").scalars.map { Float(Double($0) * s.scale + s.shift) }
        XCTAssertEqual(try HDF5File(path: unscaled).read("predictions").scalars, expected)

        for (options, message) in [
            (["--delimiter", ";;"], "--delimiter must be one character"),
            (["--scaling-from", data, "--scaling", "minmax"], "--scaling-from takes the earlier import's scaling"),
        ] {
            let refused = try loom(["import", "csv", semicolons, "--window", "8", "--out", fresh] + options, expect: 64)
            XCTAssertTrue(refused.err.contains(message), refused.err)
        }
        let unscaledData = folder.path("plain.h5")
        let plain = try HDF5File(path: unscaledData, mode: .create)
        try plain.write(Tensor(shape: [4, 8, 2]), as: "X")
        try plain.close()
        let refused = try loom(["predict", "--model", model, "--data", unscaledData, "--out", unscaled, "--unscale"], expect: 1)
        XCTAssertTrue(refused.err.contains("holds no column scaling"), refused.err)
    }
}
