import Loom
import LoomHDF5

/// The training and validation samples of `loom train`: `--validation-data`'s file, else the
/// last `--validation-split` of `--data`. A stateful model's parts are whole batches: the
/// split is rounded to whole batches (`choice` says what it became), and `--drop-remainder`
/// drops the samples past the last whole batch of each file.
struct DataParts {
    let training: any Dataset
    /// The validation samples, when they are not `training`'s last `validationSplit`.
    let validation: (any Dataset)?
    /// The fraction of `training` `fit` holds out for validation.
    let validationSplit: Double
    /// The validation samples as rows of their file, for the naive-forecast comparison.
    let validationRows: (file: HDF5Dataset, rows: Range<Int>)?
    /// What a stateful model's parts became, to print; nil when nothing was rounded or dropped.
    private(set) var choice: String?

    init(
        _ data: HDF5Dataset, validationFile: HDF5Dataset?, validationSplit: Double, stateful: Bool, batch: Int,
        dropRemainder: Bool
    ) throws {
        if dropRemainder && !stateful {
            throw LoomError.invalidArgument("--drop-remainder keeps a stateful model's batches whole; this model is not stateful")
        }
        if let validationFile, validationFile.inputShape != data.inputShape {
            throw LoomError.invalidArgument(
                "--validation-data \(validationFile.file.path): its samples are \(Shape.describe(validationFile.inputShape)), "
                    + "--data's \(Shape.describe(data.inputShape))")
        }
        guard stateful else {
            training = data
            if let validationFile {
                validation = validationFile
                self.validationSplit = 0
                validationRows = (validationFile, 0..<validationFile.sampleCount)
            } else {
                validation = nil
                self.validationSplit = validationSplit
                let splitAt = Sequential.trainingSamples(of: data.sampleCount, validationSplit: validationSplit)
                guard splitAt > 0 else {
                    throw LoomError.invalidArgument(
                        "--validation-split \(validationSplit) leaves none of the \(data.sampleCount) samples of --data to train on")
                }
                validationRows = splitAt < data.sampleCount ? (data, splitAt..<data.sampleCount) : nil
            }
            return
        }
        self.validationSplit = 0
        let kept = try DataParts.wholeBatches(data, "--data", batch: batch, dropRemainder: dropRemainder)
        var dropped = data.sampleCount - kept
        if let validationFile {
            let validationKept = try DataParts.wholeBatches(
                validationFile, "--validation-data", batch: batch, dropRemainder: dropRemainder)
            dropped += validationFile.sampleCount - validationKept
            training = try DatasetRows(data, rows: 0..<kept)
            validation = try DatasetRows(validationFile, rows: 0..<validationKept)
            validationRows = (validationFile, 0..<validationKept)
            if dropped > 0 { choice = "Stateful model: \(dropped) samples past the last whole batch of \(batch) dropped" }
            return
        }
        let batches = kept / batch
        let validationBatches =
            validationSplit == 0 || batches < 2 ? 0 : min(batches - 1, max(1, Int((validationSplit * Double(batches)).rounded())))
        let splitAt = (batches - validationBatches) * batch
        training = try DatasetRows(data, rows: 0..<splitAt)
        validation = validationBatches == 0 ? nil : try DatasetRows(data, rows: splitAt..<kept)
        validationRows = validation == nil ? nil : (data, splitAt..<kept)
        let plainSplit = Sequential.trainingSamples(of: data.sampleCount, validationSplit: validationSplit)
        guard splitAt != plainSplit || dropped > 0 else { return }
        let droppedText = dropped == 0 ? "" : "; \(dropped) samples past the last whole batch dropped"
        choice =
            "Stateful model: \(batches - validationBatches) training and \(validationBatches) validation batches of \(batch) "
            + "(--validation-split \(validationSplit) in whole batches)\(droppedText)"
    }

    /// The samples of `data` in whole batches; without `dropRemainder`, a remainder is refused
    /// naming the option that drops it.
    private static func wholeBatches(_ data: HDF5Dataset, _ option: String, batch: Int, dropRemainder: Bool) throws -> Int {
        let remainder = data.sampleCount % batch
        guard remainder == 0 || dropRemainder else {
            throw LoomError.statefulBatch(
                "a stateful model needs the samples of \(option) (\(data.sampleCount)) to be a multiple of the batch size "
                    + "(\(batch)), so that every row continues the same sequence; --drop-remainder drops the last \(remainder)")
        }
        guard data.sampleCount - remainder > 0 else {
            throw LoomError.statefulBatch(
                "\(option) holds \(data.sampleCount) samples, less than one batch of \(batch) for the stateful model")
        }
        return data.sampleCount - remainder
    }
}
