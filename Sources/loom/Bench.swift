import ArgumentParser
import Dispatch
import Foundation
@_spi(Kernels) @_spi(Ranks) import Loom
import LoomMPI
import ReferenceModels

/// `loom bench`: the data-parallel scaling benchmark on synthetic data of a given shape.
///
/// For each worker count it trains the preset for `--steps` steps (after one warm-up epoch)
/// and reports samples/s, speedup and parallel efficiency against the first count, and where
/// a step's time goes (compute, waiting at the barrier, gradient reduction, optimizer).
///
/// Projection to more cores, from the split measured at the largest count p₀: compute and
/// optimizer divide among workers, reduction does not (each worker sums every shard over its
/// 1/p of the parameters: p·(P/p) = P per step), and the barrier wait is taken as a constant:
///
///     T(p) = (compute(p₀)·p₀ + optimizer(p₀)·p₀) / p + reduce(p₀) + wait(p₀) + other(p₀)
///
/// where other is the step's remaining time (batch loading on the calling thread). Speedup(p)
/// = T(1) / T(p), with T(1) measured. It ignores memory bandwidth, so it is an upper bound.
///
/// `--profile` adds a table of each layer's forward and backward passes in a step at one
/// worker (`Sequential.profileLayers`): milliseconds, share of the layers' time, GFLOP/s and %
/// of one thread's FMA peak (the backward pass counting the weights' and the input's gradients).
///
/// Under `mpirun` (R ranks) each configuration is R × workers, and the split gains the time
/// worker 0 spends in messages once the backward passes have ended, in two parts: waiting for
/// the slowest rank to reach the exchange (`slowest rank`: its time from the step's start to
/// the exchange less this rank's) and the exposed exchange itself (`exchange`); `hidden` is
/// the time the exchange's buckets were in flight while the backward passes still ran
/// (`--bucket-floats`; their sums over the local shards then fall in `compute`, not `reduce`). The projection is then to H hosts (a power of two, one rank each) of
/// `--cores` cores over Ethernet, from an α-β model of the exchange Loom makes there:
/// recursive halving (log₂ H messages, of S/2, S/4, ... bytes) summing each host's slice of a
/// bucket's S bytes, then recursive doubling gathering the slices back:
///
///     comm(H, S) = 2 · (log₂H · α + (H − 1)/H · S/β)
///
/// and a host's step without communication taken from the one measured, scaled to `--cores`
/// cores (perfect scaling inside a host: an upper bound, as memory bandwidth and stragglers
/// are ignored). The buckets go one after another, each when it was ready (its measured lead
/// before the end of the backward passes, scaled the same way) and the one before it is done:
/// the exposed exchange is the time from the end of the passes to the end of the last
/// bucket (without overlap, comm(H, 4 · parameters)). Weak scaling keeps each host's batch
/// (efficiency = step / (step + exposed)); strong scaling divides one batch over the hosts
/// (step and leads / H).
struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Measure data-parallel scaling on synthetic data.")

    @OptionGroup var loggingOptions: LoggingOptions
    @OptionGroup var rankOptions: RankOptions
    @OptionGroup var exchangeOptions: ExchangeOptions

    @Option(help: "Model preset.")
    var arch: ModelPreset = .vanilla

    @Option(
        help: ArgumentHelp(
            "A reference model instead of a preset, at its own shape and batch size: B1 ... B8 "
                + "(\((ReferenceModel.all + [.padded]).map(\.id).joined(separator: ", "))))."))
    var reference: String?

    @Option(help: "Comma-separated worker counts.")
    var workers = "1,2"

    @Option(help: "Samples per step (default 32; with --reference, the model's).")
    var batchSize: Int?

    @Option(help: "Timesteps per sample.")
    var timesteps = 10

    @Option(help: "Features per timestep.")
    var features = 25

    @Option(help: "Units of each LSTM layer.")
    var units = 10

    @Option(help: "Training steps measured per worker count (default 400; with --reference 200, 40 or 8 by batch size).")
    var steps: Int?

    @Option(help: "Rounds per worker count (the median is reported).")
    var rounds = 3

    @Option(help: "Write the table as CSV here.")
    var csv: String?

    @Option(help: "Write an SVG plot of speedup against workers here.")
    var plot: String?

    @Flag(help: "Also time each layer's forward and backward passes at one worker, with GFLOP/s and % of the FMA peak.")
    var profile = false

    @Option(help: "Under mpirun: the network latency α of the projection, in microseconds.")
    var latencyMicroseconds = 30.0

    @Option(help: "Under mpirun: the link speeds of the projection, in Gbit/s, comma-separated.")
    var bandwidthsGbit = "10,100"

    @Option(help: "Under mpirun: the cores of each projected host.")
    var cores = 16

    struct Row {
        let workers: Int
        let samplesPerSecond: Double
        let profile: StepProfile
    }

    /// What is measured: a model maker, its data, and how an epoch trains.
    struct Workload {
        let title: String
        let batchSize: Int
        let steps: Int
        let x: Tensor
        let y: Tensor
        let makeModel: () throws -> Sequential
        let fit: (Sequential, Tensor, Tensor, Int) throws -> Void
        /// A reference model's forward FLOPs a sample (`ReferenceModel.forwardFlopsPerSample`).
        var forwardFlopsPerSample: Double? = nil
    }

    /// The most rounds a worker count is measured.
    static let mostRounds = 1000

    /// Refuses sizes, rounds and projection parameters out of range before any work.
    func validate() throws {
        for (name, value) in [("--timesteps", timesteps), ("--features", features), ("--units", units)] {
            guard (1...Int(Int32.max)).contains(value) else { throw ValidationError("\(name) must be in 1...\(Int32.max), got \(value)") }
        }
        guard (1...Bench.mostRounds).contains(rounds) else {
            throw ValidationError("--rounds must be in 1...\(Bench.mostRounds), got \(rounds)")
        }
        guard (1...(1 << 20)).contains(cores) else { throw ValidationError("--cores must be in 1...\(1 << 20), got \(cores)") }
        guard latencyMicroseconds.isFinite, latencyMicroseconds >= 0 else {
            throw ValidationError("--latency-microseconds must be a finite number of 0 or more, got \(latencyMicroseconds)")
        }
        for field in bandwidthsGbit.split(separator: ",", omittingEmptySubsequences: false) {
            guard let speed = Double(field.trimmingCharacters(in: .whitespaces)), speed.isFinite, speed > 0 else {
                throw ValidationError("--bandwidths-gbit takes positive speeds such as 10,100; got '\(field)'")
            }
        }
    }

    func run() throws {
        let counts = try workers.split(separator: ",").map { field -> Int in
            guard let count = Int(field.trimmingCharacters(in: .whitespaces)), (1...InferenceOptions.mostWorkers).contains(count) else {
                throw ValidationError(
                    "--workers takes positive counts (at most \(InferenceOptions.mostWorkers)) such as 1,2,4; got '\(field)'")
            }
            return count
        }
        guard !counts.isEmpty else { throw ValidationError("--workers takes positive counts such as 1,2,4") }
        guard Set(counts).count == counts.count else { throw ValidationError("--workers names a count twice: \(workers)") }
        // Outputs are checked before the first round: a typo costs a second, not the run.
        let outputs = try Job.failingTogether("check --csv and --plot") {
            guard Job.writesOutput else { return (OutputFile?.none, OutputFile?.none) }
            let outputs = (try csv.map { try OutputFile($0, role: "--csv") }, try plot.map { try OutputFile($0, role: "--plot") })
            try OutputFile.checkDistinct([outputs.0, outputs.1].compactMap { $0 })
            return outputs
        }
        // Speedups are against one thread: OpenBLAS gets one per product at every worker count.
        BLAS.threadCount = 1
        let ranks = Job.group?.size ?? 1
        if profile && ranks > 1 {
            throw ValidationError("--profile times one process's layers; run it without mpirun")
        }
        if (csv != nil || plot != nil) && ranks > 1 {
            throw ValidationError("--csv and --plot write one process's scaling by workers; under mpirun bench prints the ranks' table")
        }
        let workload = try reference.map(referenceWorkload) ?? presetWorkload()
        if Job.writesOutput {
            print(
                "loom bench: \(workload.title), batch \(workload.batchSize), \(workload.steps) steps x \(rounds) rounds, "
                    + "OpenBLAS \(BLAS.coreName), Loom kernels \(Kernels.level)" + (ranks > 1 ? ", \(ranks) ranks" : ""))
        }
        var rows: [Row] = []
        for count in counts {
            var measured: [(Double, StepProfile)] = []
            for _ in 0..<rounds {
                let model = try workload.makeModel()
                let warmUp = min(workload.x.sampleCount, workload.batchSize * 20)
                try workload.fit(model, workload.x.samples(0..<warmUp), workload.y.samples(0..<warmUp), count)
                // The ranks start each measured fit together.
                try Job.group?.barrier("the start of a measured round")
                let start = DispatchTime.now().uptimeNanoseconds
                try workload.fit(model, workload.x, workload.y, count)
                let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
                measured.append((Double(workload.x.sampleCount) / seconds, model.lastFitProfile ?? StepProfile()))
            }
            measured.sort { $0.0 < $1.0 }
            let median = measured[measured.count / 2]
            rows.append(Row(workers: count, samplesPerSecond: median.0, profile: median.1))
        }
        guard Job.writesOutput else { return }
        if ranks > 1 {
            try reportAcrossRanks(rows, ranks: ranks, parameters: workload.makeModel().parameterCount)
            return
        }
        report(rows, batchSize: workload.batchSize)
        reportPeak(rows, forwardFlopsPerSample: workload.forwardFlopsPerSample)
        if profile { try reportLayers(workload) }
        if let csv = outputs.0 { try writeCSV(rows, to: csv) }
        if let plot = outputs.1 { try writePlot(rows, to: plot, title: workload.title, batchSize: workload.batchSize) }
    }

    /// A reference model (B1-B7) on its own synthetic data, trained as the comparison scripts train it.
    private func referenceWorkload(_ name: String) throws -> Workload {
        guard let model = ReferenceModel.named(name) else {
            throw ValidationError(
                "--reference takes B1 ... B8 or \((ReferenceModel.all + [.padded]).map(\.id).joined(separator: ", ")); got '\(name)'")
        }
        let batch = batchSize ?? model.batchSize
        let reference = model.withBatchSize(batch)
        let steps = steps ?? reference.defaultSteps
        try checkSizes(batch: batch, steps: steps, sampleSize: Shape.count(model.inputShape))
        let (x, y) = try model.makeData(samples: batch * steps)
        let bucketFloats = exchangeOptions.bucketFloats
        return Workload(
            title: "\(model.benchmark) \(model.id)", batchSize: batch, steps: steps, x: x, y: y,
            makeModel: reference.makeModel,
            fit: { model, x, y, workers in
                try reference.fitEpoch(
                    model, x: x, y: y, workers: workers, processGroup: Job.group, exchangeBucketFloats: bucketFloats)
            }, forwardFlopsPerSample: reference.forwardFlopsPerSample)
    }

    /// A preset (`--arch`) of `--units` on synthetic `(--timesteps, --features)` data.
    private func presetWorkload() throws -> Workload {
        let batch = batchSize ?? 32, steps = steps ?? 400
        guard [timesteps, features, units].allSatisfy({ $0 > 0 }) else {
            throw ValidationError("--timesteps, --features and --units must be positive")
        }
        let (sampleSize, overflow) = timesteps.multipliedReportingOverflow(by: features)
        try checkSizes(batch: batch, steps: steps, sampleSize: overflow ? Int.max : sampleSize)
        guard ![.oneToMany, .cnnLSTM].contains(arch) else {
            throw ValidationError("loom bench --arch measures the sequence presets; \(arch.rawValue) takes images (try --reference B6)")
        }
        var generator = SeededGenerator(seed: 42)
        let samples = batch * steps
        let x = try Tensor(
            shape: [samples, timesteps, features],
            scalars: (0..<(samples * timesteps * features)).map { _ in Float(2 * generator.uniform() - 1) })
        // Sequence presets predict one value per input timestep.
        let targetShape = [.manyToMany, .encoderDecoder].contains(arch) ? [timesteps, 1] : [1]
        let y = try Tensor(
            shape: [samples] + targetShape,
            scalars: (0..<(samples * Shape.count(targetShape))).map { _ in Float(2 * generator.uniform() - 1) })
        let (arch, units, timesteps, features) = (arch, units, timesteps, features)
        let stateful = arch == .stateful
        return Workload(
            title: "\(arch.rawValue), LSTM(\(units)) on (\(timesteps), \(features))", batchSize: batch, steps: steps, x: x, y: y,
            makeModel: {
                let model = try arch.makeModel(
                    inputShape: [timesteps, features], targetShape: targetShape, units: units,
                    batchSize: batch, seed: 1)
                try model.compile(optimizer: Adam(), loss: .meanSquaredError)
                return model
            },
            fit: { model, x, y, workers in
                try model.fit(
                    x: x, y: y, batchSize: batch, shuffle: !stateful, verbose: 0,
                    parallelism: Parallelism(
                        workers: workers, processGroup: Job.group, exchangeBucketFloats: exchangeOptions.bucketFloats))
            })
    }

    private func checkSizes(batch: Int, steps: Int, sampleSize: Int) throws {
        guard batch > 0, steps > 0, rounds > 0, Double(batch) * Double(steps) * Double(sampleSize) <= 1e9 else {
            throw ValidationError(
                "--batch-size, --steps and --rounds must be positive, "
                    + "with batch-size · steps · (values per sample) at most 1e9")
        }
    }

    /// The row speedups are measured against: the fewest workers (whatever order --workers lists).
    private func baseline(_ rows: [Row]) -> Row { rows.min { $0.workers < $1.workers }! }

    private func report(_ rows: [Row], batchSize: Int) {
        let base = baseline(rows)
        print("workers  samples/s  speedup  efficiency  step ms  compute  wait  reduce  optimizer")
        for row in rows {
            let speedup = row.samplesPerSecond / base.samplesPerSecond * Double(base.workers)
            let p = row.profile, step = max(p.total, 1e-12)
            print(
                String(
                    format: "%7d  %9.0f  %6.2fx  %9.0f%%  %7.3f  %6.0f%%  %3.0f%%  %5.1f%%  %8.1f%%",
                    row.workers, row.samplesPerSecond, speedup, 100 * speedup / Double(row.workers), p.total * 1e3,
                    100 * p.compute / step, 100 * p.wait / step, 100 * p.reduce / step, 100 * p.optimizer / step))
        }
        // The projection starts from the largest count measured.
        guard let one = rows.first(where: { $0.workers == 1 }), let last = rows.max(by: { $0.workers < $1.workers }),
            last.workers > 1
        else { return }
        let p = last.profile, p0 = Double(last.workers)
        let divisible = (p.compute + p.optimizer) * p0
        let fixed = p.reduce + p.wait + max(0, p.total - p.compute - p.wait - p.reduce - p.optimizer)
        let oneStep = one.profile.total > 0 ? one.profile.total : Double(batchSize) / one.samplesPerSecond
        let projections = [8, 16, 32, 64].map { cores in
            String(format: "%d: %.1fx", cores, oneStep / (divisible / Double(cores) + fixed))
        }
        print(
            "projected speedup (from the split at \(last.workers) workers; see `loom bench --help`): "
                + projections.joined(separator: ", "))
    }

    /// The physical limit beside the table: the FMA peak of each worker count's threads at once
    /// (`FMAPeak`) and, for a reference model, its training GFLOP/s (3 × forward FLOPs a sample
    /// × samples/s) as a share of it.
    private func reportPeak(_ rows: [Row], forwardFlopsPerSample: Double?) {
        var peaks: [String] = [], shares: [String] = []
        for row in rows {
            let peak = FMAPeak.measure(threads: row.workers)
            let threads = row.workers == 1 ? "1 thread" : "\(row.workers) threads"
            peaks.append(String(format: "%@ %.1f GFLOP/s", threads, peak))
            if let flops = forwardFlopsPerSample {
                let gflops = 3 * flops * row.samplesPerSecond / 1e9
                let workers = row.workers == 1 ? "1 worker" : "\(row.workers) workers"
                shares.append(String(format: "%@ %.1f GFLOP/s (%.0f%% of the peak)", workers, gflops, 100 * gflops / peak))
            }
        }
        print("FMA peak (the CPU's \(FMAPeak.level) loop, the threads at once): " + peaks.joined(separator: ", "))
        if !shares.isEmpty { print("training (3 x forward FLOPs a sample): " + shares.joined(separator: ", ")) }
    }

    /// Each layer's passes in a step at one worker (`--profile`): the median round's
    /// milliseconds, share of the layers' time, GFLOP/s and % of one thread's FMA peak.
    private func reportLayers(_ workload: Workload) throws {
        var rounds: [[LayerProfile]] = []
        for _ in 0..<self.rounds {
            let model = try workload.makeModel()
            rounds.append(
                try model.profileLayers(x: workload.x, y: workload.y, batchSize: workload.batchSize, steps: workload.steps))
        }
        func total(_ layers: [LayerProfile]) -> Double { layers.reduce(0) { $0 + $1.forwardSeconds + $1.backwardSeconds } }
        let layers = rounds.sorted { total($0) < total($1) }[rounds.count / 2]
        let peak = FMAPeak.measure(threads: 1)
        print(
            String(
                format: "per layer (1 worker, %d steps of %d, the median of %d rounds; %% of the FMA peak of 1 thread, %.1f GFLOP/s):",
                workload.steps, workload.batchSize, rounds.count, peak))
        print(
            "layer".padding(toLength: 36, withPad: " ", startingAt: 0)
                + " forward ms  backward ms  share  forward GFLOP/s (peak)  backward GFLOP/s (peak)")
        let all = max(total(layers), 1e-12)
        for layer in layers {
            let label = "\(layer.name) (\(layer.typeName))"
            let work =
                layer.forwardFlops > 0
                ? String(
                    format: "  %15.1f (%3.0f%%)  %16.1f (%3.0f%%)", layer.forwardGFLOPs, 100 * layer.forwardGFLOPs / peak,
                    layer.backwardGFLOPs, 100 * layer.backwardGFLOPs / peak)
                : "                 -                        -"
            print(
                label.padding(toLength: max(36, label.count), withPad: " ", startingAt: 0)
                    + String(
                        format: " %10.3f  %11.3f  %4.0f%%", layer.forwardSeconds * 1e3, layer.backwardSeconds * 1e3,
                        100 * (layer.forwardSeconds + layer.backwardSeconds) / all) + work)
        }
    }

    /// The table of an `mpirun` launch (R × workers) and the α-β projection to more hosts.
    private func reportAcrossRanks(_ rows: [Row], ranks: Int, parameters: Int) throws {
        print("ranks x workers  samples/s  step ms  compute  wait  reduce  optimizer  slowest rank  exchange  hidden")
        for row in rows {
            let p = row.profile, step = max(p.total, 1e-12)
            print(
                String(
                    format: "%7d x %-7d  %9.0f  %7.3f  %6.0f%%  %3.0f%%  %5.1f%%  %8.1f%%  %11.1f%%  %7.1f%%  %5.1f%%",
                    ranks, row.workers, row.samplesPerSecond, p.total * 1e3, 100 * p.compute / step,
                    100 * p.wait / step, 100 * p.reduce / step, 100 * p.optimizer / step, 100 * p.rankWait / step,
                    100 * p.exposedExchange / step, 100 * p.hiddenExchange / step))
        }
        let last = rows.last!, p = last.profile
        let bytes = 4.0 * Double(parameters), alpha = latencyMicroseconds * 1e-6
        let measuredCores = Double(ranks * last.workers)
        let scale = measuredCores / Double(cores)
        let hostStep = (p.total - p.communicate) * scale
        let buckets =
            p.exchangeBuckets.isEmpty
            ? [ExchangeBucket(floats: parameters, lead: 0)]
            : p.exchangeBuckets.map { ExchangeBucket(floats: $0.floats, lead: $0.lead * scale) }
        print(
            String(
                format: "measured: %.3f ms a step without communication on %d cores; %.3f ms of exposed exchange for "
                    + "%.0f bytes (%d parameters), %.3f ms hidden behind the backward pass; %.3f ms waiting for the slowest rank",
                (p.total - p.communicate) * 1e3, ranks * last.workers, p.exposedExchange * 1e3, bytes, parameters,
                p.hiddenExchange * 1e3, p.rankWait * 1e3))
        print(
            "buckets (floats, ms ready before the end of the backward pass, on \(cores) cores): "
                + buckets.map { String(format: "%d at %.3f", $0.floats, $0.lead * 1e3) }.joined(separator: ", "))
        print(
            String(
                format: "projection: comm(H, S) = 2(log2(H) a + (H-1)/H S/b) a bucket, one after another, a = %.0f us; "
                    + "a host's step %.3f ms (%d cores, perfect scaling inside a host; an upper bound); "
                    + "in brackets, the whole exchange after the backward pass (--bucket-floats 0)",
                latencyMicroseconds, hostStep * 1e3, cores))
        let speeds = bandwidthsGbit.split(separator: ",").compactMap { Double($0.trimmingCharacters(in: .whitespaces)) }
        let whole = [ExchangeBucket(floats: parameters, lead: 0)]
        for gbit in speeds {
            let beta = gbit * 1e9 / 8
            let cells = [8, 16, 32, 64].map { hosts -> String in
                let h = Double(hosts)
                /// The time from the end of the backward pass to the end of the last bucket's sum.
                func exposed(_ buckets: [ExchangeBucket], leadScale: Double) -> Double {
                    var end = -Double.infinity
                    for bucket in buckets {
                        let comm = 2 * (log2(h) * alpha + (h - 1) / h * 4 * Double(bucket.floats) / beta)
                        end = max(-bucket.lead * leadScale, end) + comm
                    }
                    return max(0, end)
                }
                func weak(_ buckets: [ExchangeBucket]) -> Double {
                    100 * hostStep / (hostStep + exposed(buckets, leadScale: 1))
                }
                func strong(_ buckets: [ExchangeBucket]) -> Double {
                    100 * (hostStep / h) / (hostStep / h + exposed(buckets, leadScale: 1 / h))
                }
                return String(
                    format: "%d hosts: weak %.0f%% (%.0f%%), strong %.0f%% (%.0f%%)", hosts, weak(buckets), weak(whole),
                    strong(buckets), strong(whole))
            }
            print(String(format: "  %.0f Gbit/s: ", gbit) + cells.joined(separator: "; "))
        }
    }

    private func writeCSV(_ rows: [Row], to output: OutputFile) throws {
        let base = baseline(rows)
        var lines = [
            "workers,samples_per_second,speedup,efficiency,step_seconds,compute_seconds,wait_seconds,reduce_seconds,optimizer_seconds"
        ]
        for row in rows {
            let speedup = row.samplesPerSecond / base.samplesPerSecond * Double(base.workers)
            let p = row.profile
            let measured = [
                row.samplesPerSecond, speedup, speedup / Double(row.workers), p.total, p.compute, p.wait, p.reduce, p.optimizer,
            ]
            lines.append(([String(row.workers)] + measured.map { String($0) }).joined(separator: ","))
        }
        try output.write(Data((lines.joined(separator: "\n") + "\n").utf8))
    }

    /// Speedup against workers (against the fewest workers measured), with the ideal line,
    /// tick labels and a legend, as a small standalone SVG.
    private func writePlot(_ rows: [Row], to output: OutputFile, title: String, batchSize: Int) throws {
        let base = baseline(rows), sorted = rows.sorted { $0.workers < $1.workers }
        func speedup(_ row: Row) -> Double { row.samplesPerSecond / base.samplesPerSecond * Double(base.workers) }
        let (fewest, most) = (Double(sorted.first!.workers), Double(sorted.last!.workers))
        let chart = LineChart(
            title: "Loom data-parallel speedup: \(title), batch \(batchSize)", xTitle: "workers", yTitle: "speedup",
            series: [
                LineChart.Series(
                    name: "measured", points: sorted.map { (x: Double($0.workers), y: speedup($0)) }, color: LineChart.palette[0],
                    labels: sorted.map { String(format: "%.2fx", speedup($0)) }),
                LineChart.Series(
                    name: "ideal (speedup = workers)", points: [(x: fewest, y: fewest), (x: most, y: most)], color: "gray",
                    dashed: true, marked: false),
            ],
            xTicks: Set(sorted.map { Double($0.workers) }).sorted())
        let svg = LineChart.document([chart])
        try output.write(Data(svg.utf8))
    }
}
