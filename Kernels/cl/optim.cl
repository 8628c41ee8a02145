// Optimizer updates. All state stays on the device; LAMB's trust ratio is computed here too.
// param, grad, m, v [n] (a [rows, width] table for LAMB with sparse rows).

// AdamW (decoupled decay, bias-corrected): step_size = lr / (1 − β1^t), decay = 1 − lr·wd,
// bc2_sqrt = √(1 − β2^t), all from the host.
KERNEL void adamw_step(GLOBAL float* param, GLOBAL const float* grad, GLOBAL float* m, GLOBAL float* v,
                       const int n, const float b1, const float b2, const float eps,
                       const float step_size, const float decay, const float bc2_sqrt) {
    const int j = GLOBAL_ID(0);
    if (j >= n) return;
    const float g = grad[j];
    const float mj = b1 * m[j] + (1.0f - b1) * g;
    const float vj = b2 * v[j] + (1.0f - b2) * g * g;
    m[j] = mj;
    v[j] = vj;
    param[j] = param[j] * decay - step_size * mj / (sqrt(vj) / bc2_sqrt + eps);
}

// LAMB, sparse rows only: touched [rows] = 1 iff the row's gradient has a non-zero element.
// `base` (every LAMB kernel): the first element of the rows the step covers (LAMBParams.rows).
KERNEL void lamb_rows_touched(GLOBAL const float* grad, GLOBAL int* touched, const int rows, const int width,
                              const int base) {
    grad += base;
    const int r = GLOBAL_ID(0);
    if (r >= rows) return;
    int any = 0;
    for (int j = 0; j < width && !any; j++) any = grad[r * width + j] != 0.0f;
    touched[r] = any;
}

// LAMB pass 1, groups × WG work-items (grid-stride): moments (reset to 0 on untouched rows), the
// direction s = m / (√v + eps) + wd·w written into grad, and partial [groups, 2] (acc_t) = (Σ w², Σ s²).
// touched is NULL (unused) when sparse = 0.
KERNEL void lamb_moments(GLOBAL const float* param, GLOBAL float* grad, GLOBAL float* m, GLOBAL float* v,
                         GLOBAL const int* touched, const int sparse, const int n, const int width,
                         const float b1, const float b2, const float eps, const float wd,
                         GLOBAL acc_t* partial, const int base) {
    SHARED acc_t scratch[WG];
    param += base;
    grad += base;
    m += base;
    v += base;
    acc_t ws = 0, ss = 0;
    for (int j = GLOBAL_ID(0); j < n; j += GLOBAL_SIZE(0)) {
        const int keep = !sparse || touched[j / width];
        const float g = grad[j], w = param[j];
        const float mj = keep ? b1 * m[j] + (1.0f - b1) * g : 0.0f;
        const float vj = keep ? b2 * v[j] + (1.0f - b2) * g * g : 0.0f;
        m[j] = mj;
        v[j] = vj;
        const float s = mj / (sqrt(vj) + eps) + wd * w;
        grad[j] = s;
        ws += (acc_t)w * (acc_t)w;
        ss += (acc_t)s * (acc_t)s;
    }
    ws = group_sum_acc(ws, scratch);
    ss = group_sum_acc(ss, scratch);
    if (LOCAL_ID(0) == 0) { partial[2 * GROUP_ID(0)] = ws; partial[2 * GROUP_ID(0) + 1] = ss; }
}

// LAMB pass 2, one work-group: step [1] = lr · r, r = min(‖w‖, max_norm) / ‖s‖, or 1 if either is 0.
KERNEL void lamb_ratio(GLOBAL const acc_t* partial, const int groups, const float lr, const float max_norm,
                       GLOBAL float* step) {
    SHARED acc_t scratch[WG];
    acc_t ws = 0, ss = 0;
    for (int g = LOCAL_ID(0); g < groups; g += WG) { ws += partial[2 * g]; ss += partial[2 * g + 1]; }
    ws = group_sum_acc(ws, scratch);
    ss = group_sum_acc(ss, scratch);
    if (LOCAL_ID(0) == 0) {
        const acc_t wn = min(sqrt(ws), (acc_t)max_norm), sn = sqrt(ss);
        const float ratio = (wn > 0 && sn > 0) ? (float)(wn / sn) : 1.0f;
        step[0] = lr * ratio;
    }
}

// LAMB pass 3: param -= step · s on touched rows (every row when sparse = 0).
KERNEL void lamb_update(GLOBAL float* param, GLOBAL const float* s, GLOBAL const int* touched,
                        const int sparse, const int n, const int width, GLOBAL const float* step,
                        const int base) {
    param += base;
    s += base;
    const int j = GLOBAL_ID(0);
    if (j >= n) return;
    if (sparse && !touched[j / width]) return;
    param[j] -= step[0] * s[j];
}
