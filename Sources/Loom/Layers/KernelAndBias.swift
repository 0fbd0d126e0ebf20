/// The parameters of an affine layer, `y = x · kernel + bias`: a kernel whose last axis is
/// the output width and an optional bias of that width, in Keras's order. Dense (a kernel
/// `(inputs, units)`) and Conv2D (a kernel `(kh, kw, channels, filters)`, applied to im2col
/// rows) share it.
struct KernelAndBias {
    private(set) var kernel: UnsafePointer<Float>!
    private(set) var kernelGradient: UnsafeMutablePointer<Float>!
    private(set) var bias: UnsafePointer<Float>?
    private(set) var biasGradient: UnsafeMutablePointer<Float>?

    static func specs(kernelShape: [Int], useBias: Bool, kernelInitializer: Initializer, biasInitializer: Initializer) -> [ParameterSpec] {
        var specs = [ParameterSpec(name: "kernel", shape: kernelShape, initializer: kernelInitializer)]
        if useBias { specs.append(ParameterSpec(name: "bias", shape: [kernelShape.last!], initializer: biasInitializer)) }
        return specs
    }

    mutating func bind(_ binding: ParameterBinding, specs: [ParameterSpec]) {
        (kernel, kernelGradient) = binding.slot(0, of: specs)
        if specs.count > 1 { (bias, biasGradient) = binding.slot(1, of: specs) }
    }

    /// y (rows, width) = x (rows, depth) · kernel (depth, width) + bias.
    func forward(_ x: UnsafePointer<Float>, rows: Int, depth: Int, width: Int, into y: UnsafeMutablePointer<Float>) {
        if let bias {
            for r in 0..<rows {
                let row = y + r * width
                for j in 0..<width { row[j] = bias[j] }
            }
        }
        BLAS.gemm(m: rows, n: width, k: depth, a: x, lda: depth, b: kernel, ldb: width, beta: bias == nil ? 0 : 1, c: y, ldc: width)
    }

    /// dkernel += xᵀ · dz; dbias += Σ_rows dz; and dx = dz · kernelᵀ into `inputGradient` when given.
    func backward(
        _ dz: UnsafePointer<Float>, input x: UnsafePointer<Float>, rows: Int, depth: Int, width: Int,
        inputGradient dx: UnsafeMutablePointer<Float>?
    ) {
        BLAS.gemm(
            transposeA: true, m: depth, n: width, k: rows, a: x, lda: depth, b: dz, ldb: width,
            beta: 1, c: kernelGradient, ldc: width)
        backwardLeavingKernel(dz, rows: rows, depth: depth, width: width, inputGradient: dx)
    }

    /// `backward` but for the kernel gradient, which the caller adds itself (a direct
    /// convolution's, `Conv2D`).
    func backwardLeavingKernel(
        _ dz: UnsafePointer<Float>, rows: Int, depth: Int, width: Int, inputGradient dx: UnsafeMutablePointer<Float>?
    ) {
        if let biasGradient { Kernels.table.addColumnSums(dz, rows, width, biasGradient) }
        if let dx {
            BLAS.gemm(transposeB: true, m: rows, n: depth, k: width, a: dz, lda: width, b: kernel, ldb: width, c: dx, ldc: depth)
        }
    }
}
