/// What `compile` fixed besides the optimizer: the loss a step minimises and the metrics it
/// reports.
struct Objective {
    let loss: Loss
    let metrics: [Metric]
}
