import Foundation
import Loom
import LoomHDF5
import XCTest

/// The loss and metrics `loom evaluate` and `loom train` report when the command line names
/// none: a compiled `.keras` model's own, as Keras's `evaluate` reports them; else accuracy
/// with a cross-entropy loss (mae cannot take class indices) and mae with the others.
extension CLITests {
    /// X `(40, 6, 3)`, regression targets `y` and class indices `labels` (3 classes).
    private func classesData() throws -> String {
        let data = folder.path("classes.h5")
        let file = try HDF5File(path: data, mode: .create)
        try file.write(try Tensor(shape: [40, 6, 3], scalars: (0..<720).map { Float(($0 * 7) % 11) / 11 - 0.5 }), as: "X")
        try file.write(try Tensor(shape: [40, 1], scalars: (0..<40).map { Float($0 % 5) / 5 }), as: "y")
        try file.write(try Tensor(shape: [40, 1], scalars: (0..<40).map { Float($0 % 3) }), as: "labels")
        try file.close()
        return data
    }

    /// `key: value` lines of an evaluation, by key.
    private func scores(_ output: String) -> [String: String] {
        Dictionary(
            uniqueKeysWithValues: output.split(separator: "\n").compactMap { line in
                let parts = line.split(separator: ":", maxSplits: 1)
                return parts.count == 2 ? (String(parts[0]), parts[1].trimmingCharacters(in: .whitespaces)) : nil
            })
    }

    func testEvaluateReportsTheCompiledLossAndMetrics() throws {
        let data = try classesData(), huber = folder.path("huber.keras")
        let common = ["--data", data, "--epochs", "1", "--units", "4", "--batch-size", "8", "--quiet"]
        try loom(["train", "--loss", "huber", "--metrics", "mse", "--save", huber] + common)
        let compiled = scores(try loom(["evaluate", "--model", huber, "--data", data]).out)
        XCTAssertEqual(Set(compiled.keys), ["loss", "mse"])
        XCTAssertEqual(
            scores(try loom(["evaluate", "--model", huber, "--data", data, "--loss", "huber", "--metrics", "mse"]).out), compiled)
        // --loss replaces the file's loss, and its metrics with the loss's default.
        let squared = scores(try loom(["evaluate", "--model", huber, "--data", data, "--loss", "mse"]).out)
        XCTAssertEqual(Set(squared.keys), ["loss", "mae"])
        XCTAssertEqual(squared["loss"], compiled["mse"])
        XCTAssertNotEqual(squared["loss"], compiled["loss"])
        XCTAssertEqual(
            Set(scores(try loom(["evaluate", "--model", huber, "--data", data, "--metrics", "mape"]).out).keys), ["loss", "mape"])
        // train and evaluate read --metrics alike: spaces after the commas, a metric named twice refused.
        let spaced = scores(try loom(["evaluate", "--model", huber, "--data", data, "--metrics", "mape, mse"]).out)
        XCTAssertEqual(Set(spaced.keys), ["loss", "mape", "mse"])
        XCTAssertEqual(spaced["mse"], compiled["mse"])
        let repeated = try loom(["evaluate", "--model", huber, "--data", data, "--metrics", "mse,mean_squared_error"], expect: 64)
        XCTAssertTrue(repeated.err.contains("--metrics names mse twice; name each metric once"), repeated.err)
    }

    func testAMonitorOfTheCompiledMetricsIsWatched() throws {
        let data = try classesData(), huber = folder.path("huber.keras"), history = folder.path("continued.csv")
        let common = ["--data", data, "--epochs", "2", "--batch-size", "8", "--quiet", "--validation-split", "0.25"]
        try loom(["train", "--loss", "huber", "--metrics", "mse", "--units", "4", "--save", huber] + common)
        // The file's metrics are logged, so --monitor may name them without --metrics.
        let watched = try loom(
            ["train", "--model", huber, "--monitor", "val_mse", "--early-stopping", "1", "--history", history] + common)
        XCTAssertEqual(watched.err, "")
        let header = try String(contentsOfFile: history, encoding: .utf8).split(separator: "\n").first
        XCTAssertEqual(header, "epoch,loss,mse,val_loss,val_mse,learning_rate")
        let unlogged = try loom(["train", "--model", huber, "--monitor", "val_mae", "--early-stopping", "1"] + common, expect: 64)
        XCTAssertTrue(
            unlogged.err.contains(
                "--monitor val_mae, watched by --early-stopping, is never logged; this run logs loss, mse, val_loss, val_mse, learning_rate"
            ),
            unlogged.err)
    }

    func testACrossEntropyLossReportsAccuracyByDefault() throws {
        let data = try classesData(), classifier = folder.path("classifier.keras"), history = folder.path("classes.csv")
        let trained = try loom([
            "train", "--data", data, "--y", "labels", "--loss", "sparse_categorical_crossentropy", "--classes", "3", "--epochs", "1",
            "--units", "4", "--batch-size", "8", "--quiet", "--save", classifier, "--history", history,
        ])
        XCTAssertEqual(trained.err, "")
        let header = try String(contentsOfFile: history, encoding: .utf8).split(separator: "\n").first
        XCTAssertEqual(header, "epoch,accuracy,loss,val_accuracy,val_loss,learning_rate")
        XCTAssertEqual(
            Set(scores(try loom(["evaluate", "--model", classifier, "--data", data, "--y", "labels"]).out).keys), ["loss", "accuracy"])
        let uncompiled = folder.path("classifier.json"), weights = folder.path("classifier.weights.h5")
        try loom(["convert", classifier, uncompiled])
        try loom(["convert", classifier, weights])
        let named = try loom([
            "evaluate", "--model", uncompiled, "--weights", weights, "--data", data, "--y", "labels", "--loss",
            "sparse_categorical_crossentropy",
        ])
        XCTAssertEqual(Set(scores(named.out).keys), ["loss", "accuracy"])
    }
}
