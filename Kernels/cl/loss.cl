// Weighted MSE: loss = Σ_i w_i · mean_d (pred − target)² / Σ_i w_i (0 when Σw = 0). Rows with w = 0 are
// skipped (their targets may be NaN). Σw stays on the device: nothing is read back.
// pred, target, dpred [rows, d]; w [rows].

// Stage 1, groups × WG work-items over rows (grid-stride). partial [groups, 2] (acc_t) = (Σ w, Σ w·mean err²).
// with_error = 0 sums only w (the backward needs Σw alone).
KERNEL void mse_partial(GLOBAL const float* pred, GLOBAL const float* target, GLOBAL const float* w,
                        const int rows, const int d, const int with_error, GLOBAL acc_t* partial) {
    SHARED acc_t scratch[WG];
    acc_t sw = 0, sl = 0;
    for (int r = GLOBAL_ID(0); r < rows; r += GLOBAL_SIZE(0)) {
        const float wr = w[r];
        if (wr == 0.0f) continue;
        sw += wr;
        if (with_error) {
            acc_t e = 0;
            for (int j = 0; j < d; j++) {
                const acc_t diff = (acc_t)pred[r * d + j] - (acc_t)target[r * d + j];
                e += diff * diff;
            }
            sl += (acc_t)wr * e / (acc_t)d;
        }
    }
    sw = group_sum_acc(sw, scratch);
    sl = group_sum_acc(sl, scratch);
    if (LOCAL_ID(0) == 0) { partial[2 * GROUP_ID(0)] = sw; partial[2 * GROUP_ID(0) + 1] = sl; }
}

// Stage 2, one work-group: loss [1] = Σ sl / Σ sw, or 0 when Σ sw = 0.
KERNEL void mse_loss_final(GLOBAL const acc_t* partial, const int groups, GLOBAL float* loss) {
    SHARED acc_t scratch[WG];
    acc_t sw = 0, sl = 0;
    for (int g = LOCAL_ID(0); g < groups; g += WG) { sw += partial[2 * g]; sl += partial[2 * g + 1]; }
    sw = group_sum_acc(sw, scratch);
    sl = group_sum_acc(sl, scratch);
    if (LOCAL_ID(0) == 0) loss[0] = sw > 0 ? (float)(sl / sw) : 0.0f;
}

// Stage 2 of the backward, one work-group: coef [1] = 2 / (d · Σw), or 0 when Σw ≤ 0 (no gradient).
KERNEL void mse_grad_coef(GLOBAL const acc_t* partial, const int groups, const int d, GLOBAL float* coef) {
    SHARED acc_t scratch[WG];
    acc_t sw = 0;
    for (int g = LOCAL_ID(0); g < groups; g += WG) sw += partial[2 * g];
    sw = group_sum_acc(sw, scratch);
    if (LOCAL_ID(0) == 0) coef[0] = sw > 0 ? (float)((acc_t)2 / ((acc_t)d * sw)) : 0.0f;
}

// dpred [rows, d] += w · coef · (pred − target), one work-item per element; weight-0 rows untouched.
KERNEL void mse_backward(GLOBAL const float* pred, GLOBAL const float* target, GLOBAL const float* w,
                         GLOBAL const float* coef, GLOBAL float* dpred, const int rows, const int d) {
    const int i = GLOBAL_ID(0);
    if (i >= rows * d) return;
    const float c = coef[0], wr = w[i / d];
    if (c == 0.0f || wr == 0.0f) return;
    dpred[i] += (wr * c) * (pred[i] - target[i]);
}
