/// The parameters of a recurrent layer with `gates` gates side by side, in Keras's order and
/// layout, and the matrix products every such layer makes of them:
///
///     kernel            (features, gates·units)
///     recurrent_kernel  (units, gates·units)
///     bias              (gates·units), or (2, gates·units) with a separate recurrent row (GRU)
///
/// Shared by `LSTM` (4 gates), `GRU` (3) and `SimpleRNN` (1); each keeps its cell math.
struct RecurrentWeights {
    private(set) var kernel: UnsafePointer<Float>!
    private(set) var kernelGradient: UnsafeMutablePointer<Float>!
    private(set) var recurrentKernel: UnsafePointer<Float>!
    private(set) var recurrentGradient: UnsafeMutablePointer<Float>!
    private(set) var bias: UnsafePointer<Float>?
    private(set) var biasGradient: UnsafeMutablePointer<Float>?
    /// Whether the bias has a second row for the recurrent projection (GRU's reset_after).
    private(set) var recurrentBias = false
    /// Told when the recurrent kernel's and the bias's gradients are final
    /// (`accumulateGradients`), and the recurrent kernel's index in the whole buffer.
    private var progress: GradientProgress?
    private var recurrentOffset = 0
    /// Whether small per-step products go through `SmallGemm` instead of OpenBLAS. Set on
    /// data-parallel replicas: several threads calling OpenBLAS at once collide on its
    /// allocation lock (two workers of a 10-unit LSTM trained 1.3x faster through SmallGemm),
    /// while on one thread OpenBLAS is faster.
    var stepProductsInSmallGemm = false

    static func specs(
        features: Int, width: Int, units: Int, bias biasShape: [Int]?,
        kernelInitializer: Initializer, recurrentInitializer: Initializer, biasInitializer: Initializer
    ) -> [ParameterSpec] {
        var specs = [
            ParameterSpec(name: "kernel", shape: [features, width], initializer: kernelInitializer),
            ParameterSpec(name: "recurrent_kernel", shape: [units, width], initializer: recurrentInitializer),
        ]
        if let biasShape { specs.append(ParameterSpec(name: "bias", shape: biasShape, initializer: biasInitializer)) }
        return specs
    }

    mutating func bind(_ binding: ParameterBinding, specs: [ParameterSpec]) {
        (kernel, kernelGradient) = binding.slot(0, of: specs)
        (recurrentKernel, recurrentGradient) = binding.slot(1, of: specs)
        progress = binding.progress
        recurrentOffset = binding.offset + specs[0].count
        if specs.count > 2 {
            (bias, biasGradient) = binding.slot(2, of: specs)
            recurrentBias = specs[2].shape.count == 2
        }
    }

    /// z (rows, width) = xT (rows, features) · kernel, plus the (input) bias when `addBias`:
    /// every timestep's input projection in one GEMM.
    func projectInputs(
        _ xT: UnsafePointer<Float>, rows: Int, features: Int, width: Int, into z: UnsafeMutablePointer<Float>, addBias: Bool
    ) {
        let withBias = addBias && bias != nil
        if withBias, let bias { for r in 0..<rows { (z + r * width).update(from: bias, count: width) } }
        BLAS.gemm(
            m: rows, n: width, k: features, a: xT, lda: features, b: kernel, ldb: width,
            beta: withBias ? 1 : 0, c: z, ldc: width)
    }

    /// z (rows, width) += h (rows, units) · recurrent_kernel: all gates of one step in one
    /// product (on replicas, small ones in `SmallGemm`: see `stepProductsInSmallGemm`).
    func addRecurrent(_ h: UnsafePointer<Float>, rows: Int, units: Int, width: Int, into z: UnsafeMutablePointer<Float>) {
        if stepProductsInSmallGemm, rows * units * width <= SmallGemm.maximumWork {
            SmallGemm.accumulate(m: rows, n: width, k: units, a: h, lda: units, b: recurrentKernel, ldb: width, c: z, ldc: width)
        } else {
            BLAS.gemm(m: rows, n: width, k: units, a: h, lda: units, b: recurrentKernel, ldb: width, beta: 1, c: z, ldc: width)
        }
    }

    /// Copies recurrent_kernelᵀ `(width, units)` into `transposed`, for `recurrentGradient`'s
    /// untransposed products (once per pass: the weights do not change between forward and
    /// backward).
    func transposeRecurrent(units: Int, width: Int, into transposed: UnsafeMutablePointer<Float>) {
        BLAS.transpose(recurrentKernel, rows: units, columns: width, lda: width, into: transposed)
    }

    /// dh (rows, units) = (or +=, with `accumulate`) dz (rows, width) · recurrent_kernelᵀ;
    /// `transposed` is recurrent_kernelᵀ from `transposeRecurrent`.
    func recurrentGradient(
        _ dz: UnsafePointer<Float>, rows: Int, units: Int, width: Int, transposed: UnsafePointer<Float>,
        into dh: UnsafeMutablePointer<Float>, accumulate: Bool
    ) {
        if stepProductsInSmallGemm, rows * units * width <= SmallGemm.maximumWork {
            if !accumulate { dh.update(repeating: 0, count: rows * units) }
            SmallGemm.accumulate(m: rows, n: units, k: width, a: dz, lda: width, b: transposed, ldb: units, c: dh, ldc: units)
        } else {
            BLAS.gemm(
                m: rows, n: units, k: width, a: dz, lda: width, b: transposed, ldb: units,
                beta: accumulate ? 1 : 0, c: dh, ldc: units)
        }
    }

    /// The bias row(s) += the column sums of one step's gate gradients `(rows, width)`: called
    /// by each step of the backward pass while its gradients are still in cache (read back
    /// after the whole pass, as the weight gradients are, the large models would wait on
    /// memory: 6% of an LSTM(128) step at two workers). `dInput` and `dRecurrent` as below.
    func accumulateBiasGradient(
        inputGates dInput: UnsafePointer<Float>, recurrentGates dRecurrent: UnsafePointer<Float>, rows: Int, width: Int
    ) {
        guard let biasGradient else { return }
        Kernels.table.addColumnSums(dInput, rows, width, biasGradient)
        if recurrentBias { Kernels.table.addColumnSums(dRecurrent, rows, width, biasGradient + width) }
    }

    /// Lets `progress` move an exchange on (`GradientProgress.poll`): called at each step of
    /// the backward pass.
    func pollProgress() {
        progress?.poll()
    }

    /// The kernel gradients over all T·B rows at once: dkernel += xTᵀ · dInput and
    /// drecurrent += h_{0..T−1}ᵀ · dRecurrent (the bias: `accumulateBiasGradient`, per step).
    /// `dInput` and `dRecurrent` are the same buffer except for GRU (reset_after). The
    /// recurrent kernel's product comes first: with it (and the bias, summed per step) final,
    /// `progress` hears so while the kernel's product runs.
    func accumulateGradients(
        input xT: UnsafePointer<Float>, states h: UnsafePointer<Float>, inputGates dInput: UnsafePointer<Float>,
        recurrentGates dRecurrent: UnsafePointer<Float>, rows: Int, features: Int, units: Int, width: Int
    ) {
        BLAS.gemm(
            transposeA: true, m: units, n: width, k: rows, a: h, lda: units, b: dRecurrent, ldb: width,
            beta: 1, c: recurrentGradient, ldc: width)
        progress?.finished(from: recurrentOffset)
        BLAS.gemm(
            transposeA: true, m: features, n: width, k: rows, a: xT, lda: features, b: dInput, ldb: width,
            beta: 1, c: kernelGradient, ldc: width)
    }

    /// dxT (rows, features) = dInput (rows, width) · kernelᵀ.
    func inputGradient(_ dInput: UnsafePointer<Float>, rows: Int, features: Int, width: Int, into dxT: UnsafeMutablePointer<Float>) {
        BLAS.gemm(
            transposeB: true, m: rows, n: features, k: width, a: dInput, lda: width, b: kernel, ldb: width,
            c: dxT, ldc: features)
    }
}
