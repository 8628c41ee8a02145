// Prepended to every op family's source before the build (OpenCLContext.program), after the prelude.
// WG (the work-group size of reductions and of row kernels) comes from the host as -D WG=...

#ifdef HAS_FP64
// Long sums (norms, the loss) accumulate in float64 where the device has it, as CPUDevice does.
typedef double acc_t;
#else
typedef float acc_t;
#endif

// DropoutMask.hash (SplitMix64's finaliser): must match Sources/Compute/DropoutMask.swift bit for bit.
FUNC ulong dropout_hash(ulong seed, ulong index) {
    ulong z = seed + (index + 1UL) * 0x9E3779B97F4A7C15UL;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
    return z ^ (z >> 31);
}

// Kept iff the hash's top 24 bits are at or above the threshold (DropoutMask.keep).
FUNC int dropout_keep(ulong seed, ulong index, uint threshold) {
    return (uint)(dropout_hash(seed, index) >> 40) >= threshold;
}

// Tree sums over one work-group of WG (a power of two) work-items, one per value type. Every
// work-item must call them (they hold barriers); the fixed tree makes the result the same bits on
// every run. The last barrier lets the caller reuse the scratch right after.
#define GROUP_SUM(NAME, T)                                   \
    FUNC T NAME(T v, LOCAL T* scratch) {                     \
        const int l = LOCAL_ID(0);                           \
        scratch[l] = v;                                      \
        BARRIER_LOCAL();                                     \
        for (int w = WG / 2; w > 0; w >>= 1) {               \
            if (l < w) scratch[l] += scratch[l + w];         \
            BARRIER_LOCAL();                                 \
        }                                                    \
        const T r = scratch[0];                              \
        BARRIER_LOCAL();                                     \
        return r;                                            \
    }
GROUP_SUM(group_sum_float, float)
GROUP_SUM(group_sum_acc, acc_t)
