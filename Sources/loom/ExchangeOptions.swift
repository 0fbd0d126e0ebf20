import ArgumentParser
import Loom

/// `--bucket-floats`: how training under `mpirun` overlaps the exchange of gradients with the
/// backward pass (`Parallelism.exchangeBucketFloats`).
struct ExchangeOptions: ParsableArguments {
    @Option(
        help: ArgumentHelp(
            "Under mpirun, averaging gradients one batch an update (not with --accumulate or --averaging parameters): "
                + "the gradients leave for the exchange in buckets of at least this many floats (the last two may be smaller) "
                + "as the backward pass finishes them, overlapping the rest of the pass (the same bits either way); 0: the "
                + "exchange follows the backward pass. On many hosts each bucket adds a latency: `loom bench` projects both.",
            valueName: "floats"))
    var bucketFloats = Parallelism.defaultExchangeBucketFloats

    func validate() throws {
        guard bucketFloats >= 0 else { throw ValidationError("--bucket-floats must be at least 0 (0: no overlap), got \(bucketFloats)") }
    }
}
