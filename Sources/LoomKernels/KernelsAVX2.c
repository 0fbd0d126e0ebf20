// The kernels for AVX2 with FMA (x86-64 only).
#if defined(__x86_64__)
#define LOOM_LEVEL_TABLE loom_kernels_avx2
#define LOOM_MASKED_AVX2 1
#define LOOM_LEVEL LoomKernelLevelAVX2
#pragma clang attribute push(__attribute__((target("avx2,fma,bmi,bmi2,f16c"))), apply_to = function)
#include "KernelBodies.h"
#pragma clang attribute pop
#endif
