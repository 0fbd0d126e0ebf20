// Chooses the kernel table once per process: the highest level the CPU and the operating
// system support (the OS must save the wider registers on a context switch), capped by the
// environment's LOOM_KERNEL_LEVEL.
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "LoomKernels.h"

extern const LoomKernelTable loom_kernels_baseline;
#if defined(__x86_64__)
#include <cpuid.h>
extern const LoomKernelTable loom_kernels_avx2;
extern const LoomKernelTable loom_kernels_avx512;

/// The register state the OS saves (XCR0), read with xgetbv.
static uint64_t savedRegisterState(void) {
    uint32_t low, high;
    __asm__("xgetbv" : "=a"(low), "=d"(high) : "c"(0));
    return ((uint64_t)high << 32) | low;
}

static LoomKernelLevel detectLevel(void) {
    unsigned eax, ebx, ecx, edx;
    if (!__get_cpuid(1, &eax, &ebx, &ecx, &edx)) return LoomKernelLevelBaseline;
    bool osxsave = ecx & (1u << 27), avx = ecx & (1u << 28), fma = ecx & (1u << 12);
    if (!(osxsave && avx && fma)) return LoomKernelLevelBaseline;
    uint64_t state = savedRegisterState();
    if ((state & 0x6) != 0x6) return LoomKernelLevelBaseline;  // SSE and AVX (YMM) state
    if (!__get_cpuid_count(7, 0, &eax, &ebx, &ecx, &edx)) return LoomKernelLevelBaseline;
    bool avx2 = ebx & (1u << 5), bmi1 = ebx & (1u << 3), bmi2 = ebx & (1u << 8);
    if (!(avx2 && bmi1 && bmi2)) return LoomKernelLevelBaseline;
    bool avx512 = (ebx & (1u << 16)) && (ebx & (1u << 17)) && (ebx & (1u << 30)) && (ebx & (1u << 31));
    // Opmask, upper halves of ZMM0-15 and ZMM16-31 state.
    if (avx512 && (state & 0xE0) == 0xE0) return LoomKernelLevelAVX512;
    return LoomKernelLevelAVX2;
}
#else
static LoomKernelLevel detectLevel(void) { return LoomKernelLevelBaseline; }
#endif

static const LoomKernelTable *tableOf(LoomKernelLevel level) {
    switch (level) {
#if defined(__x86_64__)
    case LoomKernelLevelAVX512: return &loom_kernels_avx512;
    case LoomKernelLevelAVX2: return &loom_kernels_avx2;
#endif
    default: return &loom_kernels_baseline;
    }
}

static LoomKernelLevel supported;
static const LoomKernelTable *selected;
static pthread_once_t once = PTHREAD_ONCE_INIT;

int loom_kernel_level_requested(LoomKernelLevel *level) {
    const char *value = getenv("LOOM_KERNEL_LEVEL");
    if (!value || !*value) return 0;
    if (strcmp(value, "baseline") == 0) *level = LoomKernelLevelBaseline;
    else if (strcmp(value, "avx2") == 0) *level = LoomKernelLevelAVX2;
    else if (strcmp(value, "avx512") == 0) *level = LoomKernelLevelAVX512;
    else return -1;
    return 1;
}

static void choose(void) {
    supported = detectLevel();
    LoomKernelLevel level = supported, requested;
    if (loom_kernel_level_requested(&requested) == 1 && requested < level) level = requested;
    selected = tableOf(level);
}

LoomKernelLevel loom_kernel_supported_level(void) {
    pthread_once(&once, choose);
    return supported;
}

const LoomKernelTable *loom_kernels_at(LoomKernelLevel level) {
    return level <= loom_kernel_supported_level() ? tableOf(level) : NULL;
}

const LoomKernelTable *loom_kernels(void) {
    pthread_once(&once, choose);
    return selected;
}
