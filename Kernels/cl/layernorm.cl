// Layer norm over the last dimension (biased variance), forward and backward.
// Row kernels run one work-group of WG work-items per row.

// x, out [rows, d]; gamma, beta [d]; mean, rstd [rows]. Launched as rows × WG.
KERNEL void layernorm_forward(GLOBAL const float* x, GLOBAL const float* gamma, GLOBAL const float* beta,
                              GLOBAL float* out, GLOBAL float* mean, GLOBAL float* rstd,
                              const int d, const float eps) {
    SHARED float scratch[WG];
    const int row = GROUP_ID(0), l = LOCAL_ID(0);
    GLOBAL const float* xr = x + row * d;
    float s = 0.0f;
    for (int j = l; j < d; j += WG) s += xr[j];
    const float mu = group_sum_float(s, scratch) / (float)d;
    float v = 0.0f;
    for (int j = l; j < d; j += WG) { const float c = xr[j] - mu; v += c * c; }
    const float rs = 1.0f / sqrt(group_sum_float(v, scratch) / (float)d + eps);
    for (int j = l; j < d; j += WG) out[row * d + j] = (xr[j] - mu) * rs * gamma[j] + beta[j];
    if (l == 0) { mean[row] = mu; rstd[row] = rs; }
}

// dx [rows, d] += ∂L/∂x given dout [rows, d] and the forward's mean, rstd [rows]. Launched as rows × WG.
KERNEL void layernorm_backward_dx(GLOBAL const float* dout, GLOBAL const float* x, GLOBAL const float* gamma,
                                  GLOBAL const float* mean, GLOBAL const float* rstd, GLOBAL float* dx,
                                  const int d) {
    SHARED float scratch[WG];
    const int row = GROUP_ID(0), l = LOCAL_ID(0);
    const float mu = mean[row], rs = rstd[row];
    GLOBAL const float* g = dout + row * d;
    GLOBAL const float* xr = x + row * d;
    float sdy = 0.0f, sdyx = 0.0f;
    for (int j = l; j < d; j += WG) {
        const float dy = g[j] * gamma[j];
        sdy += dy;
        sdyx += dy * (xr[j] - mu) * rs;
    }
    const float inv_d = 1.0f / (float)d;
    const float sum_dy = group_sum_float(sdy, scratch) * inv_d;
    const float sum_dyx = group_sum_float(sdyx, scratch) * inv_d;
    for (int j = l; j < d; j += WG) {
        const float xhat = (xr[j] - mu) * rs;
        dx[row * d + j] += rs * (g[j] * gamma[j] - sum_dy - xhat * sum_dyx);
    }
}

// dgamma, dbeta stage 1. partial [chunks, 2, d] = (Σ dy·xhat, Σ dy) per column over fixed chunks of
// chunk_rows rows, in row order. One work-item per (chunk, column).
KERNEL void layernorm_backward_params_partial(GLOBAL const float* dout, GLOBAL const float* x,
                                              GLOBAL const float* mean, GLOBAL const float* rstd,
                                              GLOBAL float* partial, const int rows, const int d,
                                              const int chunk_rows, const int chunks) {
    const int i = GLOBAL_ID(0);
    if (i >= chunks * d) return;
    const int c = i % d, chunk = i / d;
    const int r1 = min(rows, (chunk + 1) * chunk_rows);
    float sg = 0.0f, sb = 0.0f;
    for (int r = chunk * chunk_rows; r < r1; r++) {
        const float dy = dout[r * d + c];
        sg += dy * (x[r * d + c] - mean[r]) * rstd[r];
        sb += dy;
    }
    partial[(chunk * 2) * d + c] = sg;
    partial[(chunk * 2 + 1) * d + c] = sb;
}

// Stage 2. dgamma, dbeta [d] += Σ over chunks in order.
KERNEL void layernorm_backward_params_final(GLOBAL const float* partial, GLOBAL float* dgamma,
                                            GLOBAL float* dbeta, const int d, const int chunks) {
    const int c = GLOBAL_ID(0);
    if (c >= d) return;
    float sg = 0.0f, sb = 0.0f;
    for (int k = 0; k < chunks; k++) {
        sg += partial[(k * 2) * d + c];
        sb += partial[(k * 2 + 1) * d + c];
    }
    dgamma[c] += sg;
    dbeta[c] += sb;
}
