import ArgumentParser
import Foundation
@_spi(Kernels) import Loom
import LoomHDF5
import LoomKeras

/// `loom predict`: runs a saved model (`--model`, `--weights`) over a dataset's inputs and writes the outputs.
struct Predict: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Predict with a saved model; write the outputs to HDF5.")

    @OptionGroup var loggingOptions: LoggingOptions
    @OptionGroup var rankOptions: RankOptions

    @OptionGroup var dataOptions: DataOptions
    @OptionGroup var kerasOptions: KerasModelOptions

    @Option(help: "HDF5 file to create, with dataset 'predictions' (samples, outputs).")
    var out: String

    @OptionGroup var inferenceOptions: InferenceOptions

    @Flag(help: "Map the predictions back to the CSV's units with the target scaling --data holds (loom import csv --scaling).")
    var unscale = false

    func run() throws {
        BLAS.threadCount = 1
        let data = try dataOptions.path()
        // Rank 0 writes; an unwritable --out stops every rank before any work.
        let output = try Job.failingTogether("check --out") {
            Job.writesOutput ? try OutputFile(out, role: "--out", inputs: [data] + kerasOptions.inputPaths) : nil
        }
        let model = try kerasOptions.loadRequired(forPrediction: true)
        let dataset = try dataOptions.open(data, targets: false)
        try model.build(inputShape: dataset.inputShape)
        let shape = [dataset.sampleCount] + model.outputShape!
        let scaling = try unscale ? Job.failingTogether("read --data's scaling") { try ColumnScaling.read(from: data) } : nil
        if let scaling, scaling.targets.count != 1, scaling.targets.count != shape.last! {
            throw ValidationError(
                "--unscale: \(data) scaled \(scaling.targets.count) targets (\(scaling.targets.joined(separator: ","))), "
                    + "but the model's output's last axis holds \(shape.last!) values")
        }
        let unscaled = FloatBuffer()
        let predict = { (sink: (Range<Int>, UnsafeBufferPointer<Float>) throws -> Void) in
            try model.predict(
                dataset: dataset, batchSize: inferenceOptions.batchSize, parallelism: inferenceOptions.parallelism
            ) { rows, values in
                guard let scaling else { return try sink(rows, values) }
                let copy = UnsafeMutableBufferPointer(start: unscaled.reserveDiscarding(values.count), count: values.count)
                _ = copy.initialize(from: values)
                try scaling.unscale(copy, width: shape.last!)
                try sink(rows, UnsafeBufferPointer(copy))
            }
        }
        // Written a batch at a time: memory holds one batch of predictions, whatever the rows.
        guard let output else { return try predict { _, _ in } }
        try output.checkSpace(forBytes: shape.reduce(4.0) { $0 * Double($1) })
        try output.write { temporary in
            let file = try HDF5File(path: temporary.path, mode: .create)
            try file.createDataset("predictions", shape: shape, chunkRows: 4096)
            try predict { rows, values in try file.write("predictions", rows: rows, from: values.baseAddress!) }
            try file.close()
        }
        print(
            "wrote \(Shape.describe(shape)) predictions to \(out)"
                + (scaling.flatMap { $0.kind == .none ? nil : " in the units of \($0.targets.joined(separator: ","))" } ?? ""))
    }
}
