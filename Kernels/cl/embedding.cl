// Embedding lookup and its deterministic gradient.

// out [n, d] (+)= table [vocab, d] rows at idx [n]. An index outside the table reads zeros.
KERNEL void gather_rows(GLOBAL const float* table, const int vocab, GLOBAL const int* idx,
                        GLOBAL float* out, const int n, const int d, const int accumulate) {
    const int i = GLOBAL_ID(0);
    if (i >= n * d) return;
    const int v = idx[i / d];
    const float t = (v >= 0 && v < vocab) ? table[v * d + i % d] : 0.0f;
    out[i] = accumulate ? out[i] + t : t;
}

// The scatter-add sorts (table row, batch row) keys, then sums each table row's segment in batch-row
// order: no atomics, and every table element gets its contributions in the order CPUDevice adds them.

// keys [p] = (idx << 32) | row for row < n; padding (p = next power of two) sorts last.
KERNEL void scatter_keys(GLOBAL const int* idx, const int n, GLOBAL ulong* keys, const int p) {
    const int i = GLOBAL_ID(0);
    if (i >= p) return;
    keys[i] = i < n ? (((ulong)(uint)idx[i]) << 32) | (ulong)(uint)i : ~0UL;
}

// One compare-exchange step of a bitonic sort of keys [p] into ascending order (host loops k, j).
KERNEL void bitonic_step(GLOBAL ulong* keys, const int j, const int k) {
    const int i = GLOBAL_ID(0);
    const int l = i ^ j;
    if (l <= i) return;
    const ulong a = keys[i], b = keys[l];
    const int ascending = (i & k) == 0;
    if ((a > b) == ascending) { keys[i] = b; keys[l] = a; }
}

// Bitonic stages with k ≤ 2·WG run inside one work-group in local memory (one launch, not ~45).
// keys [p], p a multiple of 2·WG; launched as (p / 2) work-items in groups of WG.
// Steps j = j0, j0/2, ..., 1 of bitonic stage k on the group's 2·WG keys in local memory s; `base` is
// the group's first key in the whole array (the direction depends on the global position).
FUNC void bitonic_local_steps(LOCAL ulong* s, const int l, const int base, const int k, const int j0) {
    for (int j = j0; j > 0; j >>= 1) {
        // work-item l handles the pair (a, a + j) with a having bit j clear
        const int a = 2 * l - (l & (j - 1));
        const ulong x = s[a], y = s[a + j];
        const int ascending = ((base + a) & k) == 0;
        if ((x > y) == ascending) { s[a] = y; s[a + j] = x; }
        BARRIER_LOCAL();
    }
}

KERNEL void bitonic_local(GLOBAL ulong* keys) {
    SHARED ulong s[2 * WG];
    const int l = LOCAL_ID(0), base = GROUP_ID(0) * 2 * WG;
    s[l] = keys[base + l];
    s[l + WG] = keys[base + l + WG];
    BARRIER_LOCAL();
    for (int k = 2; k <= 2 * WG; k <<= 1) bitonic_local_steps(s, l, base, k, k >> 1);
    keys[base + l] = s[l];
    keys[base + l + WG] = s[l + WG];
}

// The j ≤ WG steps of stage k > 2·WG, in local memory (same layout and launch as bitonic_local).
KERNEL void bitonic_merge_local(GLOBAL ulong* keys, const int k) {
    SHARED ulong s[2 * WG];
    const int l = LOCAL_ID(0), base = GROUP_ID(0) * 2 * WG;
    s[l] = keys[base + l];
    s[l + WG] = keys[base + l + WG];
    BARRIER_LOCAL();
    bitonic_local_steps(s, l, base, k, WG);
    keys[base + l] = s[l];
    keys[base + l + WG] = s[l + WG];
}

// dtable [vocab, d] += dout [n, d] rows, one work-item per (sorted position, column); only the first
// position of each table row's segment works, summing the segment in ascending batch-row order.
KERNEL void scatter_segments(GLOBAL const ulong* keys, const int n, GLOBAL const float* dout,
                             GLOBAL float* dtable, const int vocab, const int d) {
    const int i = GLOBAL_ID(0);
    if (i >= n * d) return;
    const int s = i / d, c = i % d;
    const int v = (int)(keys[s] >> 32);
    if (s > 0 && (int)(keys[s - 1] >> 32) == v) return;
    if (v < 0 || v >= vocab) return;
    float acc = dtable[v * d + c];
    for (int t = s; t < n && (int)(keys[t] >> 32) == v; t++) acc += dout[(int)(uint)keys[t] * d + c];
    dtable[v * d + c] = acc;
}
