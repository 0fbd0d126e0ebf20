import Loom

extension Embedding: KerasLayer {
    static var kerasClassName: String { "Embedding" }

    static func decode(_ config: inout LayerConfig, name: String, decoder: KerasLayerDecoder) throws -> Embedding {
        Embedding(
            inputDim: try config.int("input_dim"), outputDim: try config.int("output_dim"),
            embeddingsInitializer: try decoder.initializer(
                &config, "embeddings_initializer", default: .randomUniform(minimum: -0.05, maximum: 0.05)),
            maskZero: try config.bool("mask_zero", default: false), name: name)
    }

    func encode(into config: inout [String: Any], keras2: Bool) throws {
        config["input_dim"] = inputDim
        config["output_dim"] = outputDim
        config["mask_zero"] = maskZero
        config["embeddings_initializer"] = try KerasLayerEncoder.initializer(embeddingsInitializer, layer: self)
    }

    static var kerasExample: Sequential {
        Sequential(seed: 1) {
            Input(shape: [5]); Embedding(inputDim: 7, outputDim: 3); LSTM(2)
        }
    }
}
