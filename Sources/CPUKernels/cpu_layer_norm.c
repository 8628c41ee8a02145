// Layer norm (Sources/Compute/CPU/CPULayerNorm.swift), forward and backward side by side.
#include "cpu_vector_math.h"

// Σ of a row, eight lanes then the tail, in a fixed order.
static inline float row_sum(const float *v, ptrdiff_t d) {
    f8 acc = 0;
    ptrdiff_t j = 0;
    for (; j + 8 <= d; j += 8) acc += LOAD8(v + j);
    float s = 0;
    for (int k = 0; k < 8; k++) s += acc[k];
    for (; j < d; j++) s += v[j];
    return s;
}

POYO_CLONES
void poyo_layer_norm_forward(const float *x, const float *gamma, const float *beta, float *out, float *mean,
                             float *rstd, ptrdiff_t rows, ptrdiff_t d, float eps) {
    for (ptrdiff_t r = 0; r < rows; r++) {
        const float *xr = x + r * d;
        float *o = out + r * d;
        const float mu = row_sum(xr, d) / (float)d;
        f8 acc = 0;
        ptrdiff_t j = 0;
        for (; j + 8 <= d; j += 8) {
            f8 c = LOAD8(xr + j) - mu;
            acc += c * c;
        }
        float v = 0;
        for (int k = 0; k < 8; k++) v += acc[k];
        for (; j < d; j++) v += (xr[j] - mu) * (xr[j] - mu);
        const float rs = 1 / sqrtf(v / (float)d + eps);
        for (j = 0; j + 8 <= d; j += 8) STORE8(o + j, (LOAD8(xr + j) - mu) * rs * LOAD8(gamma + j) + LOAD8(beta + j));
        for (; j < d; j++) o[j] = (xr[j] - mu) * rs * gamma[j] + beta[j];
        mean[r] = mu;
        rstd[r] = rs;
    }
}

POYO_CLONES
void poyo_layer_norm_backward_input(const float *d_out, const float *x, const float *gamma, const float *mean,
                                    const float *rstd, float *d_x, ptrdiff_t rows, ptrdiff_t d) {
    const float inv_d = 1 / (float)d;
    for (ptrdiff_t r = 0; r < rows; r++) {
        const float *g = d_out + r * d;
        const float *xr = x + r * d;
        float *dx = d_x + r * d;
        const float mu = mean[r];
        const float rs = rstd[r];
        f8 s1 = 0;
        f8 s2 = 0;
        ptrdiff_t j = 0;
        for (; j + 8 <= d; j += 8) {
            f8 dy = LOAD8(g + j) * LOAD8(gamma + j);
            s1 += dy;
            s2 += dy * (LOAD8(xr + j) - mu) * rs;
        }
        float sum_dy = 0;
        float sum_dy_xhat = 0;
        for (int k = 0; k < 8; k++) {
            sum_dy += s1[k];
            sum_dy_xhat += s2[k];
        }
        for (; j < d; j++) {
            float dy = g[j] * gamma[j];
            sum_dy += dy;
            sum_dy_xhat += dy * (xr[j] - mu) * rs;
        }
        const float a = inv_d * sum_dy;
        const float b = inv_d * sum_dy_xhat;
        for (j = 0; j + 8 <= d; j += 8) {
            f8 xhat = (LOAD8(xr + j) - mu) * rs;
            STORE8(dx + j, LOAD8(dx + j) + rs * (LOAD8(g + j) * LOAD8(gamma + j) - a - xhat * b));
        }
        for (; j < d; j++) {
            float xhat = (xr[j] - mu) * rs;
            dx[j] += rs * (g[j] * gamma[j] - a - xhat * b);
        }
    }
}

POYO_CLONES
void poyo_layer_norm_backward_params(const float *d_out, const float *x, const float *mean, const float *rstd,
                                     float *d_gamma, float *d_beta, ptrdiff_t rows, ptrdiff_t d) {
    for (ptrdiff_t r = 0; r < rows; r++) {
        const float *g = d_out + r * d;
        const float *xr = x + r * d;
        const float mu = mean[r];
        const float rs = rstd[r];
        ptrdiff_t j = 0;
        for (; j + 8 <= d; j += 8) {
            f8 gv = LOAD8(g + j);
            STORE8(d_gamma + j, LOAD8(d_gamma + j) + gv * (LOAD8(xr + j) - mu) * rs);
            STORE8(d_beta + j, LOAD8(d_beta + j) + gv);
        }
        for (; j < d; j++) {
            d_gamma[j] += g[j] * (xr[j] - mu) * rs;
            d_beta[j] += g[j];
        }
    }
}
