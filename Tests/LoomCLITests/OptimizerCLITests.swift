import Foundation
import Loom
import LoomKeras
import XCTest
import ZIPFoundation

/// `loom train`'s optimizers, clipping, schedules and large-batch recipe: each trains, the
/// history's learning rate follows the schedule, and a bad value is refused in one line
/// before any work.
extension CLITests {
    /// The history file's learning-rate column.
    private func rates(_ history: String) throws -> [Double] {
        let lines = try String(contentsOfFile: history, encoding: .utf8).split(separator: "\n")
        let column = try XCTUnwrap(lines[0].split(separator: ",").firstIndex(of: "learning_rate"))
        return lines.dropFirst().map { Double($0.split(separator: ",")[column])! }
    }

    func testEveryOptimizerWithClippingAndASchedule() throws {
        let csv = try writeSeries()
        let data = folder.path("series.h5")
        try loom(["import", "csv", csv, "--window", "8", "--columns", "s", "--out", data])
        // 112 windows, 89 for training: 3 updates an epoch at batch 32.
        let train = ["train", "--data", data, "--units", "4", "--quiet", "--batch-size", "32"]
        for (optimizer, extra) in [
            ("sgd", ["--momentum", "0.9", "--nesterov", "--clipnorm", "1"]), ("adamw", ["--weight-decay", "0.01"]),
            ("rmsprop", ["--clipvalue", "0.5"]), ("adagrad", []), ("adamax", ["--beta1", "0.8"]), ("nadam", ["--global-clipnorm", "1"]),
            ("lamb", ["--global-clipnorm", "1"]), ("lion", ["--lr", "0.0001"]), ("lars", ["--momentum", "0.8", "--weight-decay", "0.001"]),
        ] {
            let history = folder.path("\(optimizer).csv")
            try loom(train + ["--epochs", "2", "--optimizer", optimizer, "--history", history] + extra)
            XCTAssertEqual(try rates(history).count, 2, optimizer)
        }
        let history = folder.path("cosine.csv")
        try loom(train + ["--epochs", "3", "--lr", "0.01", "--schedule", "cosine:decay-steps=9", "--history", history])
        let cosine = CosineDecay(initialLearningRate: 0.01, decaySteps: 9)
        XCTAssertEqual(try rates(history), [3, 6, 9].map { Double(cosine.rate(afterSteps: $0)) })

        // Batch 64 from a rate found at 16, scaled by √4, warmed up over 1 epoch (2 updates).
        let recipe = folder.path("recipe.csv")
        try loom(
            train.dropLast(2) + [
                "--batch-size", "64", "--epochs", "3", "--lr", "0.005", "--lr-scaling", "sqrt", "--base-batch-size", "16",
                "--warmup-epochs", "1", "--history", recipe,
            ])
        XCTAssertEqual(try rates(recipe), [0.01, 0.01, 0.01].map { Double(Float($0)) })

        // Micro-batches of 16, 4 an update: the recipe scales to the update's 64 rows.
        let accumulated = folder.path("accumulated.csv")
        try loom(
            train.dropLast(2) + [
                "--batch-size", "16", "--accumulate", "4", "--epochs", "3", "--lr", "0.005", "--lr-scaling", "sqrt",
                "--base-batch-size", "16", "--warmup-epochs", "1", "--history", accumulated,
            ])
        XCTAssertEqual(try rates(accumulated), try rates(recipe))
    }

    func testBadOptimizerOptionsAreRefusedInOneLine() throws {
        let csv = try writeSeries()
        let data = folder.path("series.h5")
        try loom(["import", "csv", csv, "--window", "8", "--columns", "s", "--out", data])
        let train = ["train", "--data", data, "--units", "4", "--epochs", "1"]
        for (arguments, message) in [
            (["--optimizer", "adadelta"], "--optimizer must be one of sgd, adam"),
            (["--clipnorm", "1", "--clipvalue", "1"], "only one of clipnorm, clipvalue and global_clipnorm can be set"),
            (["--global-clipnorm=-2"], "--global-clipnorm must be a positive finite number"),
            (["--momentum", "0.9"], "optimizer 'adam' takes no momentum"),
            (["--optimizer", "sgd", "--beta1", "0.9"], "optimizer 'sgd' takes no beta1"),
            (["--beta2", "1"], "beta_2 must be in [0, 1)"),
            (["--schedule", "cosine:decay-step=10"], "schedule 'cosine' has no argument 'decay-step'"),
            (["--schedule", "step:decay-steps=10"], "unknown learning-rate schedule 'step'"),
            (["--lr-scaling", "sqrt"], "--lr-scaling sqrt needs --base-batch-size"),
            (["--lr-scaling", "cubic", "--base-batch-size", "8"], "--lr-scaling"),
            (["--legw", "--base-batch-size", "8"], "--legw needs --warmup-epochs"),
            (["--nesterov", "--optimizer", "sgd"], "--nesterov needs --momentum"),
            (["--accumulate", "0"], "--accumulate must be in 1...1048576"),
            (
                ["--lr", "0.1", "--schedule", "exponential:initial=0.1,decay-steps=5,decay-rate=0.5"],
                "--schedule's initial= sets the starting rate that --lr"
            ),
            (
                ["--schedule", "exponential:decay-steps=5,decay-rate=0.5", "--reduce-lr-on-plateau", "0.5,1"],
                "--reduce-lr-on-plateau sets the learning rate, which --schedule makes follow a schedule"
            ),
            (["--warmup-epochs", "1", "--reduce-lr-on-plateau", "0.5,1"], "which --warmup-epochs makes follow a schedule"),
        ] {
            let refused = try loom(train + arguments, expect: 64)
            XCTAssertTrue(refused.err.hasPrefix("Error: ") && refused.err.contains(message), "\(arguments): \(refused.err)")
            XCTAssertEqual(refused.out, "", "\(arguments): refused before any work")
        }
    }
}

extension CLITests {
    /// A compiled Keras model trains with its own optimizer, loss and metrics; an option
    /// given on the command line replaces its part and says so.
    func testACompiledKerasModelTrainsAsCompiledUnlessAnOptionReplacesIt() throws {
        let csv = try writeSeries()
        let data = folder.path("series.h5"), compiled = folder.path("compiled.keras")
        try loom(["import", "csv", csv, "--window", "5", "--columns", "s,c", "--target", "s", "--out", data])
        try loom([
            "train", "--data", data, "--units", "4", "--epochs", "1", "--quiet", "--optimizer", "lamb", "--global-clipnorm", "1", "--save",
            compiled,
        ])
        let history = folder.path("history.csv")
        let own = try loom(["train", "--data", data, "--model", compiled, "--epochs", "1", "--history", history])
        XCTAssertFalse(own.out.contains("replaces"), own.out)
        XCTAssertTrue(try String(contentsOfFile: history, encoding: .utf8).hasPrefix("epoch,loss,mae,val_loss,val_mae,learning_rate"))
        let replaced = try loom(["train", "--data", data, "--model", compiled, "--epochs", "1", "--lr", "0.01", "--loss", "mae"])
        XCTAssertTrue(
            replaced.out.contains("The command line replaces the model file's Lamb optimizer's learning rate; loss (mean_squared_error)"),
            replaced.out)
        let another = try loom(["train", "--data", data, "--model", compiled, "--epochs", "1", "--optimizer", "sgd"])
        XCTAssertTrue(another.out.contains("The command line replaces the model file's optimizer (Lamb)\n"), another.out)

        // An option replaces its part of the file's optimizer; the rest is kept, and saved.
        let momentum = folder.path("momentum.keras"), faster = folder.path("faster.keras")
        try loom([
            "train", "--data", data, "--units", "4", "--epochs", "1", "--quiet", "--optimizer", "sgd", "--momentum", "0.9", "--save",
            momentum,
        ])
        let rate = try loom([
            "train", "--data", data, "--model", momentum, "--epochs", "1", "--lr", "0.02", "--clipnorm", "0.5", "--save", faster,
        ])
        XCTAssertTrue(rate.out.contains("replaces the model file's SGD optimizer's learning rate and clipping\n"), rate.out)
        let kept = try XCTUnwrap(try KerasCompileConfig.read(from: URL(fileURLWithPath: faster))?.optimizer as? SGD)
        XCTAssertEqual([kept.learningRate, kept.momentum], [0.02, 0.9])
        XCTAssertEqual(kept.clipping, .norm(0.5))
        // Scaling the rate alone keeps a Keras optimizer: the file stays compiled; a warmup has no Keras form.
        let scaled = folder.path("scaled.keras")
        try loom([
            "train", "--data", data, "--model", momentum, "--epochs", "1", "--quiet", "--batch-size", "16", "--lr-scaling", "linear",
            "--base-batch-size", "8", "--save", scaled,
        ])
        let scaledSGD = try XCTUnwrap(try KerasCompileConfig.read(from: URL(fileURLWithPath: scaled))?.optimizer as? SGD)
        XCTAssertEqual([scaledSGD.learningRate, scaledSGD.momentum], [0.02, 0.9])
        let warmed = try loom(["train", "--data", data, "--model", momentum, "--epochs", "1", "--warmup-epochs", "1", "--save", scaled])
        XCTAssertTrue(warmed.out.contains("\(scaled) is saved uncompiled (Keras has no --warmup-epochs warmup"), warmed.out)
        XCTAssertNil(try KerasCompileConfig.read(from: URL(fileURLWithPath: scaled)))
        let beta = try loom(["train", "--data", data, "--model", momentum, "--epochs", "1", "--beta1", "0.5"], expect: 64)
        XCTAssertTrue(beta.err.contains("optimizer 'sgd' takes no beta1"), beta.err)

        // A compile config Loom cannot train whole: the part it cannot train must be replaced;
        // the parts the command line does not replace are kept.
        func rewritten(_ change: (from: String, to: String), as name: String) throws -> String {
            let parts = folder.url.appendingPathComponent("parts-" + name), target = folder.path(name)
            try FileManager.default.createDirectory(at: parts, withIntermediateDirectories: true)
            let source = try Archive(url: URL(fileURLWithPath: compiled), accessMode: .read, pathEncoding: nil)
            for entry in source { _ = try source.extract(entry, to: parts.appendingPathComponent(entry.path)) }
            let config = parts.appendingPathComponent("config.json")
            let text = try String(contentsOf: config, encoding: .utf8)
            XCTAssertTrue(text.contains(change.from), text)
            try text.replacingOccurrences(of: change.from, with: change.to).write(to: config, atomically: true, encoding: .utf8)
            let archive = try Archive(url: URL(fileURLWithPath: target), accessMode: .create, pathEncoding: nil)
            for name in ["config.json", "metadata.json", "model.weights.h5"] {
                try archive.addEntry(with: name, fileURL: parts.appendingPathComponent(name), compressionMethod: .deflate)
            }
            return target
        }
        let poisson = try rewritten(("\"loss\":\"mean_squared_error\"", "\"loss\":\"poisson\""), as: "poisson.keras")
        let refused = try loom(["train", "--data", data, "--model", poisson, "--epochs", "1", "--metrics", "mse"], expect: 1)
        XCTAssertTrue(
            refused.err.contains("compile_config: unknown loss 'poisson'")
                && refused.err.hasSuffix("; give --optimizer, --loss or --metrics for the part Loom cannot train\n"), refused.err)
        let lossOnly = try loom(["train", "--data", data, "--model", poisson, "--epochs", "1", "--loss", "mse", "--history", history])
        XCTAssertTrue(lossOnly.out.contains("The command line replaces the model file's loss\n"), lossOnly.out)
        XCTAssertTrue(try String(contentsOfFile: history, encoding: .utf8).hasPrefix("epoch,loss,mae,val_loss,val_mae,learning_rate"))
        let amsgrad = try rewritten(("\"epsilon\":1e-07", "\"epsilon\":1e-07,\"amsgrad\":true"), as: "amsgrad.keras")
        let optimizerRefused = try loom(["train", "--data", data, "--model", amsgrad, "--epochs", "1", "--lr", "0.1"], expect: 1)
        XCTAssertTrue(optimizerRefused.err.contains("option 'amsgrad' is not supported"), optimizerRefused.err)
        let sgd = try loom(["train", "--data", data, "--model", amsgrad, "--epochs", "1", "--optimizer", "sgd", "--history", history])
        XCTAssertTrue(sgd.out.contains("The command line replaces the model file's optimizer\n"), sgd.out)
        XCTAssertTrue(try String(contentsOfFile: history, encoding: .utf8).hasPrefix("epoch,loss,mae,val_loss,val_mae,learning_rate"))
        let precision = try rewritten(
            ("\"metrics\":[\"mae\"]", "\"metrics\":[{\"class_name\":\"Precision\",\"config\":{\"name\":\"precision\"}}]"),
            as: "precision.keras")
        let scored = try loom(["evaluate", "--model", precision, "--data", data, "--metrics", "mse"]).out
        XCTAssertTrue(scored.hasPrefix("loss: ") && scored.contains("\nmse: "), scored)
        XCTAssertTrue(
            try loom(["evaluate", "--model", precision, "--data", data], expect: 1).err.contains("unknown metric 'precision'"))
        try loom([
            "train", "--data", data, "--model", poisson, "--epochs", "1", "--optimizer", "adam", "--loss", "mse", "--metrics", "mae",
            "--quiet",
        ])
        // What no part replaces (weighted_metrics) is refused, unless all of it is replaced; a
        // summary reads the file as uncompiled then.
        let weighted = try rewritten(
            ("\"weighted_metrics\":null", "\"weighted_metrics\":[\"mae\"]"),
            as: "weighted.keras")
        XCTAssertTrue(
            try loom(["train", "--data", data, "--model", weighted, "--epochs", "1", "--loss", "mse"], expect: 1).err.contains(
                "weighted_metrics is not supported by Loom"))
        try loom([
            "train", "--data", data, "--model", weighted, "--epochs", "1", "--optimizer", "adam", "--loss", "mse", "--metrics", "mae",
            "--quiet",
        ])
        let summary = try loom(["summary", "--model", weighted]).out
        XCTAssertTrue(summary.hasSuffix(" Non-trainable params: 0 (0.00 B)\n"), summary)
        let converted = try loom(["convert", poisson, folder.path("converted.keras")])
        XCTAssertTrue(converted.out.contains("not compiled: its compile config is not carried over"), converted.out)
        XCTAssertTrue(try loom(["convert", compiled, folder.path("carried.keras")]).out.hasSuffix("parameters\n"))
    }
}

extension CLITests {
    /// `loom time-to-loss` trains each batch size and worker count and writes one CSV row each.
    func testTimeToLossReportsEachRun() throws {
        let csv = try writeSeries()
        let data = folder.path("series.h5"), table = folder.path("table.csv")
        try loom(["import", "csv", csv, "--window", "8", "--columns", "s", "--out", data])
        let run = try loom([
            "time-to-loss", "--data", data, "--units", "4", "--epochs", "2", "--target-loss", "10", "--batch-sizes", "8,32",
            "--workers", "1,2", "--lr-scaling", "sqrt", "--base-batch-size", "8", "--warmup-epochs", "1", "--csv", table,
        ])
        XCTAssertTrue(run.out.contains("seconds to target"), run.out)
        let lines = try String(contentsOfFile: table, encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(lines.count, 5)
        XCTAssertTrue(lines[1].hasPrefix("8,1,1,"), "a loss of 10 is reached after the first epoch: \(lines[1])")
        let accumulated = try loom([
            "time-to-loss", "--data", data, "--units", "4", "--epochs", "1", "--target-loss", "10", "--batch-sizes", "16",
            "--workers", "1", "--accumulate", "2",
        ])
        XCTAssertTrue(accumulated.out.contains("   16        1       1"), accumulated.out)
        XCTAssertEqual(
            try loom(["time-to-loss", "--data", data, "--target-loss", "1", "--batch-sizes", "15", "--accumulate", "2"], expect: 64).out, ""
        )
        let refused = try loom(["time-to-loss", "--data", data, "--target-loss", "0"], expect: 64)
        XCTAssertTrue(refused.err.contains("--target-loss must be a positive number"), refused.err)
        let twice = try loom(["time-to-loss", "--data", data, "--target-loss", "1", "--batch-sizes", "8,8"], expect: 64)
        XCTAssertTrue(twice.err.contains("--batch-sizes names a value twice: 8,8"), twice.err)
        // A --histories folder that is not there is refused before the first run trains.
        let missing = try loom(
            ["time-to-loss", "--data", data, "--target-loss", "1", "--batch-sizes", "8", "--histories", folder.path("none")], expect: 1)
        XCTAssertTrue(missing.err.contains("--histories: the folder \(folder.path("none")) does not exist"), missing.err)
        XCTAssertFalse(missing.out.contains("seconds to target"), missing.out)
        try FileManager.default.createDirectory(atPath: folder.path("histories"), withIntermediateDirectories: false)
        try loom([
            "time-to-loss", "--data", data, "--units", "4", "--epochs", "2", "--target-loss", "10", "--batch-sizes", "8",
            "--histories", folder.path("histories"),
        ])
        let history = try String(contentsOfFile: folder.path("histories/batch8-workers1.csv"), encoding: .utf8)
        XCTAssertTrue(history.hasPrefix("epoch,val_loss,learning_rate,seconds\n1,"), history)
        XCTAssertEqual(history.split(separator: "\n").count, 3)
    }
}
