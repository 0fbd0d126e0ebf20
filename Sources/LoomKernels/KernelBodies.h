// The kernels' code, written once with Clang's vector extensions and compiled once per level:
// KernelsBaseline.c, KernelsAVX2.c and KernelsAVX512.c each include this file inside a
// `#pragma clang attribute` that sets the level's target features, after defining
// LOOM_LEVEL_TABLE (the name of the level's table) and LOOM_LEVEL (its LoomKernelLevel).
//
// A 16-lane vector is one AVX-512 register, two AVX2 registers or four SSE2 ones: the same
// code runs at each width. `a * b + c` written in one expression becomes one fused
// multiply-add where the level has FMA and a multiply and an add where it has not (never a
// call to libm's software fma).
#include <stdint.h>
#include <string.h>
#include "LoomKernels.h"

// The vector helpers below are inlined everywhere: no 16-lane value crosses a call, so the
// warning that passing one without AVX-512 changes the calling convention does not apply.
#pragma clang diagnostic ignored "-Wpsabi"

typedef float F16 __attribute__((vector_size(64)));
typedef int32_t I16 __attribute__((vector_size(64)));
typedef float F8 __attribute__((vector_size(32)));

#define INLINE static inline __attribute__((always_inline))

// MARK: vectors

/// x in every lane (one broadcast; adding x to a zero vector would cost an add, since
/// 0 + x is not x for x = -0).
INLINE F16 splat(float x) { return (F16){x, x, x, x, x, x, x, x, x, x, x, x, x, x, x, x}; }
INLINE F16 load(const float *p) {
    F16 v;
    memcpy(&v, p, sizeof v);
    return v;
}
INLINE void store(float *p, F16 v) { memcpy(p, &v, sizeof v); }
/// The first `n` (< 16) floats of `p`, the other lanes zero, and their store: masked loads
/// and stores where the level has them (the lanes past `n` are not touched, so they may lie
/// past the buffer's end), else through a buffer on the stack (inserting lane by lane costs
/// several times more). Rows of a few units (an LSTM(10)'s) take this path in every kernel.
/// LOOM_MASKED_AVX512 and LOOM_MASKED_AVX2 are set by the level's file (Clang's builtins
/// behind `_mm512_maskz_loadu_ps` and `_mm256_maskload_ps`: <immintrin.h> would bring in
/// <sys/select.h>'s `select`).
#if defined(LOOM_MASKED_AVX512)
INLINE F16 loadPartial(const float *p, long n) {
    return __builtin_ia32_loadups512_mask(p, splat(0.0f), (unsigned short)((1u << n) - 1));
}
INLINE void storePartial(float *p, F16 v, long n) { __builtin_ia32_storeups512_mask(p, v, (unsigned short)((1u << n) - 1)); }
#elif defined(LOOM_MASKED_AVX2)
typedef int32_t I8 __attribute__((vector_size(32)));
/// All ones in the lanes below `n` of 8.
INLINE I8 laneMask8(long n) {
    int32_t count = (int32_t)n;
    return (I8){count, count, count, count, count, count, count, count} > (I8){0, 1, 2, 3, 4, 5, 6, 7};
}
INLINE F16 loadPartial(const float *p, long n) {
    F8 low = __builtin_ia32_maskloadps256((const F8 *)p, laneMask8(n));
    F8 high = __builtin_ia32_maskloadps256((const F8 *)(p + 8), laneMask8(n - 8));
    return __builtin_shufflevector(low, high, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
}
INLINE void storePartial(float *p, F16 v, long n) {
    __builtin_ia32_maskstoreps256((F8 *)p, laneMask8(n), __builtin_shufflevector(v, v, 0, 1, 2, 3, 4, 5, 6, 7));
    __builtin_ia32_maskstoreps256((F8 *)(p + 8), laneMask8(n - 8), __builtin_shufflevector(v, v, 8, 9, 10, 11, 12, 13, 14, 15));
}
#else
INLINE F16 loadPartial(const float *p, long n) {
    float lanes[16] = {0};
    memcpy(lanes, p, (size_t)n * sizeof(float));
    return load(lanes);
}
INLINE void storePartial(float *p, F16 v, long n) {
    float lanes[16];
    store(lanes, v);
    memcpy(p, lanes, (size_t)n * sizeof(float));
}
#endif
/// Copies `n` floats (not overlapping): in whole vectors and a masked tail where the level
/// masks (a call to `memcpy` costs more than a short row), else by `memcpy`.
INLINE void copyFloats(float *to, const float *from, long n) {
#if defined(LOOM_MASKED_AVX512) || defined(LOOM_MASKED_AVX2)
    long j = 0;
    for (; j + 16 <= n; j += 16) store(to + j, load(from + j));
    if (j < n) storePartial(to + j, loadPartial(from + j, n - j), n - j);
#else
    memcpy(to, from, (size_t)n * sizeof(float));
#endif
}
/// The first `n` (<= 16) floats of `p`: a whole vector, or a partial one.
INLINE F16 loadUpTo(const float *p, long n) { return n == 16 ? load(p) : loadPartial(p, n); }
INLINE void storeUpTo(float *p, F16 v, long n) {
    if (n == 16) store(p, v);
    else storePartial(p, v, n);
}
INLINE F8 load8(const float *p) {
    F8 v;
    memcpy(&v, p, sizeof v);
    return v;
}
INLINE void store8(float *p, F8 v) { memcpy(p, &v, sizeof v); }
INLINE F8 splat8(float x) { return (F8){x, x, x, x, x, x, x, x}; }
/// Lanes of `a` where `mask` is set (all ones), of `b` elsewhere.
INLINE F16 select(I16 mask, F16 a, F16 b) { return (F16)((mask & (I16)a) | (~mask & (I16)b)); }
/// x limited to [lower, upper]; NaN stays NaN.
INLINE F16 clamp(F16 x, float lower, float upper) {
    x = select(x < splat(lower), splat(lower), x);
    return select(x > splat(upper), splat(upper), x);
}

// MARK: elementary functions (Cephes expf and tanhf coefficients, within 2 ulp of libm)

/// e^x, x clamped to [-87, 88] so the result stays a normal float.
INLINE F16 expVector(F16 x) {
    x = clamp(x, -87.0f, 88.0f);
    // n = round(x / ln 2) by the 1.5 * 2^23 trick: adding it leaves n in the low mantissa bits.
    const F16 magic = splat(12582912.0f);
    F16 shifted = x * 1.44269504f + magic;
    F16 n = shifted - magic;
    // r = x - n ln 2, with ln 2 split in two so the product is exact.
    F16 r = n * -0.693359375f + x;
    r = n * 2.12194440e-4f + r;
    F16 r2 = r * r;
    F16 p = splat(1.98756915e-4f);
    p = p * r + 1.39819995e-3f;
    p = p * r + 8.33345190e-3f;
    p = p * r + 4.16657959e-2f;
    p = p * r + 1.66666655e-1f;
    p = p * r + 5.00000012e-1f;
    F16 poly = p * r2 + (r + 1.0f);
    // 2^n built in the exponent field: (n + 127) << 23.
    I16 bits = (I16)shifted - (I16)magic;
    F16 scale = (F16)((bits + 127) << 23);
    return poly * scale;
}

INLINE F16 sigmoidVector(F16 x) { return 1.0f / (1.0f + expVector(-x)); }

/// An odd polynomial for |x| < 0.625 (where 1 - 2 / (e^2x + 1) would cancel), else
/// 1 - 2 / (e^2|x| + 1) with the sign put back.
INLINE F16 tanhVector(F16 x) {
    I16 negative = x < splat(0.0f);
    F16 magnitude = select(negative, -x, x);
    F16 z = x * x;
    F16 p = splat(-5.70498872745e-3f);
    p = p * z + 2.06390887954e-2f;
    p = p * z + -5.37397155531e-2f;
    p = p * z + 1.33314422036e-1f;
    p = p * z + -3.33332819422e-1f;
    F16 pz = p * z;
    F16 small = pz * x + x;
    F16 large = 1.0f - 2.0f / (expVector(2.0f * magnitude) + 1.0f);
    large = select(negative, -large, large);
    return select(magnitude >= splat(0.625f), large, small);
}

INLINE F16 activation(LoomActivationKind kind, F16 x) {
    switch (kind) {
    case LoomActivationReLU: return select(x < splat(0.0f), splat(0.0f), x);
    case LoomActivationSigmoid: return sigmoidVector(x);
    case LoomActivationTanh: return tanhVector(x);
    case LoomActivationHardSigmoid: return clamp((x + 3.0f) * (1.0f / 6.0f), 0.0f, 1.0f);
    case LoomActivationHardSigmoidKeras2: return clamp(x * 0.2f + 0.5f, 0.0f, 1.0f);
    case LoomActivationLinear:
    default: return x;
    }
}

/// f'(x) from y = f(x).
INLINE F16 derivative(LoomActivationKind kind, F16 y) {
    switch (kind) {
    case LoomActivationReLU: return select(y > splat(0.0f), splat(1.0f), splat(0.0f));
    case LoomActivationSigmoid: return y * (1.0f - y);
    case LoomActivationTanh: return 1.0f - y * y;
    case LoomActivationHardSigmoid:
        return select((y > splat(0.0f)) & (y < splat(1.0f)), splat(1.0f / 6.0f), splat(0.0f));
    case LoomActivationHardSigmoidKeras2:
        return select((y > splat(0.0f)) & (y < splat(1.0f)), splat(0.2f), splat(0.0f));
    case LoomActivationLinear:
    default: return splat(1.0f);
    }
}

/// f over `count` values in place; the tail goes through a zero-padded vector, so every
/// element sees the same arithmetic. `kind` is a constant where this is inlined.
INLINE void activateValues(LoomActivationKind kind, float *values, long count) {
    long i = 0;
    for (; i + 16 <= count; i += 16) store(values + i, activation(kind, load(values + i)));
    if (i < count) storePartial(values + i, activation(kind, loadPartial(values + i, count - i)), count - i);
}

static void activate(LoomActivationKind kind, float *values, long count) {
    switch (kind) {
    case LoomActivationLinear: return;
    case LoomActivationReLU: activateValues(LoomActivationReLU, values, count); return;
    case LoomActivationSigmoid: activateValues(LoomActivationSigmoid, values, count); return;
    case LoomActivationTanh: activateValues(LoomActivationTanh, values, count); return;
    case LoomActivationHardSigmoid: activateValues(LoomActivationHardSigmoid, values, count); return;
    case LoomActivationHardSigmoidKeras2: activateValues(LoomActivationHardSigmoidKeras2, values, count); return;
    }
}

static void activationBackward(LoomActivationKind kind, const float *y, float *gradient, long count) {
    if (kind == LoomActivationLinear) return;
    long i = 0;
    for (; i + 16 <= count; i += 16) store(gradient + i, load(gradient + i) * derivative(kind, load(y + i)));
    if (i < count) {
        long n = count - i;
        storePartial(gradient + i, loadPartial(gradient + i, n) * derivative(kind, loadPartial(y + i, n)), n);
    }
}

// MARK: products

enum { depthBlock = 256, rowBlock = 256, packingRows = 64 };

/// Copies B[0..<depth, 0..<32] (rows `ldb` apart) into `panel`, 32 floats a row.
INLINE void pack(long depth, const float *b, long ldb, float *panel) {
    for (long p = 0; p < depth; p++) {
        store(panel + p * 32, load(b + p * ldb));
        store(panel + p * 32 + 16, load(b + p * ldb + 16));
    }
}

/// C[0..<4, 0..<32] (+)= op(A)[0..<4, 0..<depth] B[0..<depth, 0..<32], op(A)[i, p] at
/// a + i rowStride + p depthStride.
INLINE void tile(long depth, const float *a, long rowStride, long depthStride, const float *b, long ldb, float *c,
                 long ldc, bool fresh) {
    float *r1 = c + ldc, *r2 = c + 2 * ldc, *r3 = c + 3 * ldc;
    F16 zero = splat(0.0f);
    F16 c00 = fresh ? zero : load(c), c01 = fresh ? zero : load(c + 16);
    F16 c10 = fresh ? zero : load(r1), c11 = fresh ? zero : load(r1 + 16);
    F16 c20 = fresh ? zero : load(r2), c21 = fresh ? zero : load(r2 + 16);
    F16 c30 = fresh ? zero : load(r3), c31 = fresh ? zero : load(r3 + 16);
    const float *bp = b, *ap = a;
    for (long p = 0; p < depth; p++) {
        F16 b0 = load(bp), b1 = load(bp + 16);
        F16 s = splat(ap[0]);
        c00 = s * b0 + c00;
        c01 = s * b1 + c01;
        s = splat(ap[rowStride]);
        c10 = s * b0 + c10;
        c11 = s * b1 + c11;
        s = splat(ap[2 * rowStride]);
        c20 = s * b0 + c20;
        c21 = s * b1 + c21;
        s = splat(ap[3 * rowStride]);
        c30 = s * b0 + c30;
        c31 = s * b1 + c31;
        bp += ldb;
        ap += depthStride;
    }
    store(c, c00);
    store(c + 16, c01);
    store(r1, c10);
    store(r1 + 16, c11);
    store(r2, c20);
    store(r2 + 16, c21);
    store(r3, c30);
    store(r3 + 16, c31);
}

/// One row of C over columns [first, end): 16, then 8, then 1 column at a time.
static void productRow(long depth, const float *a, long depthStride, const float *b, long ldb, float *c, long first,
                       long end, bool fresh) {
    long j = first;
    for (; j + 16 <= end; j += 16) {
        F16 sum = fresh ? splat(0.0f) : load(c + j);
        for (long p = 0; p < depth; p++) sum = splat(a[p * depthStride]) * load(b + p * ldb + j) + sum;
        store(c + j, sum);
    }
    for (; j + 8 <= end; j += 8) {
        F8 sum = fresh ? splat8(0.0f) : load8(c + j);
        for (long p = 0; p < depth; p++) sum = splat8(a[p * depthStride]) * load8(b + p * ldb + j) + sum;
        store8(c + j, sum);
    }
    for (; j < end; j++) {
        float sum = fresh ? 0.0f : c[j];
        for (long p = 0; p < depth; p++) sum = a[p * depthStride] * b[p * ldb + j] + sum;
        c[j] = sum;
    }
}

/// The depth in slices of `depthBlock`, the rows in blocks of `rowBlock` (their A slice stays
/// in L2 across all column tiles); products of at least `packingRows` rows (half as many when
/// the depth fills a slice) copy each 32-column B panel into `panel` first, since the layers'
/// B rows lie a power of two apart and would fall into a few L1 sets. The sums come out in
/// the same order on every call, packed or not.
static void wideGemm(bool transposeA, long m, long n, long k, const float *a, long lda, const float *b, long ldb,
                     float *c, long ldc, bool accumulate, float *panel) {
    long rowStride = transposeA ? 1 : lda, depthStride = transposeA ? lda : 1;
    long tileRows = m - m % 4, tileColumns = n - n % 32;
    bool packs = tileColumns > 0 && (tileRows >= packingRows || (tileRows >= packingRows / 2 && k >= depthBlock));
    long p0 = 0;
    do {
        long depth = k - p0 < depthBlock ? k - p0 : depthBlock;
        // The first slice writes C (or adds to it); later ones always add.
        bool fresh = p0 == 0 && !accumulate;
        const float *aSlice = a + p0 * depthStride, *bSlice = b + p0 * ldb;
        for (long i0 = 0; i0 < m;) {
            long rowEnd = i0 + rowBlock < m ? i0 + rowBlock : m;
            long tileEnd = rowEnd < tileRows ? rowEnd : tileRows;
            for (long j = 0; j < tileColumns; j += 32) {
                const float *source = bSlice + j;
                long sourceStride = ldb;
                if (packs) {
                    pack(depth, source, ldb, panel);
                    source = panel;
                    sourceStride = 32;
                }
                for (long i = i0; i < tileEnd; i += 4) {
                    tile(depth, aSlice + i * rowStride, rowStride, depthStride, source, sourceStride, c + i * ldc + j,
                         ldc, fresh);
                }
            }
            // Rows past the last whole tile, all columns; then the last columns of tiled rows.
            for (long i = i0 > tileEnd ? i0 : tileEnd; i < rowEnd; i++) {
                productRow(depth, aSlice + i * rowStride, depthStride, bSlice, ldb, c + i * ldc, 0, n, fresh);
            }
            if (tileColumns < n) {
                for (long i = i0; i < tileEnd; i++) {
                    productRow(depth, aSlice + i * rowStride, depthStride, bSlice, ldb, c + i * ldc, tileColumns, n,
                               fresh);
                }
            }
            i0 = rowEnd;
        }
        p0 += depth;
    } while (p0 < k);
}

enum { smallDepthChunk = 512 };

/// The k rows in chunks of `smallDepthChunk`; within a chunk four rows of C together (four
/// independent sums share each B vector), 8 columns at a time then the last columns, then
/// the rows left one by one. Each sum adds its products in order of p.
static void smallGemm(bool transposeA, long m, long n, long k, const float *a, long lda, const float *b, long ldb,
                      float *c, long ldc) {
    long rowStride = transposeA ? 1 : lda, depthStride = transposeA ? lda : 1;
    long vectorEnd = n - n % 8;
    for (long p0 = 0; p0 < k; p0 += smallDepthChunk) {
        long depth = k - p0 < smallDepthChunk ? k - p0 : smallDepthChunk;
        const float *aChunk = a + p0 * depthStride, *bChunk = b + p0 * ldb;
        long i = 0;
        for (; i + 4 <= m; i += 4) {
            const float *a0 = aChunk + i * rowStride, *a1 = a0 + rowStride, *a2 = a1 + rowStride, *a3 = a2 + rowStride;
            float *c0 = c + i * ldc, *c1 = c0 + ldc, *c2 = c1 + ldc, *c3 = c2 + ldc;
            for (long j = 0; j < vectorEnd; j += 8) {
                F8 s0 = load8(c0 + j), s1 = load8(c1 + j), s2 = load8(c2 + j), s3 = load8(c3 + j);
                const float *bRow = bChunk + j;
                for (long q = 0, p = 0; q < depth; q++, p += depthStride, bRow += ldb) {
                    F8 bp = load8(bRow);
                    s0 = splat8(a0[p]) * bp + s0;
                    s1 = splat8(a1[p]) * bp + s1;
                    s2 = splat8(a2[p]) * bp + s2;
                    s3 = splat8(a3[p]) * bp + s3;
                }
                store8(c0 + j, s0);
                store8(c1 + j, s1);
                store8(c2 + j, s2);
                store8(c3 + j, s3);
            }
            for (long column = vectorEnd; column < n; column++) {
                float s0 = c0[column], s1 = c1[column], s2 = c2[column], s3 = c3[column];
                const float *bRow = bChunk + column;
                for (long q = 0, p = 0; q < depth; q++, p += depthStride, bRow += ldb) {
                    float bp = *bRow;
                    s0 = a0[p] * bp + s0;
                    s1 = a1[p] * bp + s1;
                    s2 = a2[p] * bp + s2;
                    s3 = a3[p] * bp + s3;
                }
                c0[column] = s0;
                c1[column] = s1;
                c2[column] = s2;
                c3[column] = s3;
            }
        }
        for (; i < m; i++) {
            const float *aRow = aChunk + i * rowStride;
            float *cRow = c + i * ldc;
            for (long j = 0; j < vectorEnd; j += 8) {
                F8 sum = load8(cRow + j);
                const float *bRow = bChunk + j;
                for (long q = 0, p = 0; q < depth; q++, p += depthStride, bRow += ldb) {
                    sum = splat8(aRow[p]) * load8(bRow) + sum;
                }
                store8(cRow + j, sum);
            }
            for (long column = vectorEnd; column < n; column++) {
                float sum = cRow[column];
                const float *bRow = bChunk + column;
                for (long q = 0, p = 0; q < depth; q++, p += depthStride, bRow += ldb) sum = aRow[p] * *bRow + sum;
                cRow[column] = sum;
            }
        }
    }
}

/// 8 columns at a time, the rows added in order, read in blocks of 8 whole rows (going down
/// one column at a time would fetch every cache line of a large matrix several times).
static void addColumnSums(const float *matrix, long rows, long columns, float *sums) {
    for (long r0 = 0; r0 < rows; r0 += 8) {
        long rowEnd = r0 + 8 < rows ? r0 + 8 : rows;
        long j = 0;
        for (; j + 8 <= columns; j += 8) {
            F8 sum = load8(sums + j);
            for (long r = r0; r < rowEnd; r++) sum += load8(matrix + r * columns + j);
            store8(sums + j, sum);
        }
        for (; j < columns; j++) {
            float sum = sums[j];
            for (long r = r0; r < rowEnd; r++) sum += matrix[r * columns + j];
            sums[j] = sum;
        }
    }
}

// MARK: the LSTM cell

/// With 16-unit groups, each row is activated slice by slice in whole vectors. Otherwise each
/// slice would end in a padded tail (a layer of 10 units spends most of its time there), so a
/// block's gates are activated all at once with the recurrent activation, the g columns
/// redone from their copy in `candidates`.
INLINE void lstmForward(float *z, const float *bias, const float *previousCell, float *cell, float *hidden,
                        float *cellActivation, float *candidates, long rows, long units, LoomActivationKind gate,
                        LoomActivationKind candidate) {
    long U = units, G = 4 * units;
    bool wholeVectors = U % 16 == 0;
    long blockRows = 4096 / G > 1 ? 4096 / G : 1;
    for (long r0 = 0; r0 < rows; r0 += blockRows) {
        long count = rows - r0 < blockRows ? rows - r0 : blockRows;
        float *block = z + r0 * G, *c = cell + r0 * U, *act = cellActivation + r0 * U;
        for (long r = 0; r < count; r++) {
            float *row = block + r * G;
            if (bias) {
                long j = 0;
                for (; j + 16 <= G; j += 16) store(row + j, load(row + j) + load(bias + j));
                for (; j < G; j++) row[j] += bias[j];
            }
            if (wholeVectors) {
                activateValues(gate, row, 2 * U);
                activateValues(candidate, row + 2 * U, U);
                activateValues(gate, row + 3 * U, U);
            } else {
                copyFloats(candidates + r * U, row + 2 * U, U);
            }
        }
        if (!wholeVectors) {
            activateValues(gate, block, count * G);
            activateValues(candidate, candidates, count * U);
        }
        for (long r = 0; r < count; r++) {
            float *row = block + r * G;
            if (!wholeVectors) copyFloats(row + 2 * U, candidates + r * U, U);
            const float *cPrev = previousCell + (r0 + r) * U;
            float *cNew = c + r * U, *aRow = act + r * U;
            long j = 0;
            for (; j + 16 <= U; j += 16) {
                F16 value = load(row + U + j) * load(cPrev + j) + load(row + j) * load(row + 2 * U + j);
                store(cNew + j, value);
                store(aRow + j, value);
            }
            for (; j < U; j++) {
                cNew[j] = row[U + j] * cPrev[j] + row[j] * row[2 * U + j];
                aRow[j] = cNew[j];
            }
        }
        activateValues(candidate, act, count * U);
        for (long r = 0; r < count; r++) {
            const float *row = block + r * G, *aRow = act + r * U;
            float *hNew = hidden + (r0 + r) * U;
            long j = 0;
            for (; j + 16 <= U; j += 16) store(hNew + j, load(row + 3 * U + j) * load(aRow + j));
            for (; j < U; j++) hNew[j] = row[3 * U + j] * aRow[j];
        }
    }
}

static void lstmCellForward(float *z, const float *bias, const float *previousCell, float *cell, float *hidden,
                            float *cellActivation, float *candidates, long rows, long units, LoomActivationKind gate,
                            LoomActivationKind candidate) {
    if (gate == LoomActivationSigmoid && candidate == LoomActivationTanh) {
        lstmForward(z, bias, previousCell, cell, hidden, cellActivation, candidates, rows, units,
                    LoomActivationSigmoid, LoomActivationTanh);
    } else {
        lstmForward(z, bias, previousCell, cell, hidden, cellActivation, candidates, rows, units, gate, candidate);
    }
}

/// One group of 16 units of one row of `lstmInference`: `lstmForward`'s arithmetic lane by
/// lane (the bias added before the activation, c = f c_prev + i g, h = o act(c)), with
/// nothing stored but c and h.
INLINE void lstmInferenceGroup(const float *row, const float *bias, const float *cPrev, float *cNew, float *hNew,
                               long U, long j, LoomActivationKind gate, LoomActivationKind candidate) {
    F16 i = load(row + j), f = load(row + U + j), g = load(row + 2 * U + j), o = load(row + 3 * U + j);
    if (bias) {
        i = i + load(bias + j);
        f = f + load(bias + U + j);
        g = g + load(bias + 2 * U + j);
        o = o + load(bias + 3 * U + j);
    }
    i = activation(gate, i);
    f = activation(gate, f);
    g = activation(candidate, g);
    o = activation(gate, o);
    F16 value = f * load(cPrev + j) + i * g;
    store(cNew + j, value);
    store(hNew + j, o * activation(candidate, value));
}

/// With 16-unit groups, each group's gates, cell and state in one pass over the row.
/// Otherwise `lstmForward`, a block of rows at a time with act(c) in `scratch`.
INLINE void lstmInference(float *z, const float *bias, const float *previousCell, float *cell, float *hidden,
                          float *scratch, long rows, long units, LoomActivationKind gate,
                          LoomActivationKind candidate) {
    long U = units, G = 4 * units;
    if (U % 16 != 0) {
        long blockRows = 4096 / G > 1 ? 4096 / G : 1;
        if (blockRows > rows) blockRows = rows;
        for (long r0 = 0; r0 < rows; r0 += blockRows) {
            long count = rows - r0 < blockRows ? rows - r0 : blockRows;
            lstmForward(z + r0 * G, bias, previousCell + r0 * U, cell + r0 * U, hidden + r0 * U, scratch,
                        scratch + blockRows * U, count, U, gate, candidate);
        }
        return;
    }
    for (long r = 0; r < rows; r++) {
        const float *row = z + r * G, *cPrev = previousCell + r * U;
        float *cNew = cell + r * U, *hNew = hidden + r * U;
        for (long j = 0; j < U; j += 16) lstmInferenceGroup(row, bias, cPrev, cNew, hNew, U, j, gate, candidate);
    }
}

static void lstmCellInference(float *z, const float *bias, const float *previousCell, float *cell, float *hidden,
                              float *scratch, long rows, long units, LoomActivationKind gate,
                              LoomActivationKind candidate) {
    if (gate == LoomActivationSigmoid && candidate == LoomActivationTanh) {
        lstmInference(z, bias, previousCell, cell, hidden, scratch, rows, units, LoomActivationSigmoid,
                      LoomActivationTanh);
    } else {
        lstmInference(z, bias, previousCell, cell, hidden, scratch, rows, units, gate, candidate);
    }
}

/// One group of n (<= 16) units of one row:
///     dc = dc_next + dh o act'(c)      do = dh act(c)
///     di = dc g    df = dc c_{t-1}    dg = dc i    dc_{t-1} = dc f
///     dz = (di σ'(i), df σ'(f), dg act'(g), do σ'(o))
INLINE void lstmBackwardGroup(const float *row, float *dRow, const float *cPrev, const float *aRow, const float *dhRow,
                              float *dcRow, long U, long j, long n, LoomActivationKind gate,
                              LoomActivationKind candidate) {
    F16 i = loadUpTo(row + j, n);
    F16 f = loadUpTo(row + U + j, n);
    F16 g = loadUpTo(row + 2 * U + j, n);
    F16 o = loadUpTo(row + 3 * U + j, n);
    F16 a = loadUpTo(aRow + j, n);
    F16 dh = loadUpTo(dhRow + j, n);
    F16 dcNext = loadUpTo(dcRow + j, n);
    F16 previous = loadUpTo(cPrev + j, n);
    F16 dc = dh * o * derivative(candidate, a) + dcNext;
    F16 di = dc * g * derivative(gate, i);
    F16 df = dc * previous * derivative(gate, f);
    F16 dg = dc * i * derivative(candidate, g);
    F16 dout = dh * a * derivative(gate, o);
    F16 dcPrevious = dc * f;
    storeUpTo(dRow + j, di, n);
    storeUpTo(dRow + U + j, df, n);
    storeUpTo(dRow + 2 * U + j, dg, n);
    storeUpTo(dRow + 3 * U + j, dout, n);
    storeUpTo(dcRow + j, dcPrevious, n);
}

INLINE void lstmBackward(const float *z, const float *previousCell, const float *cellActivation, const float *dh,
                         float *dc, float *dz, long rows, long units, LoomActivationKind gate,
                         LoomActivationKind candidate) {
    long U = units, G = 4 * units;
    for (long r = 0; r < rows; r++) {
        const float *row = z + r * G;
        float *dRow = dz + r * G;
        long j = 0;
        for (; j + 16 <= U; j += 16) {
            lstmBackwardGroup(row, dRow, previousCell + r * U, cellActivation + r * U, dh + r * U, dc + r * U, U, j,
                              16, gate, candidate);
        }
        if (j < U) {
            lstmBackwardGroup(row, dRow, previousCell + r * U, cellActivation + r * U, dh + r * U, dc + r * U, U, j,
                              U - j, gate, candidate);
        }
    }
}

static void lstmCellBackward(const float *z, const float *previousCell, const float *cellActivation, const float *dh,
                             float *dc, float *dz, long rows, long units, LoomActivationKind gate,
                             LoomActivationKind candidate) {
    if (gate == LoomActivationSigmoid && candidate == LoomActivationTanh) {
        lstmBackward(z, previousCell, cellActivation, dh, dc, dz, rows, units, LoomActivationSigmoid,
                     LoomActivationTanh);
    } else {
        lstmBackward(z, previousCell, cellActivation, dh, dc, dz, rows, units, gate, candidate);
    }
}

// MARK: direct convolution

enum { mostConvolutionCells = 64, convolutionCellBlock = 16 };

/// How a direct convolution reads one output pixel's window: `values[indices[q]]` is cell q
/// (row, column, channel order). Inside the image, the window's corner in the image and the
/// cells' offsets from it; across its edge, the window gathered into `scratch` (0 outside)
/// and the cells' own positions.
typedef struct WindowReader {
    const float *values;
    const long *indices;
} WindowReader;

/// The reader of output pixel (oh, ow) of `image`: `offsets` are the cells' offsets from a
/// corner, `positions` 0, 1, 2, ... (both `mostConvolutionCells + convolutionCellBlock`
/// long, the tail naming cell 0 so a block may read past the last cell).
INLINE WindowReader windowReader(const float *image, const LoomWindowGeometry *g, long oh, long ow, const long *offsets,
                                 const long *positions, float *scratch) {
    long top = oh * g->strideHeight - g->padTop, left = ow * g->strideWidth - g->padLeft;
    if (top >= 0 && left >= 0 && top + g->windowHeight <= g->height && left + g->windowWidth <= g->width) {
        return (WindowReader){image + (top * g->width + left) * g->channels, offsets};
    }
    long q = 0;
    for (long i = 0; i < g->windowHeight; i++) {
        long row = top + i;
        for (long j = 0; j < g->windowWidth; j++) {
            long column = left + j;
            bool inside = row >= 0 && row < g->height && column >= 0 && column < g->width;
            for (long c = 0; c < g->channels; c++) {
                scratch[q++] = inside ? image[(row * g->width + column) * g->channels + c] : 0.0f;
            }
        }
    }
    return (WindowReader){scratch, positions};
}

/// The cells' offsets from a window's corner and their own positions (see `windowReader`).
INLINE void windowIndices(const LoomWindowGeometry *g, long *offsets, long *positions) {
    long q = 0;
    for (long i = 0; i < g->windowHeight; i++) {
        for (long j = 0; j < g->windowWidth; j++) {
            for (long c = 0; c < g->channels; c++, q++) {
                offsets[q] = (i * g->width + j) * g->channels + c;
                positions[q] = q;
            }
        }
    }
    for (; q < mostConvolutionCells + convolutionCellBlock; q++) offsets[q] = positions[q] = 0;
}

/// Lanes 8h ..< 8h + 8 of `v`.
INLINE F8 half8(F16 v, int h) {
    return h == 0 ? __builtin_shufflevector(v, v, 0, 1, 2, 3, 4, 5, 6, 7)
                  : __builtin_shufflevector(v, v, 8, 9, 10, 11, 12, 13, 14, 15);
}

/// Sums `s` (s[i] lane p: filter i of pixel p) stored as pixels of 8 filters, pixel p at
/// `y + p * filters`, for the first `n` pixels: a transpose in three rounds of two-vector
/// shuffles (pairs of filters, then fours, then eights side by side).
INLINE void storePixelsOfEightFilters(const F16 s[8], float *y, long filters, long n) {
    F16 pairs[8], fours[8];
    for (int i = 0; i < 8; i += 2) {
        pairs[i] = __builtin_shufflevector(s[i], s[i + 1], 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
        pairs[i + 1] = __builtin_shufflevector(s[i], s[i + 1], 8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30,
                                               15, 31);
    }
    // pairs[2j + h]: pixels 8h ..< 8h + 8, filters 2j and 2j + 1 of each.
    for (int h = 0; h < 2; h++) {
        for (int j = 0; j < 4; j += 2) {
            F16 a = pairs[2 * j + h], b = pairs[2 * j + 2 + h];
            fours[4 * h + j] = __builtin_shufflevector(a, b, 0, 1, 16, 17, 2, 3, 18, 19, 4, 5, 20, 21, 6, 7, 22, 23);
            fours[4 * h + j + 1] =
                __builtin_shufflevector(a, b, 8, 9, 24, 25, 10, 11, 26, 27, 12, 13, 28, 29, 14, 15, 30, 31);
        }
    }
    // fours[4h + 2g + k] (g = 0: filters 0-3, g = 1: filters 4-7): pixels 8h + 4k ..< 8h + 4k + 4.
    for (int h = 0; h < 2; h++) {
        for (int k = 0; k < 2; k++) {
            F16 low = fours[4 * h + k], high = fours[4 * h + 2 + k];
            F16 first = __builtin_shufflevector(low, high, 0, 1, 2, 3, 16, 17, 18, 19, 4, 5, 6, 7, 20, 21, 22, 23);
            F16 second =
                __builtin_shufflevector(low, high, 8, 9, 10, 11, 24, 25, 26, 27, 12, 13, 14, 15, 28, 29, 30, 31);
            long p = 8 * h + 4 * k;
            if (p < n) store8(y + p * filters, half8(first, 0));
            if (p + 1 < n) store8(y + (p + 1) * filters, half8(first, 1));
            if (p + 2 < n) store8(y + (p + 2) * filters, half8(second, 0));
            if (p + 3 < n) store8(y + (p + 3) * filters, half8(second, 1));
        }
    }
}

/// Pixels ow ..< ow + n (n <= 16) of output row `oh` of a one-channel image, stride 1
/// across, whose windows lie inside the image: each window row is one vector of the image's
/// row, the pixels in its lanes, times each filter's kernel value. The same sums in the same
/// order as `convolve`'s four-pixel path: from the bias (or 0) through the cells in order.
/// Lanes past n read on into the image's next values (never stored), or zeros at its end.
INLINE void convolveOneChannelRun(const float *image, const LoomWindowGeometry *g, const float *kernel,
                                  const float *bias, float *y, long oh, long ow, long n, long filters) {
    const float *corner = image + (oh * g->strideHeight - g->padTop) * g->width + ow - g->padLeft;
    const float *end = image + g->height * g->width;
    for (long f = 0; f < filters; f += 8) {
        F16 s[8];
        for (int i = 0; i < 8; i++) s[i] = splat(bias ? bias[f + i] : 0.0f);
        const float *k = kernel + f;
        for (long i = 0; i < g->windowHeight; i++) {
            for (long j = 0; j < g->windowWidth; j++, k += filters) {
                const float *values = corner + i * g->width + j;
                F16 v = values + 16 <= end ? load(values) : loadPartial(values, n);
                for (int t = 0; t < 8; t++) s[t] = v * splat(k[t]) + s[t];
            }
        }
        storePixelsOfEightFilters(s, y + ow * filters + f, filters, n);
    }
}

/// One output pixel's `filters` sums, 8 at a time, from the bias (or 0) through the cells in
/// order.
INLINE void convolvePixel(WindowReader r, const float *kernel, const float *bias, float *y, long cellCount,
                          long filters) {
    for (long f = 0; f < filters; f += 8) {
        F8 sum = bias ? load8(bias + f) : splat8(0.0f);
        for (long q = 0; q < cellCount; q++) {
            sum = splat8(r.values[r.indices[q]]) * load8(kernel + q * filters + f) + sum;
        }
        store8(y + f, sum);
    }
}

/// Output row `oh` of a one-channel image at stride 1 across, whose window rows lie inside
/// the image: columns firstInside ..< endInside (windows inside across) in runs of 16
/// (`convolveOneChannelRun`), the columns at the edges one pixel at a time.
INLINE void convolveRowInRuns(const float *image, const LoomWindowGeometry *g, const float *kernel, const float *bias,
                              float *row, long oh, long firstInside, long endInside, long filters, long cellCount,
                              const long *offsets, const long *positions, float *scratch) {
    for (long start = firstInside; start < endInside; start += 16) {
        long n = endInside - start < 16 ? endInside - start : 16;
        convolveOneChannelRun(image, g, kernel, bias, row, oh, start, n, filters);
    }
    for (long column = 0; column < g->outputWidth; column++) {
        if (column >= firstInside && column < endInside) continue;
        WindowReader r = windowReader(image, g, oh, column, offsets, positions, scratch);
        convolvePixel(r, kernel, bias, row + column * filters, cellCount, filters);
    }
}

/// Four pixels of an output row at a time (four independent sums a filter vector, as
/// `smallGemm` takes four rows), each 8 filters from the bias (or 0) through the cells in
/// order. One channel at stride 1 across: rows whose windows lie inside the image down in
/// runs of 16 pixels (`convolveRowInRuns`).
static void convolve(const float *x, const float *kernel, const float *bias, float *y, long batch,
                     const LoomWindowGeometry *g, long filters) {
    long cellCount = g->windowHeight * g->windowWidth * g->channels, imageSize = g->height * g->width * g->channels;
    long offsets[mostConvolutionCells + convolutionCellBlock], positions[mostConvolutionCells + convolutionCellBlock];
    float scratch[4][mostConvolutionCells];
    windowIndices(g, offsets, positions);
    // The output columns whose windows lie inside the image across, and whether runs apply.
    long firstInside = g->padLeft, endInside = g->width - g->windowWidth + g->padLeft + 1;
    if (endInside > g->outputWidth) endInside = g->outputWidth;
    bool runs = g->channels == 1 && g->strideWidth == 1 && endInside > firstInside;
    for (long b = 0; b < batch; b++) {
        const float *image = x + b * imageSize;
        for (long oh = 0; oh < g->outputHeight; oh++) {
            float *row = y + (b * g->outputHeight + oh) * g->outputWidth * filters;
            long top = oh * g->strideHeight - g->padTop;
            if (runs && top >= 0 && top + g->windowHeight <= g->height) {
                convolveRowInRuns(image, g, kernel, bias, row, oh, firstInside, endInside, filters, cellCount, offsets,
                                  positions, scratch[0]);
                continue;
            }
            long ow = 0;
            for (; ow + 4 <= g->outputWidth; ow += 4) {
                WindowReader r0 = windowReader(image, g, oh, ow, offsets, positions, scratch[0]);
                WindowReader r1 = windowReader(image, g, oh, ow + 1, offsets, positions, scratch[1]);
                WindowReader r2 = windowReader(image, g, oh, ow + 2, offsets, positions, scratch[2]);
                WindowReader r3 = windowReader(image, g, oh, ow + 3, offsets, positions, scratch[3]);
                for (long f = 0; f < filters; f += 8) {
                    F8 s0 = bias ? load8(bias + f) : splat8(0.0f), s1 = s0, s2 = s0, s3 = s0;
                    for (long q = 0; q < cellCount; q++) {
                        F8 k = load8(kernel + q * filters + f);
                        s0 = splat8(r0.values[r0.indices[q]]) * k + s0;
                        s1 = splat8(r1.values[r1.indices[q]]) * k + s1;
                        s2 = splat8(r2.values[r2.indices[q]]) * k + s2;
                        s3 = splat8(r3.values[r3.indices[q]]) * k + s3;
                    }
                    store8(row + ow * filters + f, s0);
                    store8(row + (ow + 1) * filters + f, s1);
                    store8(row + (ow + 2) * filters + f, s2);
                    store8(row + (ow + 3) * filters + f, s3);
                }
            }
            for (; ow < g->outputWidth; ow++) {
                WindowReader r = windowReader(image, g, oh, ow, offsets, positions, scratch[0]);
                convolvePixel(r, kernel, bias, row + ow * filters, cellCount, filters);
            }
        }
    }
}

/// Sum `t` of a block of cells starting at `first` (rows `filters` apart): the gradient's
/// value, or 0 past the block's `count` cells.
INLINE F8 loadSum(const float *first, long t, long count, long filters) {
    return t < count ? load8(first + t * filters) : splat8(0.0f);
}

/// Stores sum `t` of a block unless it lies past the block's `count` cells.
INLINE void storeSum(float *first, long t, long count, long filters, F8 sum) {
    if (t < count) store8(first + t * filters, sum);
}

/// For 8 filters and a block of `convolutionCellBlock` cells at a time (sixteen independent
/// sums; a last block's cells past the window read cell 0 into sums never stored), each sum
/// starts from the gradient there and adds the pixels' products in pixel order, as
/// `smallGemm` adds over its depth (the pixels) for each row of its C (a cell).
static void convolutionKernelGradient(const float *x, const float *dz, float *kernelGradient, long batch,
                                      const LoomWindowGeometry *g, long filters) {
    long cellCount = g->windowHeight * g->windowWidth * g->channels, imageSize = g->height * g->width * g->channels;
    long offsets[mostConvolutionCells + convolutionCellBlock], positions[mostConvolutionCells + convolutionCellBlock];
    float scratch[mostConvolutionCells + convolutionCellBlock] = {0};
    windowIndices(g, offsets, positions);
    for (long f = 0; f < filters; f += 8) {
        for (long q0 = 0; q0 < cellCount; q0 += convolutionCellBlock) {
            float *first = kernelGradient + q0 * filters + f;
            long count = cellCount - q0;
            F8 s0 = loadSum(first, 0, count, filters), s1 = loadSum(first, 1, count, filters);
            F8 s2 = loadSum(first, 2, count, filters), s3 = loadSum(first, 3, count, filters);
            F8 s4 = loadSum(first, 4, count, filters), s5 = loadSum(first, 5, count, filters);
            F8 s6 = loadSum(first, 6, count, filters), s7 = loadSum(first, 7, count, filters);
            F8 s8 = loadSum(first, 8, count, filters), s9 = loadSum(first, 9, count, filters);
            F8 s10 = loadSum(first, 10, count, filters), s11 = loadSum(first, 11, count, filters);
            F8 s12 = loadSum(first, 12, count, filters), s13 = loadSum(first, 13, count, filters);
            F8 s14 = loadSum(first, 14, count, filters), s15 = loadSum(first, 15, count, filters);
            long pixel = 0;
            for (long b = 0; b < batch; b++) {
                const float *image = x + b * imageSize;
                for (long oh = 0; oh < g->outputHeight; oh++) {
                    for (long ow = 0; ow < g->outputWidth; ow++, pixel++) {
                        WindowReader r = windowReader(image, g, oh, ow, offsets, positions, scratch);
                        const long *index = r.indices + q0;
                        F8 d = load8(dz + pixel * filters + f);
                        s0 = splat8(r.values[index[0]]) * d + s0;
                        s1 = splat8(r.values[index[1]]) * d + s1;
                        s2 = splat8(r.values[index[2]]) * d + s2;
                        s3 = splat8(r.values[index[3]]) * d + s3;
                        s4 = splat8(r.values[index[4]]) * d + s4;
                        s5 = splat8(r.values[index[5]]) * d + s5;
                        s6 = splat8(r.values[index[6]]) * d + s6;
                        s7 = splat8(r.values[index[7]]) * d + s7;
                        s8 = splat8(r.values[index[8]]) * d + s8;
                        s9 = splat8(r.values[index[9]]) * d + s9;
                        s10 = splat8(r.values[index[10]]) * d + s10;
                        s11 = splat8(r.values[index[11]]) * d + s11;
                        s12 = splat8(r.values[index[12]]) * d + s12;
                        s13 = splat8(r.values[index[13]]) * d + s13;
                        s14 = splat8(r.values[index[14]]) * d + s14;
                        s15 = splat8(r.values[index[15]]) * d + s15;
                    }
                }
            }
            storeSum(first, 0, count, filters, s0);
            storeSum(first, 1, count, filters, s1);
            storeSum(first, 2, count, filters, s2);
            storeSum(first, 3, count, filters, s3);
            storeSum(first, 4, count, filters, s4);
            storeSum(first, 5, count, filters, s5);
            storeSum(first, 6, count, filters, s6);
            storeSum(first, 7, count, filters, s7);
            storeSum(first, 8, count, filters, s8);
            storeSum(first, 9, count, filters, s9);
            storeSum(first, 10, count, filters, s10);
            storeSum(first, 11, count, filters, s11);
            storeSum(first, 12, count, filters, s12);
            storeSum(first, 13, count, filters, s13);
            storeSum(first, 14, count, filters, s14);
            storeSum(first, 15, count, filters, s15);
        }
    }
}

// MARK: pooling

typedef int32_t I8 __attribute__((vector_size(32)));

/// 8 channels at a time, kept in registers over the window: the first cell starts the
/// maximum, a later one replaces it only when greater (so ties keep the first).
static void maxPoolPixel(const float *x, const long *cells, long cellCount, long channels, float *y, long *winners) {
    long c0 = 0;
    if (cellCount > 0 && cells[cellCount - 1] + channels < INT32_MAX) {
        const I8 lanes = {0, 1, 2, 3, 4, 5, 6, 7};
        for (; c0 + 8 <= channels; c0 += 8) {
            F8 best = load8(x + cells[0] + c0);
            int32_t start = (int32_t)(cells[0] + c0);
            I8 index = (I8){start, start, start, start, start, start, start, start} + lanes;
            for (long q = 1; q < cellCount; q++) {
                F8 value = load8(x + cells[q] + c0);
                I8 better = value > best;
                int32_t offset = (int32_t)(cells[q] + c0);
                I8 candidate = (I8){offset, offset, offset, offset, offset, offset, offset, offset} + lanes;
                best = (F8)((better & (I8)value) | (~better & (I8)best));
                index = (better & candidate) | (~better & index);
            }
            store8(y + c0, best);
            if (winners) {
                for (int lane = 0; lane < 8; lane++) winners[c0 + lane] = index[lane];
            }
        }
    }
    for (long c = c0; c < channels; c++) {
        float best = x[cells[0] + c];
        long index = cells[0] + c;
        for (long q = 1; q < cellCount; q++) {
            if (x[cells[q] + c] > best) {
                best = x[cells[q] + c];
                index = cells[q] + c;
            }
        }
        y[c] = best;
        if (winners) winners[c] = index;
    }
}

// MARK: optimizers (each lane does the scalar formula)

static void sgd(float *w, const float *g, float *velocity, long count, float lr, float mu, bool nesterov) {
    long k = 0;
    if (!velocity) {
        for (; k + 16 <= count; k += 16) store(w + k, load(w + k) - load(g + k) * lr);
        for (; k < count; k++) w[k] = w[k] - g[k] * lr;
        return;
    }
    for (; k + 16 <= count; k += 16) {
        F16 gk = load(g + k);
        F16 v = load(velocity + k) * mu - gk * lr;
        store(velocity + k, v);
        store(w + k, load(w + k) + (nesterov ? v * mu - gk * lr : v));
    }
    for (; k < count; k++) {
        float v = velocity[k] * mu - g[k] * lr;
        velocity[k] = v;
        w[k] = w[k] + (nesterov ? v * mu - g[k] * lr : v);
    }
}

static void adam(float *w, const float *g, float *m, float *v, long count, float alpha, float oneMinusBeta1,
                 float oneMinusBeta2, float epsilon) {
    long k = 0;
    for (; k < count; k += 16) {
        long n = count - k < 16 ? count - k : 16;
        F16 gk = loadUpTo(g + k, n);
        F16 mk = loadUpTo(m + k, n);
        F16 vk = loadUpTo(v + k, n);
        F16 wk = loadUpTo(w + k, n);
        mk = (gk - mk) * oneMinusBeta1 + mk;
        vk = (gk * gk - vk) * oneMinusBeta2 + vk;
        wk = wk - mk * alpha / (__builtin_elementwise_sqrt(vk) + epsilon);
        storeUpTo(m + k, mk, n);
        storeUpTo(v + k, vk, n);
        storeUpTo(w + k, wk, n);
    }
}

static void rmsprop(float *w, const float *g, float *meanSquares, float *momenta, long count, float lr, float rho,
                    float mu, float epsilon) {
    long k = 0;
    for (; k < count; k += 16) {
        long n = count - k < 16 ? count - k : 16;
        F16 gk = loadUpTo(g + k, n);
        F16 s = loadUpTo(meanSquares + k, n);
        F16 wk = loadUpTo(w + k, n);
        s = s * rho + (1.0f - rho) * gk * gk;
        F16 step = lr * gk / __builtin_elementwise_sqrt(s + epsilon);
        if (momenta) {
            F16 u = loadUpTo(momenta + k, n);
            u = u * mu + step;
            wk = wk - u;
            storeUpTo(momenta + k, u, n);
        } else {
            wk = wk - step;
        }
        storeUpTo(meanSquares + k, s, n);
        storeUpTo(w + k, wk, n);
    }
}

static void adagrad(float *w, const float *g, float *accumulators, long count, float lr, float epsilon) {
    for (long k = 0; k < count; k += 16) {
        long n = count - k < 16 ? count - k : 16;
        F16 gk = loadUpTo(g + k, n);
        F16 a = loadUpTo(accumulators + k, n) + gk * gk;
        F16 wk = loadUpTo(w + k, n) - lr * gk / __builtin_elementwise_sqrt(a + epsilon);
        storeUpTo(accumulators + k, a, n);
        storeUpTo(w + k, wk, n);
    }
}

static void adamax(float *w, const float *g, float *m, float *u, long count, float lr, float oneMinusBeta1,
                   float beta2, float epsilon, float firstCorrection) {
    for (long k = 0; k < count; k += 16) {
        long n = count - k < 16 ? count - k : 16;
        F16 gk = loadUpTo(g + k, n);
        F16 mk = loadUpTo(m + k, n);
        F16 decayed = loadUpTo(u + k, n) * beta2;
        F16 magnitude = select(gk < splat(0), -gk, gk);
        F16 uk = select(magnitude > decayed, magnitude, decayed);
        mk = (gk - mk) * oneMinusBeta1 + mk;
        F16 wk = loadUpTo(w + k, n) - lr * mk / (firstCorrection * (uk + epsilon));
        storeUpTo(m + k, mk, n);
        storeUpTo(u + k, uk, n);
        storeUpTo(w + k, wk, n);
    }
}

static void nadam(float *w, const float *g, float *m, float *v, long count, float lr, float oneMinusBeta1,
                  float oneMinusBeta2, float momentumWeight, float gradientWeight, float secondCorrection,
                  float epsilon) {
    for (long k = 0; k < count; k += 16) {
        long n = count - k < 16 ? count - k : 16;
        F16 gk = loadUpTo(g + k, n);
        F16 mk = loadUpTo(m + k, n);
        F16 vk = loadUpTo(v + k, n);
        mk = (gk - mk) * oneMinusBeta1 + mk;
        vk = (gk * gk - vk) * oneMinusBeta2 + vk;
        F16 mHat = momentumWeight * mk + gradientWeight * gk;
        F16 wk = loadUpTo(w + k, n) - mHat * lr / (__builtin_elementwise_sqrt(vk / secondCorrection) + epsilon);
        storeUpTo(m + k, mk, n);
        storeUpTo(v + k, vk, n);
        storeUpTo(w + k, wk, n);
    }
}

static void lion(float *w, const float *g, float *m, long count, float lr, float beta1, float beta2) {
    for (long k = 0; k < count; k += 16) {
        long n = count - k < 16 ? count - k : 16;
        F16 gk = loadUpTo(g + k, n);
        F16 mk = loadUpTo(m + k, n);
        F16 c = mk * beta1 + gk * (1.0f - beta1);
        F16 sign = select(c > splat(0), splat(1), select(c < splat(0), splat(-1), c));
        F16 wk = loadUpTo(w + k, n) - lr * sign;
        mk = mk * beta2 + gk * (1.0f - beta2);
        storeUpTo(m + k, mk, n);
        storeUpTo(w + k, wk, n);
    }
}

static void lambDirections(const float *g, float *m, float *v, float *directions, long count, float oneMinusBeta1,
                           float oneMinusBeta2, float firstCorrection, float secondCorrection, float epsilon) {
    for (long k = 0; k < count; k += 16) {
        long n = count - k < 16 ? count - k : 16;
        F16 gk = loadUpTo(g + k, n);
        F16 mk = loadUpTo(m + k, n);
        F16 vk = loadUpTo(v + k, n);
        mk = (gk - mk) * oneMinusBeta1 + mk;
        vk = (gk * gk - vk) * oneMinusBeta2 + vk;
        F16 d = (mk / firstCorrection) / (__builtin_elementwise_sqrt(vk / secondCorrection) + epsilon);
        storeUpTo(m + k, mk, n);
        storeUpTo(v + k, vk, n);
        storeUpTo(directions + k, d, n);
    }
}

static void lars(float *w, const float *g, float *velocity, long count, float scaledRate, float decay,
                 float momentum) {
    for (long k = 0; k < count; k += 16) {
        long n = count - k < 16 ? count - k : 16;
        F16 wk = loadUpTo(w + k, n);
        F16 step = (loadUpTo(g + k, n) + decay * wk) * scaledRate;
        F16 vk = loadUpTo(velocity + k, n) * momentum + step;
        storeUpTo(velocity + k, vk, n);
        storeUpTo(w + k, wk - vk, n);
    }
}

// MARK: gradient clipping, weight decay and layer-wise steps

static double sumOfSquares(const float *x, long count) {
    F16 total = splat(0);
    for (long k = 0; k < count; k += 16) {
        long n = count - k < 16 ? count - k : 16;
        F16 xk = loadUpTo(x + k, n);
        total = xk * xk + total;
    }
    float lanes[16];
    store(lanes, total);
    double sum = 0;
    for (int lane = 0; lane < 16; lane++) sum += lanes[lane];
    return sum;
}

static void scaleValues(float *x, long count, float factor) {
    for (long k = 0; k < count; k += 16) {
        long n = count - k < 16 ? count - k : 16;
        storeUpTo(x + k, loadUpTo(x + k, n) * factor, n);
    }
}

static void clipValues(float *x, long count, float limit) {
    for (long k = 0; k < count; k += 16) {
        long n = count - k < 16 ? count - k : 16;
        storeUpTo(x + k, clamp(loadUpTo(x + k, n), -limit, limit), n);
    }
}

static void decayWeights(float *w, long count, float decay, float lr) {
    for (long k = 0; k < count; k += 16) {
        long n = count - k < 16 ? count - k : 16;
        F16 wk = loadUpTo(w + k, n);
        storeUpTo(w + k, wk - wk * decay * lr, n);
    }
}

static void subtractScaled(float *w, const float *d, long count, float factor) {
    for (long k = 0; k < count; k += 16) {
        long n = count - k < 16 ? count - k : 16;
        storeUpTo(w + k, loadUpTo(w + k, n) - factor * loadUpTo(d + k, n), n);
    }
}

/// 12 chains of `Vector` (of `LANES` floats) for `iterations` rounds (see `fmaPeakLoop`).
#define FMA_CHAINS(Vector, LANES, splatVector)                                                       \
    do {                                                                                              \
        Vector m = splatVector(0.999999f), a = splatVector(1e-6f);                                  \
        Vector x0 = splatVector(0.0f), x1 = splatVector(0.1f), x2 = splatVector(0.2f);              \
        Vector x3 = splatVector(0.3f), x4 = splatVector(0.4f), x5 = splatVector(0.5f);              \
        Vector x6 = splatVector(0.6f), x7 = splatVector(0.7f), x8 = splatVector(0.8f);              \
        Vector x9 = splatVector(0.9f), x10 = splatVector(1.0f), x11 = splatVector(1.1f);            \
        for (long i = 0; i < iterations; i++) {                                                       \
            x0 = x0 * m + a, x1 = x1 * m + a, x2 = x2 * m + a, x3 = x3 * m + a;                       \
            x4 = x4 * m + a, x5 = x5 * m + a, x6 = x6 * m + a, x7 = x7 * m + a;                       \
            x8 = x8 * m + a, x9 = x9 * m + a, x10 = x10 * m + a, x11 = x11 * m + a;                   \
        }                                                                                             \
        Vector sum = ((x0 + x1) + (x2 + x3)) + ((x4 + x5) + (x6 + x7)) + ((x8 + x9) + (x10 + x11));  \
        for (int k = 0; k < LANES; k++) total += sum[k];                                              \
        *flops = 2.0 * 12 * LANES * (double)iterations;                                               \
    } while (0)

static float fmaPeakLoop(long iterations, double *flops) {
    float total = 0;
    if (LOOM_LEVEL == LoomKernelLevelAVX512) FMA_CHAINS(F16, 16, splat);
    else FMA_CHAINS(F8, 8, splat8);
    return total;
}

const LoomKernelTable LOOM_LEVEL_TABLE = {
    .level = LOOM_LEVEL,
    .activate = activate,
    .activationBackward = activationBackward,
    .wideGemm = wideGemm,
    .smallGemm = smallGemm,
    .addColumnSums = addColumnSums,
    .lstmCellForward = lstmCellForward,
    .lstmCellInference = lstmCellInference,
    .lstmCellBackward = lstmCellBackward,
    .maxPoolPixel = maxPoolPixel,
    .convolve = convolve,
    .convolutionKernelGradient = convolutionKernelGradient,
    .sgd = sgd,
    .adam = adam,
    .rmsprop = rmsprop,
    .adagrad = adagrad,
    .adamax = adamax,
    .nadam = nadam,
    .lion = lion,
    .lambDirections = lambDirections,
    .lars = lars,
    .sumOfSquares = sumOfSquares,
    .scaleValues = scaleValues,
    .clipValues = clipValues,
    .decayWeights = decayWeights,
    .subtractScaled = subtractScaled,
    .fmaPeakLoop = fmaPeakLoop,
};
