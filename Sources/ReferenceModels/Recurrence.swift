import Loom

/// The recurrent layers of a model preset: their cell, how many are stacked, and their
/// dropout (Keras's `dropout` and `recurrent_dropout` arguments). The default is the
/// presets' own: LSTM cells, the preset's count of layers, no dropout.
public struct Recurrence: Sendable, Equatable {
    /// The recurrent cell of every layer of the stack.
    public enum Cell: String, Sendable, CaseIterable {
        /// `LSTM`.
        case lstm
        /// `GRU` (Keras's `reset_after=True`).
        case gru
        /// `SimpleRNN`.
        case simpleRNN = "simplernn"
    }

    /// The cell of every recurrent layer.
    public var cell: Cell
    /// Recurrent layers stacked where the preset has its recurrent part (nil: the preset's
    /// own count; the encoder-decoder stacks this many in the encoder and in the decoder).
    public var layers: Int?
    /// Fraction of each recurrent layer's inputs dropped while training.
    public var dropout: Float
    /// Fraction of each recurrent layer's recurrent state dropped while training.
    public var recurrentDropout: Float

    /// LSTM cells, the preset's count of layers and no dropout, unless given.
    public init(cell: Cell = .lstm, layers: Int? = nil, dropout: Float = 0, recurrentDropout: Float = 0) {
        self.cell = cell
        self.layers = layers
        self.dropout = dropout
        self.recurrentDropout = recurrentDropout
    }

    /// Refuses a layer count below one and a rate outside [0, 1).
    public func check() throws {
        if let layers, layers < 1 { throw LoomError.invalidArgument("the recurrent layers must be at least 1, got \(layers)") }
        for (rate, name) in [(dropout, "dropout"), (recurrentDropout, "recurrent dropout")] where !(0..<1).contains(rate) {
            throw LoomError.invalidArgument("the \(name) must be in [0, 1), got \(rate)")
        }
    }

    /// `count` layers of `units`: every one but the last returns its sequences, the last
    /// returns them when `returnSequences`.
    func stack(_ count: Int, units: Int, returnSequences: Bool, stateful: Bool = false) -> [any RecurrentLayer] {
        (0..<count).map { index in
            layer(units, returnSequences: returnSequences || index < count - 1, stateful: stateful)
        }
    }

    /// One recurrent layer of this cell.
    func layer(_ units: Int, returnSequences: Bool, stateful: Bool = false) -> any RecurrentLayer {
        switch cell {
        case .lstm:
            LSTM(
                units, returnSequences: returnSequences, stateful: stateful, dropout: dropout,
                recurrentDropout: recurrentDropout)
        case .gru:
            GRU(units, returnSequences: returnSequences, stateful: stateful, dropout: dropout, recurrentDropout: recurrentDropout)
        case .simpleRNN:
            SimpleRNN(units, returnSequences: returnSequences, stateful: stateful, dropout: dropout, recurrentDropout: recurrentDropout)
        }
    }
}
