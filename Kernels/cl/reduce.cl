// Norm reductions. Two stages with a fixed grid, so sums combine in the same order every run.

// Stage 1. partial [groups] (acc_t) = Σ x² over a grid-stride range of x [n]; launched as groups × WG.
KERNEL void sum_squares_partial(GLOBAL const float* x, const int n, GLOBAL acc_t* partial) {
    SHARED acc_t scratch[WG];
    acc_t s = 0;
    for (int i = GLOBAL_ID(0); i < n; i += GLOBAL_SIZE(0)) {
        const acc_t v = x[i];
        s += v * v;
    }
    s = group_sum_acc(s, scratch);
    if (LOCAL_ID(0) == 0) partial[GROUP_ID(0)] = s;
}

// Stage 2, one work-group. out [1] = Σ partial [groups], or += when accumulate ≠ 0.
KERNEL void sum_squares_final(GLOBAL const acc_t* partial, const int groups, GLOBAL float* out,
                              const int accumulate) {
    SHARED acc_t scratch[WG];
    acc_t s = 0;
    for (int i = LOCAL_ID(0); i < groups; i += WG) s += partial[i];
    s = group_sum_acc(s, scratch);
    if (LOCAL_ID(0) == 0) out[0] = accumulate ? out[0] + (float)s : (float)s;
}
