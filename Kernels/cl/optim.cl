// Optimizer updates. All state stays on the device; LAMB's trust ratio is computed here too.
// param, grad, m, v [n] (a [rows, width] table for LAMB with sparse rows).

// AdamW (decoupled decay, bias-corrected): step_size = lr / (1 − β1^t), decay = 1 − lr·wd,
// bc2_sqrt = √(1 − β2^t), all from the host.
__kernel void adamw_step(__global float* param, __global const float* grad, __global float* m, __global float* v,
                         const int n, const float b1, const float b2, const float eps,
                         const float step_size, const float decay, const float bc2_sqrt) {
    const int j = get_global_id(0);
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
__kernel void lamb_rows_touched(__global const float* grad, __global int* touched, const int rows, const int width,
                                const int base) {
    grad += base;
    const int r = get_global_id(0);
    if (r >= rows) return;
    int any = 0;
    for (int j = 0; j < width && !any; j++) any = grad[r * width + j] != 0.0f;
    touched[r] = any;
}

// LAMB pass 1, groups × WG work-items (grid-stride): moments (reset to 0 on untouched rows), the
// direction s = m / (√v + eps) + wd·w written into grad, and partial [groups, 2] (acc_t) = (Σ w², Σ s²).
// touched is NULL (unused) when sparse = 0.
__kernel void lamb_moments(__global const float* param, __global float* grad, __global float* m, __global float* v,
                           __global const int* touched, const int sparse, const int n, const int width,
                           const float b1, const float b2, const float eps, const float wd,
                           __global acc_t* partial, const int base) {
    __local acc_t scratch[WG];
    param += base;
    grad += base;
    m += base;
    v += base;
    acc_t ws = 0, ss = 0;
    for (int j = get_global_id(0); j < n; j += get_global_size(0)) {
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
    if (get_local_id(0) == 0) { partial[2 * get_group_id(0)] = ws; partial[2 * get_group_id(0) + 1] = ss; }
}

// LAMB pass 2, one work-group: step [1] = lr · r, r = min(‖w‖, max_norm) / ‖s‖, or 1 if either is 0.
__kernel void lamb_ratio(__global const acc_t* partial, const int groups, const float lr, const float max_norm,
                         __global float* step) {
    __local acc_t scratch[WG];
    acc_t ws = 0, ss = 0;
    for (int g = get_local_id(0); g < groups; g += WG) { ws += partial[2 * g]; ss += partial[2 * g + 1]; }
    ws = group_sum_acc(ws, scratch);
    ss = group_sum_acc(ss, scratch);
    if (get_local_id(0) == 0) {
        const acc_t wn = min(sqrt(ws), (acc_t)max_norm), sn = sqrt(ss);
        const float ratio = (wn > 0 && sn > 0) ? (float)(wn / sn) : 1.0f;
        step[0] = lr * ratio;
    }
}

// LAMB pass 3: param -= step · s on touched rows (every row when sparse = 0).
__kernel void lamb_update(__global float* param, __global const float* s, __global const int* touched,
                          const int sparse, const int n, const int width, __global const float* step,
                          const int base) {
    param += base;
    s += base;
    const int j = get_global_id(0);
    if (j >= n) return;
    if (sparse && !touched[j / width]) return;
    param[j] -= step[0] * s[j];
}
