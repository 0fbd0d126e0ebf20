// The kernels for any CPU: x86-64's baseline (SSE2) or the portable code of other targets.
#define LOOM_LEVEL_TABLE loom_kernels_baseline
#define LOOM_LEVEL LoomKernelLevelBaseline
#include "KernelBodies.h"
