// Loom's own numeric kernels, compiled once per x86-64 instruction-set level and chosen when
// the process starts from what the CPU reports (capped by the environment's
// LOOM_KERNEL_LEVEL), so one binary runs at full width on an AVX-512 machine and still runs
// on a baseline x86-64 or arm64 one. Swift reaches them through `loom_kernels()`.
//
// Every matrix is row-major with a leading dimension (the distance between two rows, in
// elements). Counts are element counts. A kernel writes only the memory its comment says it
// writes; the caller owns every buffer.
#ifndef LOOM_KERNELS_H
#define LOOM_KERNELS_H

#include <stdbool.h>

/// The instruction-set levels, lowest first.
typedef enum LoomKernelLevel {
    /// x86-64's SSE2 (or the portable C of other architectures): no fused multiply-add.
    LoomKernelLevelBaseline = 0,
    /// AVX2 with FMA (Haswell, Zen and later).
    LoomKernelLevelAVX2 = 1,
    /// AVX-512 F, DQ, BW and VL, with FMA (Skylake-SP, Ice Lake, Zen 4 and later).
    LoomKernelLevelAVX512 = 2,
} LoomKernelLevel;

/// A 2-D window sliding over channels-last images `(height, width, channels)` (Swift's
/// `WindowGeometry`): the window's size and strides, the rows and columns of padding before
/// the image, and the output's size.
typedef struct LoomWindowGeometry {
    long height, width, channels;
    long windowHeight, windowWidth;
    long strideHeight, strideWidth;
    long padTop, padLeft;
    long outputHeight, outputWidth;
} LoomWindowGeometry;

/// The elementwise activations, in the order of Swift's `Activation` cases (softmax, which
/// needs whole rows, stays in Swift).
typedef enum LoomActivationKind {
    LoomActivationLinear = 0,
    LoomActivationReLU = 1,
    LoomActivationSigmoid = 2,
    LoomActivationTanh = 3,
    /// Keras 3: relu6(x + 3) / 6.
    LoomActivationHardSigmoid = 4,
    /// Keras 2: clip(0.2 x + 0.5, 0, 1).
    LoomActivationHardSigmoidKeras2 = 5,
} LoomActivationKind;

/// One level's kernels. Every level computes the same formulas in the same order; they differ
/// in vector width and in fusing `a * b + c` into one rounding where the level has FMA, so
/// results can differ in the last bits between levels (cap the level to reproduce bits).
typedef struct LoomKernelTable {
    LoomKernelLevel level;

    /// values[i] = f(values[i]) for i < count.
    void (*activate)(LoomActivationKind kind, float *values, long count);

    /// gradient[i] *= f'(x_i), with f' written from the outputs y = f(x).
    void (*activationBackward)(LoomActivationKind kind, const float *y, float *gradient, long count);

    /// C (m, n) = op(A) · B (+ C when `accumulate`), with op(A) = A (m, k), lda >= k, or A
    /// stored (k, m), lda >= m, when `transposeA`; B (k, n), ldb >= n. 16-lane tiles of
    /// 4 rows x 32 columns; `panel` is the caller's scratch of 256 * 32 floats.
    void (*wideGemm)(bool transposeA, long m, long n, long k, const float *a, long lda, const float *b, long ldb,
                     float *c, long ldc, bool accumulate, float *panel);

    /// C (m, n) += op(A) · B, op(A) as in `wideGemm`: four rows of C at a time, 8 columns at a
    /// time, for small and narrow products.
    void (*smallGemm)(bool transposeA, long m, long n, long k, const float *a, long lda, const float *b, long ldb,
                      float *c, long ldc);

    /// sums[j] += sum over r of matrix[r, j], for a (rows, columns) packed matrix.
    void (*addColumnSums)(const float *matrix, long rows, long columns, float *sums);

    /// One LSTM timestep's cell for `rows` rows, gates i, f, g, o side by side in `z`
    /// (rows, 4 units), pre-activation, overwritten with their activations (after adding
    /// `bias` (4 units) when not NULL). Writes cell (rows, units) = f c_prev + i g, cellActivation
    /// = act(cell) and hidden = o act(cell). `candidates` is scratch of min(rows, max(1,
    /// 4096 / (4 units))) * units floats.
    void (*lstmCellForward)(float *z, const float *bias, const float *previousCell, float *cell, float *hidden,
                            float *cellActivation, float *candidates, long rows, long units,
                            LoomActivationKind gate, LoomActivationKind candidate);

    /// `lstmCellForward` at inference, the same bits of cell and hidden without act(cell):
    /// `z` is overwritten or not, and is not to be read after. `scratch` holds
    /// 2 * min(rows, max(1, 4096 / (4 units))) * units floats (read only when `units` is
    /// not a multiple of 16).
    void (*lstmCellInference)(float *z, const float *bias, const float *previousCell, float *cell, float *hidden,
                              float *scratch, long rows, long units, LoomActivationKind gate,
                              LoomActivationKind candidate);

    /// The LSTM cell's backward for `rows` rows: from the activated gates `z` (rows, 4 units),
    /// c_{t-1}, act(c_t), dL/dh and dL/dc (rows, units), writes dL/dz (rows, 4 units) and
    /// replaces dc with dL/dc_{t-1}. `gateGradients` may be `z` itself: each group of units
    /// reads its gate values before it writes their gradients.
    void (*lstmCellBackward)(const float *z, const float *previousCell, const float *cellActivation, const float *dh,
                             float *dc, float *gateGradients, long rows, long units,
                             LoomActivationKind gate, LoomActivationKind candidate);

    /// One output pixel of a max pooling: y[c] = the largest x[cells[q] + c] over the
    /// `cellCount` window cells inside the image (`cells` their offsets in x, in row-major
    /// window order), for c < channels; when `winners` is not NULL, winners[c] = the offset
    /// of the first cell holding it. Offsets below 2^31 go 8 channels at a time.
    void (*maxPoolPixel)(const float *x, const long *cells, long cellCount, long channels, float *y, long *winners);

    /// A direct convolution of the images x `(batch, height, width, channels)`, no im2col:
    /// y `(batch·outputHeight·outputWidth, filters)` = bias (zero when NULL) + each window's
    /// cells, in (row, column, channel) order and 0 outside the image, times kernel
    /// `(cells, filters)`, summed in that order with `smallGemm`'s arithmetic (the bits of
    /// im2col followed by `smallGemm`). `filters` a multiple of 8; at most 64 cells.
    void (*convolve)(const float *x, const float *kernel, const float *bias, float *y, long batch,
                     const LoomWindowGeometry *window, long filters);

    /// kernelGradient `(cells, filters)` += the sum over the output pixels, in order, of each
    /// window's cells (as `convolve` reads them) times dz `(pixels, filters)`: the bits of
    /// `smallGemm` with im2col's rows as a transposed A. `filters` a multiple of 8; at most 64
    /// cells.
    void (*convolutionKernelGradient)(const float *x, const float *dz, float *kernelGradient, long batch,
                                      const LoomWindowGeometry *window, long filters);

    /// w -= lr g, or with momentum v = mu v - lr g; w += v (Nesterov: w += mu v - lr g).
    /// `velocity` is NULL when mu is 0.
    void (*sgd)(float *w, const float *g, float *velocity, long count, float lr, float mu, bool nesterov);

    /// m += (g - m)(1 - beta1); v += (g² - v)(1 - beta2); w -= alpha m / (sqrt v + epsilon).
    void (*adam)(float *w, const float *g, float *m, float *v, long count, float alpha, float oneMinusBeta1,
                 float oneMinusBeta2, float epsilon);

    /// s = rho s + (1 - rho) g²; step = lr g / sqrt(s + epsilon); with momentum u = mu u +
    /// step, w -= u, else w -= step. `momenta` is NULL when mu is 0.
    void (*rmsprop)(float *w, const float *g, float *meanSquares, float *momenta, long count, float lr, float rho,
                    float mu, float epsilon);

    /// a += g²; w -= lr g / sqrt(a + epsilon) (Adagrad).
    void (*adagrad)(float *w, const float *g, float *accumulators, long count, float lr, float epsilon);

    /// m += (g - m)(1 - beta1); u = max(beta2 u, |g|); w -= lr m / (firstCorrection (u + epsilon))
    /// with firstCorrection = 1 - beta1^t (Adamax).
    void (*adamax)(float *w, const float *g, float *m, float *u, long count, float lr, float oneMinusBeta1,
                   float beta2, float epsilon, float firstCorrection);

    /// Nadam: m and v as Adam's; m̂ = momentumWeight m + gradientWeight g;
    /// w -= m̂ lr / (sqrt(v / secondCorrection) + epsilon).
    void (*nadam)(float *w, const float *g, float *m, float *v, long count, float lr, float oneMinusBeta1,
                  float oneMinusBeta2, float momentumWeight, float gradientWeight, float secondCorrection,
                  float epsilon);

    /// w -= lr sign(beta1 m + (1 - beta1) g); then m = beta2 m + (1 - beta2) g (Lion).
    void (*lion)(float *w, const float *g, float *m, long count, float lr, float beta1, float beta2);

    /// Lamb's first phase: m and v as Adam's, then
    /// directions = (m / firstCorrection) / (sqrt(v / secondCorrection) + epsilon).
    void (*lambDirections)(const float *g, float *m, float *v, float *directions, long count, float oneMinusBeta1,
                           float oneMinusBeta2, float firstCorrection, float secondCorrection, float epsilon);

    /// LARS: v = momentum v + scaledRate (g + decay w); w -= v.
    void (*lars)(float *w, const float *g, float *velocity, long count, float scaledRate, float decay,
                 float momentum);

    /// The sum of x[k]² over `count` values: 16 running sums (one per lane), added in lane order.
    double (*sumOfSquares)(const float *x, long count);

    /// x *= factor.
    void (*scaleValues)(float *x, long count, float factor);

    /// x limited to [-limit, limit] (NaN stays NaN).
    void (*clipValues)(float *x, long count, float limit);

    /// w -= w decay lr (decoupled weight decay, as Keras's).
    void (*decayWeights)(float *w, long count, float decay, float lr);

    /// w -= factor d.
    void (*subtractScaled)(float *w, const float *d, long count, float factor);

    /// The peak loop: `iterations` rounds of 12 independent chains x = x m + a, each chain one
    /// register of the level's widest vector (16 lanes at AVX-512, 8 below), so that the
    /// fused multiply-add units never wait for a result. Writes the flops done (a multiply-add
    /// counts 2) to *flops; returns the lanes' sum (so the loop is not optimized away).
    float (*fmaPeakLoop)(long iterations, double *flops);
} LoomKernelTable;

/// The kernels in use: the CPU's highest level, capped by LOOM_KERNEL_LEVEL (baseline, avx2
/// or avx512) when set. Chosen on the first call; the same table every call after.
const LoomKernelTable *loom_kernels(void);

/// The highest level this CPU (and its operating system) supports.
LoomKernelLevel loom_kernel_supported_level(void);

/// The table of one level, or NULL when this CPU does not support it (for tests).
const LoomKernelTable *loom_kernels_at(LoomKernelLevel level);

/// The level LOOM_KERNEL_LEVEL asks for: 0 when unset, 1 with `*level` set when it names a
/// level, -1 when it names none.
int loom_kernel_level_requested(LoomKernelLevel *level);

#endif
