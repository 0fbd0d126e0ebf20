import Foundation
import XCTest

#if canImport(FoundationXML)
import FoundationXML
#endif

/// What a user watching a run sees: log lines that reach a file as they are printed, a
/// history file that holds every finished epoch of a run that is killed, and a comparison
/// with the naive forecast that says worse when it is worse.
extension CLITests {
    func testLogsStreamAndTheHistoryIsWrittenEveryEpoch() throws {
        let csv = try writeSeries()
        let data = folder.path("series.h5"), log = folder.path("train.log"), history = folder.path("history.csv")
        try loom(["import", "csv", csv, "--window", "8", "--columns", "s", "--out", data])
        XCTAssertTrue(FileManager.default.createFile(atPath: log, contents: nil))
        let process = Process()
        process.executableURL = executable
        process.arguments = ["train", "--data", data, "--units", "16", "--epochs", "100000", "--history", history]
        process.currentDirectoryURL = folder.url
        process.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
        process.standardError = FileHandle.nullDevice
        try process.run()
        defer { if process.isRunning { process.terminate() } }
        let deadline = Date().addingTimeInterval(60)
        func epochsLogged() -> Int {
            ((try? String(contentsOfFile: log, encoding: .utf8)) ?? "").components(separatedBy: "Epoch ").count - 1
        }
        func epochsInHistory() -> Int {
            max(0, ((try? String(contentsOfFile: history, encoding: .utf8)) ?? "").split(separator: "\n").count - 1)
        }
        while epochsInHistory() < 4, process.isRunning, Date() < deadline { usleep(10_000) }
        // Frozen between two epochs' writes: every epoch the history holds is in the log already
        // (block-buffered, the log would lag by kilobytes).
        kill(process.processIdentifier, SIGSTOP)
        let (logged, recorded) = (epochsLogged(), epochsInHistory())
        XCTAssertGreaterThanOrEqual(recorded, 4)
        XCTAssertGreaterThanOrEqual(logged, recorded, "the log holds each epoch as it ends")
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        let rows = try String(contentsOfFile: history, encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(rows.first, "epoch,loss,mae,val_loss,val_mae,learning_rate")
        XCTAssertGreaterThanOrEqual(rows.count, 2, "a killed run leaves the epochs it finished")
        XCTAssertTrue(rows.dropFirst().allSatisfy { $0.split(separator: ",").count == 6 }, "whole rows only")
    }

    func testTheNaiveForecastComparisonSaysWorseWhenItIsWorse() throws {
        let csv = try writeSeries()
        let data = folder.path("series.h5")
        try loom(["import", "csv", csv, "--window", "8", "--columns", "s", "--out", data])
        let out = try loom(["train", "--data", data, "--units", "2", "--epochs", "1", "--lr", "0.0001"]).out
        let line = try XCTUnwrap(out.split(separator: "\n").first { $0.hasPrefix("Validation loss") })
        let numbers = line.split(separator: " ").compactMap { Double($0) }
        XCTAssertEqual(numbers.count, 2, String(line))
        XCTAssertTrue(line.contains(numbers[0] <= numbers[1] ? "x better" : "x worse"), String(line))
    }

    /// `--tensorboard DIR` writes an event file into each run's folder (read back and checked in
    /// `TensorBoardTests`; TensorBoard's own reader lists their scalars); a DIR that is a file is
    /// refused before any work.
    func testTensorBoardEventFilesForEachRun() throws {
        let csv = try writeSeries()
        let data = folder.path("series.h5"), logs = folder.path("logs")
        try loom(["import", "csv", csv, "--window", "8", "--columns", "s", "--out", data])
        try loom(["train", "--data", data, "--units", "4", "--epochs", "2", "--quiet", "--tensorboard", logs])
        for run in ["train", "validation"] {
            let files = try FileManager.default.contentsOfDirectory(atPath: logs + "/" + run)
            XCTAssertEqual(files.count, 1, run)
            XCTAssertTrue(files[0].hasPrefix("events.out.tfevents.") && files[0].hasSuffix(".v2"), files[0])
        }
        // Without validation there is no validation run, as with Keras.
        let unvalidated = folder.path("unvalidated")
        try loom(
            ["train", "--data", data, "--units", "4", "--epochs", "1", "--quiet", "--validation-split", "0", "--tensorboard", unvalidated])
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: unvalidated), ["train"])
        let refused = try loom(["train", "--data", data, "--epochs", "1", "--tensorboard", data], expect: 1)
        XCTAssertTrue(refused.err.contains("TensorBoard: '\(data)' exists and is not a folder"), refused.err)
        XCTAssertEqual(refused.out, "")
    }

    /// A resumed run starts a second event file in each run's folder whose events begin with
    /// a session start at the epoch it resumes (TensorBoard then drops what the first run
    /// wrote after its checkpoint); the first run's starts at epoch 0, so that TensorBoard's
    /// Python loader, which purges only at a start after another, drops it too.
    func testAResumedRunStartsANewTensorBoardSession() throws {
        let data = folder.path("series.h5"), logs = folder.path("logs"), checkpoints = folder.path("checkpoints")
        try loom(["import", "csv", try writeSeries(), "--window", "8", "--columns", "s", "--out", data])
        let train = ["train", "--data", data, "--units", "4", "--quiet", "--tensorboard", logs, "--checkpoint-dir", checkpoints]
        try loom(train + ["--epochs", "2"])
        try loom(train + ["--epochs", "3", "--resume"])
        let files = try FileManager.default.contentsOfDirectory(atPath: logs + "/train").sorted()
        XCTAssertEqual(files.count, 2)
        let contents = try files.map { [UInt8](try Data(contentsOf: URL(fileURLWithPath: logs + "/train/" + $0))) }
        // Event { step: 2 (field 2), session_log (field 7): { status: START (field 1 = 1) } }.
        let sessionStart: [UInt8] = [0x10, 0x02, 0x3A, 0x02, 0x08, 0x01]
        func holds(_ bytes: [UInt8], _ part: [UInt8]) -> Bool {
            bytes.count >= part.count && (0...(bytes.count - part.count)).contains { Array(bytes[$0..<($0 + part.count)]) == part }
        }
        XCTAssertEqual(contents.map { holds($0, [0x3A, 0x02, 0x08, 0x01]) }, [true, true], "a session start in each")
        XCTAssertEqual(contents.map { holds($0, sessionStart) }.filter { $0 }.count, 1, "at epoch 2 in the resumed run's file")
    }

    /// `loom bench --workers 2,1`: speedups are against the fewest workers, however listed, and
    /// the plot has tick labels and a legend for both lines.
    func testBenchMeasuresAgainstTheFewestWorkersAndLabelsItsPlot() throws {
        let svg = folder.path("speedup.svg")
        let bench = try loom(["bench", "--workers", "2,1", "--steps", "4", "--rounds", "1", "--units", "4", "--plot", svg])
        let one = try XCTUnwrap(bench.out.split(separator: "\n").first { $0.split(separator: " ").first == "1" })
        XCTAssertTrue(one.contains(" 1.00x "), String(one))
        XCTAssertTrue(bench.out.contains("projected speedup"), bench.out)
        let plot = try String(contentsOfFile: svg, encoding: .utf8)
        for label in ["measured", "ideal (speedup = workers)", ">1</text>", ">2</text>"] {
            XCTAssertTrue(plot.contains(label), label)
        }
    }
}

/// The curves of a run: `loom train --plot` and `loom plot` of its history.
extension CLITests {
    /// The circles of each colour in an SVG (a marker for each point of a series), after
    /// checking it is well-formed XML.
    private func markers(_ path: String) throws -> [String: Int] {
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        let parser = XMLParser(data: data)
        let counter = MarkerCounter()
        parser.delegate = counter
        XCTAssertTrue(parser.parse(), "\(path) is well-formed XML: \(String(describing: parser.parserError))")
        return counter.circles
    }

    func testTrainingCurvesAsSVG() throws {
        let csv = try writeSeries()
        let data = folder.path("series.h5"), svg = folder.path("curves.svg"), history = folder.path("history.csv")
        try loom(["import", "csv", csv, "--window", "8", "--columns", "s", "--out", data])
        try loom(["train", "--data", data, "--units", "4", "--epochs", "5", "--quiet", "--plot", svg, "--history", history])
        // Loss and mae panels, training (blue) and validation (orange): a marker an epoch each.
        XCTAssertEqual(try markers(svg), ["#1f77b4": 10, "#ff7f0e": 10])
        let drawn = try String(contentsOfFile: svg, encoding: .utf8)
        for label in [">epoch</text>", ">loss</text>", ">mae</text>", ">training</text>", ">validation</text>", ">5</text>"] {
            XCTAssertTrue(drawn.contains(label), label)
        }
        let again = folder.path("again.svg")
        let plotted = try loom(["plot", history, "--out", again]).out
        XCTAssertEqual(plotted, "wrote \(again): 5 epochs of learning_rate, loss, mae, val_loss, val_mae\n")
        XCTAssertEqual(try markers(again), ["#1f77b4": 10, "#ff7f0e": 10])

        let ragged = folder.path("ragged.csv")
        try "epoch,loss\n1,0.5\n2,0.4,9\n".write(toFile: ragged, atomically: true, encoding: .utf8)
        XCTAssertEqual(
            try loom(["plot", ragged, "--out", again], expect: 1).err,
            "Error: \(ragged) line 3: 3 values for the header's 2 columns\n")
        try "epoch,loss\n\n1,0.5\n\nnan,0.4\n".write(toFile: ragged, atomically: true, encoding: .utf8)
        XCTAssertTrue(try loom(["plot", ragged, "--out", again], expect: 1).err.contains("the epoch column holds nan"))
        try "epoch,loss,loss\n1,0.5,0.4\n".write(toFile: ragged, atomically: true, encoding: .utf8)
        XCTAssertTrue(try loom(["plot", ragged, "--out", again], expect: 1).err.contains("names column 3 'loss' twice"))
        try "epoch,loss\n\n1,0.5\n\n2,0.4,1\n".write(toFile: ragged, atomically: true, encoding: .utf8)
        XCTAssertTrue(try loom(["plot", ragged, "--out", again], expect: 1).err.contains("line 5: 3 values"), "blank lines counted")
        try "epoch,loss\n1,nan?\n".write(toFile: ragged, atomically: true, encoding: .utf8)
        XCTAssertTrue(try loom(["plot", ragged, "--out", again], expect: 1).err.contains("line 2: 'nan?' in column loss is not a number"))
        XCTAssertTrue(try loom(["plot", folder.path("absent.csv"), "--out", again], expect: 1).err.contains("no such file"))

        // Keras's CSVLogger writes NA where validation skipped an epoch; a value may be empty, or
        // not finite: each is a gap in its line, and the legend counts them.
        let gaps = folder.path("gaps.csv")
        try "epoch,loss,val_loss\n0,0.5,NA\n1,0.4,0.45\n2,inf,NA\n3,0.3,0.35\n4,0.2,\n".write(
            toFile: gaps, atomically: true, encoding: .utf8)
        try loom(["plot", gaps, "--out", again])
        XCTAssertEqual(try markers(again), ["#1f77b4": 4, "#ff7f0e": 2])
        let gapped = try String(contentsOfFile: again, encoding: .utf8)
        XCTAssertEqual(gapped.components(separatedBy: "<polyline").count - 1, 4, "two segments a line")
        XCTAssertTrue(gapped.contains("training (1 NaN, inf or missing, not drawn)"), gapped)
        XCTAssertTrue(gapped.contains("validation (3 NaN, inf or missing, not drawn)"), gapped)
    }
}

/// Counts an SVG's `circle` elements by fill colour.
private final class MarkerCounter: NSObject, XMLParserDelegate {
    var circles: [String: Int] = [:]

    func parser(
        _ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?,
        attributes: [String: String] = [:]
    ) {
        if name == "circle", let fill = attributes["fill"] { circles[fill, default: 0] += 1 }
    }
}
