import ArgumentParser
import Foundation
@_spi(Kernels) @_spi(Ranks) import Loom
import LoomHDF5
import LoomKeras
import LoomTensorBoard

/// `loom train`: fits a preset model to an HDF5 dataset. With no arguments it trains the
/// default model on the bundled sunspot series and compares it with a naive forecast.
struct Train: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Train a model on an HDF5 dataset.")

    @OptionGroup var loggingOptions: LoggingOptions
    @OptionGroup var rankOptions: RankOptions
    @OptionGroup var exchangeOptions: ExchangeOptions

    @OptionGroup var dataOptions: DataOptions
    @OptionGroup var modelOptions: ModelOptions
    @OptionGroup var kerasOptions: KerasModelOptions
    @OptionGroup var optimizerOptions: OptimizerOptions

    @Option(help: "Passes over the training samples (the default suits the bundled demo data).")
    var epochs = 60

    @Option(help: "Samples per optimizer step (default: a loaded model's fixed batch size, else 32).")
    var batchSize: Int?

    @Option(
        help:
            "mse, mae, binary_crossentropy, categorical_crossentropy, sparse_categorical_crossentropy, huber or log_cosh (default: a compiled --model's, else mse)."
    )
    var loss: String?

    @Option(
        help:
            "Comma-separated metrics to report: mae, mse, rmse, mape, r2_score, accuracy, binary_accuracy, categorical_accuracy, sparse_categorical_accuracy (default: a compiled --model's, else accuracy with a cross-entropy loss, mae with others)."
    )
    var metrics: String?

    @Option(help: "Fraction of samples, from the end, held out for validation (a stateful model's in whole batches).")
    var validationSplit = 0.2

    @Option(
        help: "HDF5 file of validation samples, with --x, --y (and --lengths, --sample-weights) as --data; replaces --validation-split.")
    var validationData: String?

    @Flag(help: "Stateful models: drop the samples past the last whole batch (of the training and of the validation samples).")
    var dropRemainder = false

    @Flag(help: "Keep batches in file order (stateful models always do).")
    var noShuffle = false

    @Option(
        help: ArgumentHelp(
            "A stateful model's state between epochs: reset (zeroed before each; the default of --arch stateful) or keep "
                + "(carried into the next, as Keras's fit carries it; the default for a --model file)."))
    var statesBetweenEpochs: String?

    @Option(
        help:
            "Shuffle in blocks: permute blocks of --shuffle-block rows, then the rows within windows of this many blocks, so the file is read a block at a time."
    )
    var shuffleWindow: Int?

    @Option(help: "With --shuffle-window: rows a block (default: the rows of a chunk of the inputs in --data, else 4096).")
    var shuffleBlock: Int?

    @Option(help: "Micro-batches of --batch-size rows an update: one update on their rows' gradient (bitwise one batch of all of them).")
    var accumulate = 1

    @Option(help: "Truncated BPTT: train each batch's sequences in chunks of this many steps, state carried, one update a chunk.")
    var tbptt: Int?

    @Option(help: "Worker threads training data-parallel (each batch is cut into one shard per worker).")
    var workers = 1

    @Option(help: "How workers combine their work: gradients (every step) or parameters (every --every steps).")
    var averaging = "gradients"

    @Option(help: "With --averaging parameters: local steps between two averagings.")
    var every = 4

    @Option(
        help: "Cut every batch into this many shards per process whatever --workers (bitwise the same model for any worker count up to it)."
    )
    var fixedShards: Int?

    @Option(
        help:
            "Cut every batch into this many shards over all processes (under mpirun, --fixed-shards = G / ranks): the same model, and a checkpoint that resumes, on any ranks x workers that divide it."
    )
    var globalShards: Int?

    @Option(help: "Write the trained model for Keras: .keras (model), .weights.h5 (weights), .h5 (Keras 2 model) or .json (config).")
    var save: String?

    @Option(help: "Write the per-epoch losses and metrics to this CSV file (again after every epoch).")
    var history: String?

    @Option(help: "Draw the per-epoch losses and metrics, training and validation, into this SVG file (again after every epoch).")
    var plot: String?

    @Option(help: "Write TensorBoard event files into DIR/train and DIR/validation after every epoch (created if missing).")
    var tensorboard: String?

    @Option(help: "With --tensorboard: weight histograms every N epochs (0: none; Keras's histogram_freq).")
    var histogramFrequency = 1

    @Flag(help: "Print nothing while training (--verbose 0).")
    var quiet = false

    @Option(
        help:
            "0: nothing while training; 1: a progress bar (with the running loss and time left on a terminal); 2: one line an epoch (default: 1 on a terminal, else 2, and 2 under mpirun)."
    )
    var verbose: Int?

    @Option(help: "Checkpoint the whole run into this folder (created if missing): weights, optimizer, position, generators.")
    var checkpointDir: String?

    @Option(help: "With --checkpoint-dir: a checkpoint every N optimizer steps (default: after every epoch).")
    var checkpointEvery: Int?

    @Option(help: "With --checkpoint-dir: how many of the newest checkpoints to keep.")
    var keep = 2

    @Flag(help: "Continue from --checkpoint-dir's latest checkpoint: the same command line (--epochs may grow).")
    var resume = false

    @Flag(help: "With --resume: take a checkpoint of another global shard count (the run continues, no longer bitwise).")
    var reshard = false

    @Option(help: "Stop once --monitor has not improved for this many epochs (Keras's EarlyStopping patience).")
    var earlyStopping: Int?

    @Option(help: "FACTOR,PATIENCE: multiply the learning rate by FACTOR after PATIENCE epochs without improvement.")
    var reduceLrOnPlateau: String?

    @Flag(help: "With --save: write the model after an epoch only when --monitor improved (Keras's save_best_only).")
    var saveBest = false

    @Option(help: "What --early-stopping, --reduce-lr-on-plateau and --save-best watch (val_loss, loss, val_mae, ...).")
    var monitor = "val_loss"

    func validate() throws {
        guard epochs >= 0 else { throw ValidationError("--epochs must be 0 or more") }
        guard histogramFrequency >= 0 else { throw ValidationError("--histogram-frequency must be 0 or more, got \(histogramFrequency)") }
        guard (0...2).contains(verbose ?? 0) else { throw ValidationError("--verbose must be 0, 1 or 2, got \(verbose!)") }
        if quiet && verbose ?? 0 > 0 { throw ValidationError("--quiet and --verbose \(verbose!) contradict each other; give one") }
        guard (1...(1 << 20)).contains(accumulate) else {
            throw ValidationError("--accumulate must be in 1...\(1 << 20), got \(accumulate)")
        }
        guard batchSize ?? 1 > 0 else { throw ValidationError("--batch-size must be positive") }
        if modelOptions.maskValue != nil && dataOptions.lengths != nil {
            throw ValidationError("--mask-value makes the mask from the values and --lengths gives it: use one of them")
        }
        if kerasOptions.model != nil {
            // A model file brings its own layers: the preset's options would be dropped.
            let presetOptions = [
                (modelOptions.maskValue != nil, "--mask-value"), (modelOptions.classes != nil, "--classes"),
                (modelOptions.outputActivation != nil, "--output-activation"), (modelOptions.layers != nil, "--layers"),
            ]
            if let (_, option) = presetOptions.first(where: \.0) {
                throw ValidationError("\(option) shapes a preset model; --model brings its own layers (change them in its file)")
            }
        }
        if let shuffleWindow {
            guard shuffleWindow >= 1, shuffleBlock ?? 1 >= 1 else {
                throw ValidationError("--shuffle-window and --shuffle-block must be at least 1")
            }
            if noShuffle { throw ValidationError("--shuffle-window orders a shuffled epoch; --no-shuffle keeps file order: give one") }
        } else if shuffleBlock != nil {
            throw ValidationError("--shuffle-block sizes the blocks of --shuffle-window: give --shuffle-window")
        }
        guard tbptt ?? 1 >= 1 else { throw ValidationError("--tbptt must be at least 1 (a chunk of steps), got \(tbptt!)") }
        guard (1...InferenceOptions.mostWorkers).contains(workers) else {
            throw ValidationError("--workers must be in 1...\(InferenceOptions.mostWorkers), got \(workers)")
        }
        guard ["gradients", "parameters"].contains(averaging) else {
            throw ValidationError("--averaging must be gradients or parameters")
        }
        guard (0..<1).contains(validationSplit) else { throw ValidationError("--validation-split must be in [0, 1)") }
        guard every >= 1 else { throw ValidationError("--every must be at least 1") }
        if let globalShards {
            guard fixedShards == nil else {
                throw ValidationError("--global-shards gives the shards of every process: give it or --fixed-shards, not both")
            }
            guard (1...InferenceOptions.mostWorkers).contains(globalShards) else {
                throw ValidationError("--global-shards must be in 1...\(InferenceOptions.mostWorkers), got \(globalShards)")
            }
        }
        if let fixedShards, fixedShards < workers || fixedShards > InferenceOptions.mostWorkers {
            throw ValidationError(
                "--fixed-shards (\(fixedShards)) must be at least --workers (\(workers)) and at most \(InferenceOptions.mostWorkers)")
        }
        guard checkpointEvery ?? 1 >= 1 else { throw ValidationError("--checkpoint-every must be at least 1") }
        guard keep >= 1 else { throw ValidationError("--keep must be at least 1") }
        if reshard && !resume { throw ValidationError("--reshard goes with --resume (it resumes a checkpoint on another shard count)") }
        if checkpointDir == nil {
            for (set, name) in [(resume, "--resume"), (checkpointEvery != nil, "--checkpoint-every")] where set {
                throw ValidationError("\(name) needs --checkpoint-dir")
            }
        }
        if let patience = earlyStopping, patience < 0 { throw ValidationError("--early-stopping must be 0 or more") }
        if let statesBetweenEpochs, !["reset", "keep"].contains(statesBetweenEpochs) {
            throw ValidationError("--states-between-epochs must be reset or keep, got \(statesBetweenEpochs)")
        }
        _ = try plateauRule()
        if reduceLrOnPlateau != nil,
            let scheduled = optimizerOptions.schedule != nil ? "--schedule" : optimizerOptions.warmupEpochs != nil ? "--warmup-epochs" : nil
        {
            throw ValidationError(
                "--reduce-lr-on-plateau sets the learning rate, which \(scheduled) makes follow a schedule; give one or the other")
        }
        // Options given with a compiled model file replace their parts of its optimizer (checked in run).
        if kerasOptions.model == nil || optimizerOptions.optimizer != nil { try optimizerOptions.checkArguments() }
        let given = try metricListGiven()
        // A model file's compiled metrics are known once it is read (run checks them there).
        if kerasOptions.model == nil || given != nil {
            try checkMonitor(names: given?.names ?? [Metric.commandLineDefault(for: try loss.map { try Loss(kerasName: $0) }).rawValue])
        }
        if saveBest {
            guard let save, save.hasSuffix(".keras") || save.hasSuffix(".weights.h5") else {
                throw ValidationError("--save-best needs --save naming a .keras or .weights.h5 file")
            }
        }
        if let save, KerasFileName(URL(fileURLWithPath: save)) == nil {
            throw ValidationError(
                "--save \(save): name it .keras (model), .weights.h5 (weights), .h5 (Keras 2 model) or .json (config)")
        }
    }

    /// `--quiet` or `--verbose 0`: nothing printed but errors.
    private var silent: Bool { quiet || verbose == 0 }

    /// `--verbose`, else a progress bar on a terminal and a line an epoch in a log; under
    /// `mpirun` a line an epoch (Open MPI may hand the ranks a terminal whatever `mpirun`'s
    /// own output is, so a job's log would get the bar's redraws).
    private var progressLevel: Int { verbose ?? (isatty(STDOUT_FILENO) != 0 && Job.group == nil ? 1 : 2) }

    /// The shards of each process: `--fixed-shards`, or `--global-shards` over the ranks
    /// (which must divide it into at least `--workers` each).
    private func shardsPerProcess() throws -> Int? {
        guard let globalShards else { return fixedShards }
        let ranks = Job.group?.size ?? 1
        guard globalShards % ranks == 0, globalShards / ranks >= workers else {
            throw ValidationError(
                "--global-shards \(globalShards) must be a multiple of the \(ranks) ranks with at least --workers (\(workers)) "
                    + "shards a rank")
        }
        return globalShards / ranks
    }

    /// --averaging and --every, as the library takes them.
    private var averagingMode: Averaging { averaging == "parameters" ? .parameters(every: every) : .gradients }

    /// --metrics, parsed (`nil` when not given).
    private func metricListGiven() throws -> MetricList? { try metrics.map { try MetricList(parsing: $0) } }

    /// Refuses a `--monitor` that the run's history never logs (the loss and the metrics
    /// `names`, and with validation samples the same with `val_`) when a callback watches it.
    private func checkMonitor(names: [String]) throws {
        guard saveBest || earlyStopping != nil || reduceLrOnPlateau != nil else { return }
        let training = ["loss"] + names
        let validates = validationSplit > 0 || validationData != nil
        let logged = training + (validates ? training.map { "val_" + $0 } : []) + ["learning_rate"]
        guard !logged.contains(monitor) else { return }
        let users = [
            (saveBest, "--save-best"), (earlyStopping != nil, "--early-stopping"),
            (reduceLrOnPlateau != nil, "--reduce-lr-on-plateau"),
        ]
        .filter(\.0).map(\.1).joined(separator: ", ")
        let why =
            monitor.hasPrefix("val_") && !validates ? " (--validation-split 0 holds out no validation samples)" : ""
        throw ValidationError(
            "--monitor \(monitor), watched by \(users), is never logged\(why); this run logs \(logged.joined(separator: ", "))")
    }

    /// --reduce-lr-on-plateau FACTOR,PATIENCE, parsed.
    private func plateauRule() throws -> (factor: Double, patience: Int)? {
        guard let text = reduceLrOnPlateau else { return nil }
        let parts = text.split(separator: ",")
        guard parts.count == 2, let factor = Double(parts[0]), let patience = Int(parts[1]),
            Float(factor).isNormal, factor > 0, factor < 1, patience >= 0
        else {
            throw ValidationError("--reduce-lr-on-plateau takes FACTOR,PATIENCE with 0 < FACTOR < 1, such as 0.5,3; got \(text)")
        }
        return (factor, patience)
    }

    func run() throws {
        modelOptions.configureBLAS()
        let path = try dataOptions.path()
        let group = Job.group
        // Outputs are checked before the first step: a typo costs a second, not the run. Only
        // rank 0 writes; an error there stops every rank.
        let inputs = [path] + kerasOptions.inputPaths + [validationData].compactMap { $0 }
        let (saveTarget, historyTarget, plotTarget, board) = try Job.failingTogether("check its output paths") {
            guard Job.writesOutput else { return (OutputFile?.none, OutputFile?.none, OutputFile?.none, TensorBoard?.none) }
            let targets = (
                try save.map { try OutputFile($0, role: "--save", inputs: inputs) },
                try history.map { try OutputFile($0, role: "--history", inputs: inputs) },
                try plot.map { try OutputFile($0, role: "--plot", inputs: inputs) },
                try tensorboard.map { try TensorBoard(logDir: $0, histogramFrequency: histogramFrequency) }
            )
            let outputs = [targets.0, targets.1, targets.2].compactMap { $0 }
            try OutputFile.checkDistinct(outputs)
            if let checkpointDir { try CheckpointFolder.checkOutsideTheFolder(checkpointDir, outputs) }
            return targets
        }
        let dataset = try dataOptions.open(path)
        let validationFile = try validationData.map { try dataOptions.open($0) }
        let blockShuffle = try shuffleWindow.map { window in
            try BlockShuffle(blockRows: try shuffleBlock ?? dataset.file.chunkRows(of: dataset.inputName) ?? 4096, windowBlocks: window)
        }
        let targetShape = dataset.targetShape ?? []
        let loaded = try kerasOptions.loadCompiled(
            seed: modelOptions.seed, replacing: (optimizerOptions.optimizer != nil, loss != nil, metrics != nil))
        let model =
            try loaded?.model
            ?? modelOptions.makeModel(
                inputShape: dataset.inputShape, targetShape: targetShape, batchSize: batchSize ?? 32,
                loss: try loss.map { try Loss(kerasName: $0) })
        try model.build(inputShape: dataset.inputShape)
        // What --save's format cannot hold is refused now, not once the run is over.
        if let saveTarget { try model.checkSavable(to: URL(fileURLWithPath: saveTarget.path)) }
        if model.isStateful && shuffleWindow != nil {
            throw ValidationError("a stateful model trains in file order; --shuffle-window does not apply")
        }
        let microRows = batchSize ?? model.batchSize ?? 32
        let (updateRows, overflow) = microRows.multipliedReportingOverflow(by: accumulate)
        guard !overflow else { throw ValidationError("--batch-size \(microRows) × --accumulate \(accumulate) is too large") }
        let parts = try DataParts(
            dataset, validationFile: validationFile, validationSplit: validationSplit, stateful: model.isStateful,
            batch: microRows, dropRemainder: dropRemainder)
        if let choice = parts.choice, !silent, Job.writesOutput { print(choice) }
        let trainingSamples = parts.training.sampleCount
        let stepsPerEpoch = max(1, trainingSamples / updateRows + (trainingSamples % updateRows == 0 ? 0 : 1))
        // A compiled Keras model trains as Keras compiled it; each option given replaces its part
        // (of a compile config Loom cannot train whole, the parts kept were read alone).
        let kept = loaded?.kept
        let fileOptimizer = model.optimizer ?? kept?.optimizer, fileState = model.kerasOptimizerVariables()
        let fileLoss = model.loss ?? kept?.loss
        let fileMetrics = model.optimizer != nil ? (kinds: model.metrics, names: model.metricNames) : kept?.metrics
        let keepsFileOptimizer = fileOptimizer != nil && !optimizerOptions.isGiven
        let optimizer: any Optimizer
        do {
            optimizer =
                try keepsFileOptimizer
                ? fileOptimizer!
                : optimizerOptions.makeOptimizer(batchSize: updateRows, stepsPerEpoch: stepsPerEpoch, replacingPartsOf: fileOptimizer)
        } catch let error as LoomError {
            throw ValidationError("\(error)")
        }
        // The file's optimizer state continues with an optimizer of its class and slots.
        let continuedState = fileState.flatMap { state in
            optimizer.kerasClassName == fileOptimizer?.kerasClassName ? state : nil
        }
        if fileOptimizer != nil || kept != nil, Job.writesOutput, !silent {
            let replaced = [
                optimizerOptions.isGiven ? fileOptimizer.map(optimizerOptions.replacedParts(of:)) ?? "optimizer" : nil,
                loss == nil ? nil : fileLoss.map { "loss (\($0.rawValue))" } ?? "loss", metrics == nil ? nil : "metrics",
            ].compactMap { $0 }
            if !replaced.isEmpty { print("The command line replaces the model file's \(replaced.joined(separator: "; "))") }
        }
        try model.checkTrainingMemory(
            batchSize: min(microRows, dataset.sampleCount), workers: try shardsPerProcess() ?? workers, averaging: averagingMode,
            optimizerStates: optimizer.stateBuffers.count, processes: group?.size ?? 1, processesOnHost: group?.localSize ?? 1)
        let lossKind = try loss.map { try Loss(kerasName: $0) } ?? fileLoss ?? .meanSquaredError
        let keptMetrics = metrics == nil ? fileMetrics : nil
        let given = try metricListGiven()
        let metricKinds = keptMetrics?.kinds ?? given?.metrics ?? [Metric.commandLineDefault(for: lossKind)]
        let metricNames = keptMetrics?.names ?? given?.names ?? metricKinds.map(\.rawValue)
        try checkMonitor(names: metricNames)
        if !keepsFileOptimizer || lossKind != model.loss || metricKinds != model.metrics || metricNames != model.metricNames {
            try model.compile(optimizer: optimizer, loss: lossKind, metrics: metricKinds, metricNames: metricNames)
            // Compiling starts the optimizer afresh: the file's state continues (at the rate an
            // option sets, if one does) unless an option changed its slots (SGD's momentum from 0).
            if var state = continuedState {
                if optimizerOptions.setsRate { state.learningRate = nil }
                if model.kerasOptimizerVariables()?.slots.count == state.slots.count {
                    try model.restoreKerasOptimizerVariables(state)
                } else if Job.writesOutput, !silent {
                    print("The model file's optimizer state does not fit the optimizer's new slots: it starts afresh")
                }
            }
        }
        let speaking = !silent && Job.writesOutput
        if speaking {
            let what = kerasOptions.model ?? modelOptions.arch.rawValue
            let ranks = group.map { " on \($0.size) ranks x \(workers) workers" } ?? ""
            print("Training \(what) on \(path)\(ranks): X \(Shape.describe([dataset.sampleCount] + dataset.inputShape))")
            try model.summary()
            if let save, save.hasSuffix(".keras"), !model.savesCompileConfig {
                let what = optimizer.kerasClassName == nil ? "optimizer \(optimizer.name)" : "--warmup-epochs warmup"
                print("\(save) is saved uncompiled (Keras has no \(what); it loads the model without an optimizer)")
            }
        }
        var callbacks: [any Callback] = []
        let historyWriter =
            historyTarget == nil && plotTarget == nil
            ? nil
            : HistoryWriter(
                csv: historyTarget, plot: plotTarget,
                title: "\(kerasOptions.model.map { URL(fileURLWithPath: $0).lastPathComponent } ?? modelOptions.presetTitle) on "
                    + URL(fileURLWithPath: path).lastPathComponent)
        if let historyWriter { callbacks.append(historyWriter) }
        if let board { callbacks.append(board) }
        let backup = try checkpointDir.map { try backupCallback(folder: $0, data: path, model: model) }
        if let backup { callbacks.append(backup) }
        if let patience = earlyStopping { callbacks.append(EarlyStopping(monitor: monitor, patience: patience)) }
        if let (factor, patience) = try plateauRule() {
            callbacks.append(try ReduceLROnPlateau(monitor: monitor, factor: factor, patience: patience))
        }
        if saveBest, Job.writesOutput, let save {
            callbacks.append(
                try ModelCheckpoint(
                    filepath: save, monitor: monitor, saveBestOnly: true, saveWeightsOnly: save.hasSuffix(".weights.h5")))
        }
        StopRequest.install()
        let statefulRun = model.isStateful
        if statesBetweenEpochs != nil && !statefulRun {
            throw ValidationError("--states-between-epochs applies to stateful models; this model has no stateful layer")
        }
        // The preset resets as Keras tutorials do by hand; a Keras model trains on as Keras's fit.
        let resetsStates = statefulRun && (statesBetweenEpochs ?? (kerasOptions.model == nil ? "reset" : "keep")) == "reset"
        let result = try model.fit(
            dataset: parts.training, epochs: epochs, batchSize: batchSize, shuffle: !(noShuffle || statefulRun),
            blockShuffle: blockShuffle,
            validationSplit: parts.validationSplit, validationData: parts.validation, verbose: speaking ? progressLevel : 0,
            resetStatesEachEpoch: resetsStates,
            parallelism: Parallelism(
                workers: workers, fixedShards: try shardsPerProcess(), averaging: averagingMode, processGroup: group,
                exchangeBucketFloats: exchangeOptions.bucketFloats),
            callbacks: callbacks, gradientAccumulationSteps: accumulate, truncatedBPTT: tbptt)
        if let historyWriter { try historyWriter.write(result) }
        let stopped = TrainingStop.isRequested
        // A run stopped with nothing to resume from still leaves what was asked: the model of
        // its last finished step.
        if let saveTarget, !saveBest, !stopped || checkpointDir == nil { try model.save(to: URL(fileURLWithPath: saveTarget.path)) }
        if let backup, speaking, backup.writing.count > 0 {
            print(
                String(
                    format: "Checkpoints: %d written to %@, %.1f ms each on average", backup.writing.count,
                    backup.folder.path, 1e3 * backup.writing.seconds / Double(backup.writing.count)))
        }
        if stopped {
            let position = "Stopped by a signal after epoch \(result.epoch.count) and part of the next"
            guard let checkpointDir else {
                let saved = [saveBest ? nil : save, history, plot].compactMap { $0 }.joined(separator: " and ")
                if Job.writesOutput { print(position + (saved.isEmpty ? "" : ": wrote \(saved) as of the last finished step")) }
                throw ExitCode(StopRequest.interruptedStatus)
            }
            if Job.writesOutput {
                print(position + ": checkpoint written into \(checkpointDir); continue with the same command and --resume")
            }
            throw ExitCode(StopRequest.exitStatus)
        }
        if speaking, let validationLoss = result["val_loss"].last, let validationRows = parts.validationRows {
            try reportBaseline(validationRows, validationLoss: validationLoss, loss: model.loss)
        }
    }

    /// Options a resumed run may change: they decide nothing of the run's bits (outputs,
    /// printing, when checkpoints are written), or are compared in a form of their own
    /// (`--data`, by its standardized path). Every other option, and the model's Keras config,
    /// must be as the checkpoint recorded them.
    static let optionsAResumeMayChange: Set<String> = [
        "--epochs", "--save", "--history", "--plot", "--quiet", "--verbose", "--log-level", "--resume", "--checkpoint-dir",
        "--checkpoint-every", "--keep",
        "--data",
        "--blas-threads", "--allow-external-data", "--tensorboard", "--histogram-frequency", "--workers", "--fixed-shards",
        "--global-shards", "--reshard", "--rank-timeout", "--bucket-floats",
    ]

    /// The --checkpoint-dir callback: takes the folder (rank 0), refuses one holding an
    /// earlier run's checkpoints without --resume, and says when --resume finds none yet.
    private func backupCallback(folder: String, data: String, model: Sequential) throws -> BackupAndRestore {
        var settings = [
            "--data": URL(fileURLWithPath: data).standardizedFileURL.path, "--x": dataOptions.inputName,
            "--y": dataOptions.targetName, "--model": kerasOptions.model ?? modelOptions.arch.rawValue,
            "--units": String(modelOptions.units), "--seed": String(modelOptions.seed), "--metrics": metrics ?? "default",
            "--lr": optimizerOptions.lr.map { "\($0)" } ?? "default",
        ]
        for (name, value) in ParsedOptions.values(of: self) where !Train.optionsAResumeMayChange.contains(name) {
            settings["option \(name)"] = value
        }
        settings["option model-config"] = try model.kerasJSON()
        let backup = try BackupAndRestore(
            backupDirectory: folder, saveFrequency: checkpointEvery.map { .steps($0) } ?? .epoch, deleteCheckpoint: false,
            keep: keep, settings: settings, reshard: reshard)
        // Rank 0 takes the folder and looks; every rank learns what it found.
        let found = try Job.failingTogether("look into --checkpoint-dir \(folder)") {
            guard Job.writesOutput else { return String?.none }
            try backup.claim()
            return try backup.folder.latestPath()
        }
        let existing =
            try Job.group.map { String(decoding: try $0.allGather(Array((found ?? "").utf8))[0], as: UTF8.self) } ?? found ?? ""
        if !existing.isEmpty && !resume {
            throw ValidationError(
                "--checkpoint-dir \(folder) holds a checkpoint of an earlier run (\(existing)); "
                    + "pass --resume to continue it, or choose another folder")
        }
        if existing.isEmpty && resume && !silent && Job.writesOutput {
            print("No checkpoint in \(folder) yet: starting from the beginning")
        }
        return backup
    }

    /// Prints the validation loss next to a naive forecast's: every output predicted as the
    /// target's value at the window's last timestep (files from `loom import csv` record which
    /// feature that is).
    private func reportBaseline(_ validation: (file: HDF5Dataset, rows: Range<Int>), validationLoss: Double, loss: Loss?) throws {
        let dataset = validation.file
        guard let value = try dataset.file.doubleAttribute("target_feature_index")?.first,
            let index = Int(exactly: value), (0..<(dataset.inputShape.last ?? 0)).contains(index),
            let lossKind = loss, [.meanSquaredError, .meanAbsoluteError].contains(lossKind)
        else {
            print(String(format: "Validation loss: %.5f", validationLoss))
            return
        }
        let rows = Array(validation.rows)
        let (timesteps, features) = (dataset.inputShape[0], dataset.inputShape[1])
        guard (dataset.targetShape ?? []).count <= 1, dataset.inputShape.count == 2 else {
            print(String(format: "Validation loss: %.5f", validationLoss))
            return
        }
        let outputs = max(1, Shape.count(dataset.targetShape ?? []))
        let x = FloatBuffer(count: rows.count * timesteps * features), y = FloatBuffer(count: rows.count * outputs)
        try dataset.read(rows: rows[...], inputs: x.pointer, targets: y.pointer)
        var naive = [Float](repeating: 0, count: rows.count * outputs)
        for s in 0..<rows.count {
            for k in 0..<outputs { naive[s * outputs + k] = x.pointer[(s * timesteps + timesteps - 1) * features + index] }
        }
        let baseline = lossKind.compute(
            predictions: naive, targets: y.pointer, logits: nil, count: naive.count,
            width: outputs, gradient: nil)
        print(
            String(
                format: "Validation loss %.5f against %.5f for the naive forecast (last value repeated): %@", validationLoss,
                baseline,
                validationLoss <= baseline
                    ? String(format: "%.1fx better", baseline / max(validationLoss, .leastNonzeroMagnitude))
                    : String(
                        format: "%.1fx worse (train longer, or a larger model)", validationLoss / max(baseline, .leastNonzeroMagnitude))))
    }
}
