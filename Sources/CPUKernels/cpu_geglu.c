// GEGLU with the exact (erf) GELU (Sources/Compute/CPU/CPUGEGLU.swift), forward and backward.
#include "cpu_vector_math.h"

// Φ(g), the standard normal CDF, with small relative error on both tails: with z = |g|/√2,
// erfc(z) = t·exp(−z² + P(t)), t = 1/(1 + z/2), P a degree-9 Chebyshev-fitted polynomial
// (fractional error below 1.2e-7 for every z); Φ(g) = erfc(z)/2 for g < 0, 1 − erfc(z)/2 else.
// Sixteen lanes in the main loops (zmm in the AVX-512 build); the last width % 16 elements one at a
// time through the eight-lane function, the same function in every lane.
#define POYO_DEFINE_NORMAL_CDF(NAME, EXP, F, I)                         \
    static inline void NAME(F *out, const F *gp) {                      \
        const F g = *gp;                                                \
        F z = __builtin_elementwise_abs(g) * 0.70710678118654752f;      \
        F t = 1.0f / (1.0f + 0.5f * z);                                 \
        F p = 0.17087277f;                                              \
        p = p * t - 0.82215223f;                                        \
        p = p * t + 1.48851587f;                                        \
        p = p * t - 1.13520398f;                                        \
        p = p * t + 0.27886807f;                                        \
        p = p * t - 0.18628806f;                                        \
        p = p * t + 0.09678418f;                                        \
        p = p * t + 0.37409196f;                                        \
        p = p * t + 1.00002368f;                                        \
        p = p * t - 1.26551223f;                                        \
        F e = p - z * z;                                                \
        EXP(&e);                                                        \
        F half_erfc = 0.5f * t * e;                                     \
        I negative = g < 0;                                             \
        F positive_side = 1.0f - half_erfc;                             \
        *out = (F)(((I)half_erfc & negative) | ((I)positive_side & ~negative)); \
    }
POYO_DEFINE_NORMAL_CDF(normal_cdf8, exp8, f8, i8)
POYO_DEFINE_NORMAL_CDF(normal_cdf16, exp16, f16, i16)

POYO_CLONES
void poyo_geglu_forward(const float *h, float *out, ptrdiff_t rows, ptrdiff_t width) {
    for (ptrdiff_t r = 0; r < rows; r++) {
        const float *a = h + r * 2 * width;
        const float *g = a + width;
        float *o = out + r * width;
        ptrdiff_t j = 0;
        for (; j + 16 <= width; j += 16) {
            f16 gv = LOAD16(g + j);
            f16 cdf;
            normal_cdf16(&cdf, &gv);
            STORE16(o + j, LOAD16(a + j) * gv * cdf);
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
        for (; j + 16 <= width; j += 16) {
            f16 gv = LOAD16(g + j);
            f16 cdf;
            normal_cdf16(&cdf, &gv);
            f16 pdf = -0.5f * gv * gv;
            exp16(&pdf);
            f16 dgelu = cdf + gv * inv_sqrt_2pi * pdf;
            f16 dyv = LOAD16(dy + j);
            STORE16(da + j, LOAD16(da + j) + dyv * gv * cdf);
            STORE16(dg + j, LOAD16(dg + j) + dyv * LOAD16(a + j) * dgelu);
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
