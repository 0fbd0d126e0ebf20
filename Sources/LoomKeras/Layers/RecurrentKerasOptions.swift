import Loom

/// The settings LSTM, GRU and SimpleRNN each have under the same names, which Keras writes
/// under the same keys.
protocol RecurrentKerasOptions {
    var activation: Activation { get }
    var useBias: Bool { get }
    var dropout: Float { get }
    var recurrentDropout: Float { get }
    var kernelInitializer: Initializer { get }
    var recurrentInitializer: Initializer { get }
    var biasInitializer: Initializer { get }
}

extension LSTM: RecurrentKerasOptions {}
extension GRU: RecurrentKerasOptions {}
extension SimpleRNN: RecurrentKerasOptions {}
