// The kernels for AVX-512 (F, DQ, BW, VL) with FMA (x86-64 only).
#if defined(__x86_64__)
#define LOOM_LEVEL_TABLE loom_kernels_avx512
#define LOOM_MASKED_AVX512 1
#define LOOM_LEVEL LoomKernelLevelAVX512
#pragma clang attribute push(__attribute__((target("avx512f,avx512dq,avx512bw,avx512vl,avx2,fma,bmi,bmi2,f16c"))), \
                             apply_to = function)
#include "KernelBodies.h"
#pragma clang attribute pop
#endif
