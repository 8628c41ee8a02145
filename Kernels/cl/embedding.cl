// Embedding lookup and its deterministic gradient.

// out [n, d] (+)= table [vocab, d] rows at idx [n]. An index outside the table reads zeros.
__kernel void gather_rows(__global const float* table, const int vocab, __global const int* idx,
                          __global float* out, const int n, const int d, const int accumulate) {
    const int i = get_global_id(0);
    if (i >= n * d) return;
    const int v = idx[i / d];
    const float t = (v >= 0 && v < vocab) ? table[v * d + i % d] : 0.0f;
    out[i] = accumulate ? out[i] + t : t;
}

// The scatter-add sorts (table row, batch row) keys, then sums each table row's segment in batch-row
// order: no atomics, and every table element gets its contributions in the order CPUDevice adds them.

// keys [p] = (idx << 32) | row for row < n; padding (p = next power of two) sorts last.
__kernel void scatter_keys(__global const int* idx, const int n, __global ulong* keys, const int p) {
    const int i = get_global_id(0);
    if (i >= p) return;
    keys[i] = i < n ? (((ulong)(uint)idx[i]) << 32) | (ulong)(uint)i : ~0UL;
}

// One compare-exchange step of a bitonic sort of keys [p] into ascending order (host loops k, j).
__kernel void bitonic_step(__global ulong* keys, const int j, const int k) {
    const int i = get_global_id(0);
    const int l = i ^ j;
    if (l <= i) return;
    const ulong a = keys[i], b = keys[l];
    const int ascending = (i & k) == 0;
    if ((a > b) == ascending) { keys[i] = b; keys[l] = a; }
}

// Bitonic stages with k ≤ 2·WG run inside one work-group in local memory (one launch, not ~45).
// keys [p], p a multiple of 2·WG; launched as (p / 2) work-items in groups of WG.
__kernel void bitonic_local(__global ulong* keys) {
    __local ulong s[2 * WG];
    const int l = get_local_id(0), base = get_group_id(0) * 2 * WG;
    s[l] = keys[base + l];
    s[l + WG] = keys[base + l + WG];
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int k = 2; k <= 2 * WG; k <<= 1) {
        for (int j = k >> 1; j > 0; j >>= 1) {
            // work-item l handles the pair (a, a + j) with a having bit j clear
            const int a = 2 * l - (l & (j - 1));
            const ulong x = s[a], y = s[a + j];
            const int ascending = ((base + a) & k) == 0;
            if ((x > y) == ascending) { s[a] = y; s[a + j] = x; }
            barrier(CLK_LOCAL_MEM_FENCE);
        }
    }
    keys[base + l] = s[l];
    keys[base + l + WG] = s[l + WG];
}

// The j ≤ WG steps of stage k > 2·WG, in local memory (same layout and launch as bitonic_local).
__kernel void bitonic_merge_local(__global ulong* keys, const int k) {
    __local ulong s[2 * WG];
    const int l = get_local_id(0), base = get_group_id(0) * 2 * WG;
    s[l] = keys[base + l];
    s[l + WG] = keys[base + l + WG];
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int j = WG; j > 0; j >>= 1) {
        const int a = 2 * l - (l & (j - 1));
        const ulong x = s[a], y = s[a + j];
        const int ascending = ((base + a) & k) == 0;
        if ((x > y) == ascending) { s[a] = y; s[a + j] = x; }
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    keys[base + l] = s[l];
    keys[base + l + WG] = s[l + WG];
}

// dtable [vocab, d] += dout [n, d] rows, one work-item per (sorted position, column); only the first
// position of each table row's segment works, summing the segment in ascending batch-row order.
__kernel void scatter_segments(__global const ulong* keys, const int n, __global const float* dout,
                               __global float* dtable, const int vocab, const int d) {
    const int i = get_global_id(0);
    if (i >= n * d) return;
    const int s = i / d, c = i % d;
    const int v = (int)(keys[s] >> 32);
    if (s > 0 && (int)(keys[s - 1] >> 32) == v) return;
    if (v < 0 || v >= vocab) return;
    float acc = dtable[v * d + c];
    for (int t = s; t < n && (int)(keys[t] >> 32) == v; t++) acc += dout[(int)(uint)keys[t] * d + c];
    dtable[v * d + c] = acc;
}
