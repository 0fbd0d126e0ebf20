/// The settings of a model config that change training alone (a layer's regularizers and
/// constraints, a frozen layer), collected while a model is read for prediction: the model
/// then predicts as Keras does, and training or saving it, which would drop them, is refused.
/// Shared by the layers a config decodes, wrapped ones included.
final class TrainingOnlySettings {
    /// Each as "LSTM 'lstm': kernel_regularizer", in the order read.
    var names: [String] = []
    /// The names of the layers frozen (`trainable=false`), whose parameters a summary counts
    /// as non-trainable, as Keras's does.
    var frozenLayers: Set<String> = []
}
