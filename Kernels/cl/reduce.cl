// Norm reductions. Two stages with a fixed grid, so sums combine in the same order every run.

// Stage 1. partial [groups] (acc_t) = Σ x² over a grid-stride range of x [n]; launched as groups × WG.
__kernel void sum_squares_partial(__global const float* x, const int n, __global acc_t* partial) {
    __local acc_t scratch[WG];
    acc_t s = 0;
    for (int i = get_global_id(0); i < n; i += get_global_size(0)) {
        const acc_t v = x[i];
        s += v * v;
    }
    s = group_sum_acc(s, scratch);
    if (get_local_id(0) == 0) partial[get_group_id(0)] = s;
}

// Stage 2, one work-group. out [1] = Σ partial [groups], or += when accumulate ≠ 0.
__kernel void sum_squares_final(__global const acc_t* partial, const int groups, __global float* out,
                                const int accumulate) {
    __local acc_t scratch[WG];
    acc_t s = 0;
    for (int i = get_local_id(0); i < groups; i += WG) s += partial[i];
    s = group_sum_acc(s, scratch);
    if (get_local_id(0) == 0) out[0] = accumulate ? out[0] + (float)s : (float)s;
}
