// Prepended to every op family's source before the build (OpenCLDevice.program).
// WG (the work-group size of reductions and of row kernels) comes from the host as -D WG=...

#ifdef cl_khr_fp64
#pragma OPENCL EXTENSION cl_khr_fp64 : enable
// Long sums (norms, the loss) accumulate in float64 where the device has it, as CPUDevice does.
typedef double acc_t;
#else
typedef float acc_t;
#endif

// DropoutMask.hash (SplitMix64's finaliser): must match Sources/Compute/DropoutMask.swift bit for bit.
ulong dropout_hash(ulong seed, ulong index) {
    ulong z = seed + (index + 1UL) * 0x9E3779B97F4A7C15UL;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
    return z ^ (z >> 31);
}

// Kept iff the hash's top 24 bits are at or above the threshold (DropoutMask.keep).
int dropout_keep(ulong seed, ulong index, uint threshold) {
    return (uint)(dropout_hash(seed, index) >> 40) >= threshold;
}

// Tree sums over one work-group of WG (a power of two) work-items. Every work-item must call them
// (they hold barriers); the fixed tree makes the result the same bits on every run.
float group_sum_float(float v, __local float* scratch) {
    const int l = get_local_id(0);
    scratch[l] = v;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int w = WG / 2; w > 0; w >>= 1) {
        if (l < w) scratch[l] += scratch[l + w];
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    const float r = scratch[0];
    barrier(CLK_LOCAL_MEM_FENCE);   // the scratch may be reused right after
    return r;
}

acc_t group_sum_acc(acc_t v, __local acc_t* scratch) {
    const int l = get_local_id(0);
    scratch[l] = v;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int w = WG / 2; w > 0; w >>= 1) {
        if (l < w) scratch[l] += scratch[l + w];
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    const acc_t r = scratch[0];
    barrier(CLK_LOCAL_MEM_FENCE);
    return r;
}
