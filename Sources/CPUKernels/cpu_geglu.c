// GEGLU with the exact (erf) GELU (Sources/Compute/CPU/CPUGEGLU.swift), forward and backward.
#include "cpu_vector_math.h"

// Φ(g), the standard normal CDF, with small relative error on both tails: with z = |g|/√2,
// erfc(z) = t·exp(−z² + P(t)), t = 1/(1 + z/2), P a degree-9 Chebyshev-fitted polynomial
// (fractional error below 1.2e-7 for every z); Φ(g) = erfc(z)/2 for g < 0, 1 − erfc(z)/2 else.
static inline void normal_cdf8(f8 *out, const f8 *gp) {
    const f8 g = *gp;
    f8 z = __builtin_elementwise_abs(g) * 0.70710678118654752f;
    f8 t = 1.0f / (1.0f + 0.5f * z);
    f8 p = 0.17087277f;
    p = p * t - 0.82215223f;
    p = p * t + 1.48851587f;
    p = p * t - 1.13520398f;
    p = p * t + 0.27886807f;
    p = p * t - 0.18628806f;
    p = p * t + 0.09678418f;
    p = p * t + 0.37409196f;
    p = p * t + 1.00002368f;
    p = p * t - 1.26551223f;
    f8 e = p - z * z;
    exp8(&e);
    f8 half_erfc = 0.5f * t * e;
    i8 negative = g < 0;
    f8 positive_side = 1.0f - half_erfc;
    *out = (f8)(((i8)half_erfc & negative) | ((i8)positive_side & ~negative));
}

POYO_CLONES
void poyo_geglu_forward(const float *h, float *out, ptrdiff_t rows, ptrdiff_t width) {
    for (ptrdiff_t r = 0; r < rows; r++) {
        const float *a = h + r * 2 * width;
        const float *g = a + width;
        float *o = out + r * width;
        ptrdiff_t j = 0;
        for (; j + 8 <= width; j += 8) {
            f8 gv = LOAD8(g + j);
            f8 cdf;
            normal_cdf8(&cdf, &gv);
            STORE8(o + j, LOAD8(a + j) * gv * cdf);
        }
        for (; j < width; j++) {
            f8 cdf;
            f8 gj = g[j];
            normal_cdf8(&cdf, &gj);
            o[j] = a[j] * g[j] * cdf[0];
        }
    }
}

POYO_CLONES
void poyo_geglu_backward(const float *d_out, const float *h, float *d_h, ptrdiff_t rows, ptrdiff_t width) {
    const float inv_sqrt_2pi = 0.39894228040143268f;
    for (ptrdiff_t r = 0; r < rows; r++) {
        const float *a = h + r * 2 * width;
        const float *g = a + width;
        float *da = d_h + r * 2 * width;
        float *dg = da + width;
        const float *dy = d_out + r * width;
        ptrdiff_t j = 0;
        for (; j + 8 <= width; j += 8) {
            f8 gv = LOAD8(g + j);
            f8 cdf;
            normal_cdf8(&cdf, &gv);
            f8 pdf = -0.5f * gv * gv;
            exp8(&pdf);
            f8 dgelu = cdf + gv * inv_sqrt_2pi * pdf;
            f8 dyv = LOAD8(dy + j);
            STORE8(da + j, LOAD8(da + j) + dyv * gv * cdf);
            STORE8(dg + j, LOAD8(dg + j) + dyv * LOAD8(a + j) * dgelu);
        }
        for (; j < width; j++) {
            f8 cdf;
            f8 gj = g[j];
            normal_cdf8(&cdf, &gj);
            f8 pdf = -0.5f * g[j] * g[j];
            exp8(&pdf);
            const float dgelu = cdf[0] + g[j] * inv_sqrt_2pi * pdf[0];
            da[j] += dy[j] * g[j] * cdf[0];
            dg[j] += dy[j] * a[j] * dgelu;
        }
    }
}
