// HDF5 streaming measurements (targets: >= 1 GB/s streamed from page cache, training
// from the file within 5% of training from memory, bounded memory on a file over 2 GB).
//
//   loom-hdf5-bench generate FILE --gigabytes G   X (samples, 10, 25) float32 + y, written in slices
//   loom-hdf5-bench read FILE [--batch B] [--rounds R]    one epoch of batches, file order, GB/s
//   loom-hdf5-bench train FILE [--epochs E]     the vanilla model from the file; peak RSS
//   loom-hdf5-bench compare FILE [--samples N] [--rounds R]   file vs memory, alternating
//
// Every command prints its peak resident memory (getrusage) last.
import Dispatch
import Foundation
@_spi(Kernels) import Loom
import LoomHDF5
import ReferenceModels

let arguments = CommandLine.arguments
func option(_ name: String, default value: Double) -> Double {
    guard let index = arguments.firstIndex(of: name), index + 1 < arguments.count, let parsed = Double(arguments[index + 1])
    else { return value }
    return parsed
}
func seconds(_ body: () throws -> Void) rethrows -> Double {
    let start = DispatchTime.now().uptimeNanoseconds
    try body()
    return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
}
func peakResidentMegabytes() -> Double {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    return Double(usage.ru_maxrss) / 1024  // Linux reports kilobytes
}

guard arguments.count >= 3 else {
    print("usage: loom-hdf5-bench generate|read|train|compare FILE [options]")
    exit(2)
}
BLAS.threadCount = 1
let reference = ReferenceModel.vanilla
let (command, path) = (arguments[1], arguments[2])
let sampleValues = Shape.count(reference.inputShape)
let sampleBytes = sampleValues * 4

switch command {
case "generate":
    let samples = Int(option("--gigabytes", default: 2) * 1e9) / sampleBytes
    let file = try HDF5File(path: path, mode: .create)
    try file.createDataset("X", shape: [samples] + reference.inputShape)
    try file.createDataset("y", shape: [samples, 1])
    let slice = 65_536
    var generator = SeededGenerator(seed: 1)
    var x = [Float](repeating: 0, count: slice * sampleValues)
    var y = [Float](repeating: 0, count: slice)
    var start = 0
    while start < samples {
        let count = min(slice, samples - start)
        for i in 0..<(count * sampleValues) { x[i] = Float(generator.uniform()) }
        for i in 0..<count { y[i] = Float(generator.uniform()) }
        try file.write("X", rows: start..<(start + count), from: x)
        try file.write("y", rows: start..<(start + count), from: y)
        start += count
    }
    print("wrote \(samples) samples, \(String(format: "%.2f", Double(samples * (sampleBytes + 4)) / 1e9)) GB")
case "read":
    let dataset = try HDF5Dataset(path: path)
    let batch = Int(option("--batch", default: 1024))
    let stride = Shape.count(dataset.inputShape)
    let inputs = FloatBuffer(count: batch * stride), targets = FloatBuffer(count: batch)
    let order = Array(0..<dataset.sampleCount)
    for _ in 0..<Int(option("--rounds", default: 3)) {
        let elapsed = try seconds {
            var start = 0
            while start < dataset.sampleCount {
                let end = min(start + batch, dataset.sampleCount)
                try dataset.read(rows: order[start..<end], inputs: inputs.pointer, targets: targets.pointer)
                if end < dataset.sampleCount {
                    dataset.prefetch(rows: order[end..<min(end + batch, dataset.sampleCount)], targets: true)
                }
                start = end
            }
        }
        let bytes = Double(dataset.sampleCount * (stride + 1) * 4)
        print(String(format: "read %.2f GB in %.2f s: %.2f GB/s", bytes / 1e9, elapsed, bytes / elapsed / 1e9))
    }
case "train":
    let dataset = try HDF5Dataset(path: path)
    let model = try reference.makeModel()
    let epochs = Int(option("--epochs", default: 1))
    let elapsed = try seconds {
        try model.fit(dataset: dataset, epochs: epochs, batchSize: reference.batchSize, shuffle: false, verbose: 0)
    }
    print(
        String(
            format: "trained %d samples x %d epochs from the file: %.0f samples/s (Loom kernels %@)",
            dataset.sampleCount, epochs, Double(dataset.sampleCount * epochs) / elapsed, Kernels.level.description))
case "compare":
    let samples = Int(option("--samples", default: 200_000))
    let file = try HDF5File(path: path)
    let x = FloatBuffer(count: samples * sampleValues), y = FloatBuffer(count: samples)
    try file.read("X", rows: 0..<samples, into: x.pointer)
    try file.read("y", rows: 0..<samples, into: y.pointer)
    let memory = try InMemoryDataset(
        x: Tensor(shape: [samples] + reference.inputShape, copying: x.pointer),
        y: Tensor(shape: [samples, 1], copying: y.pointer))
    // The first `samples` rows of the file, streamed.
    struct Prefix: Dataset {
        let base: HDF5Dataset
        let sampleCount: Int
        var inputShape: [Int] { base.inputShape }
        var targetShape: [Int]? { base.targetShape }
        func read(rows: ArraySlice<Int>, inputs: UnsafeMutablePointer<Float>, targets: UnsafeMutablePointer<Float>?) throws {
            try base.read(rows: rows, inputs: inputs, targets: targets)
        }
        func prefetch(rows: ArraySlice<Int>, targets: Bool) { base.prefetch(rows: rows, targets: targets) }
    }
    let streamed = Prefix(base: try HDF5Dataset(file: file), sampleCount: samples)
    var fileRates: [Double] = [], memoryRates: [Double] = []
    for shuffle in [false, true] {
        fileRates = []
        memoryRates = []
        for _ in 0..<Int(option("--rounds", default: 5)) {
            for (dataset, isFile) in [(streamed as any Dataset, true), (memory as any Dataset, false)] {
                let model = try reference.makeModel()
                let elapsed = try seconds {
                    try model.fit(dataset: dataset, epochs: 1, batchSize: reference.batchSize, shuffle: shuffle, verbose: 0)
                }
                if isFile { fileRates.append(Double(samples) / elapsed) } else { memoryRates.append(Double(samples) / elapsed) }
            }
        }
        let median = { (values: [Double]) in values.sorted()[values.count / 2] }
        print(
            String(
                format: "shuffle %@: from file %.0f samples/s, from memory %.0f samples/s (medians of %d): file/memory %.3f",
                shuffle ? "on " : "off", median(fileRates), median(memoryRates), fileRates.count,
                median(fileRates) / median(memoryRates)))
    }
default:
    print("unknown command \(command)")
    exit(2)
}
print(String(format: "peak resident memory: %.0f MB", peakResidentMegabytes()))
