#ifndef POYO_CPU_KERNELS_H
#define POYO_CPU_KERNELS_H
// Hot loops of the CPU backend that Swift does not vectorise (exp, the dropout hash, per-row
// softmax), in C with clang's vector extensions. Each entry point is compiled for x86-64-v4
// (AVX-512), x86-64-v3 (AVX2 + FMA) and the baseline, chosen at load time. The Swift files of the
// same op family (Sources/Compute/CPU/CPU<Family>.swift) call these; float64 reference tests
// and the golden fixtures are the oracle.
#include <stddef.h>
#include <stdint.h>

// The dropout mask every backend shares (Sources/Compute/DropoutMask.swift): element `index`
// is kept iff the top 24 bits of SplitMix64's finaliser of seed + (index + 1)·φ are ≥ threshold.
typedef struct {
    uint64_t seed;
    uint32_t threshold;   // 24-bit; 0 keeps everything
    float keep_scale;     // 1 / (1 − p)
    int32_t active;       // 0: no dropout
} poyo_dropout;

// Attention forward, one (window, head): s[nq, nk] holds scale·q·kᵀ. Each row becomes its
// softmax, times the dropout mask / (1 − p) when active; lse[r · lse_stride] = max + log Σ exp.
// The mask index of (query row `row0 + r`, `head`, key j) is ((row0 + r)·heads + head) << 32 | j.
void poyo_attention_softmax(float *s, ptrdiff_t nq, ptrdiff_t nk, float *lse, ptrdiff_t lse_stride,
                            poyo_dropout dropout, ptrdiff_t row0, ptrdiff_t head, ptrdiff_t heads);

// Attention backward, one (window, head): p[nq, nk] holds scale·q·kᵀ and becomes
// P = exp(p − lse_r); then, with dp[nq, nk] = dO·vᵀ and d[r] = dO_r·O_r,
// dp becomes dS = P ∘ (dp ∘ m − d_r) and p becomes P ∘ m (m: mask / (1 − p), or 1).
void poyo_attention_backward_scores(float *p, float *dp, ptrdiff_t nq, ptrdiff_t nk, const float *lse,
                                    ptrdiff_t lse_stride, const float *d, poyo_dropout dropout,
                                    ptrdiff_t row0, ptrdiff_t head, ptrdiff_t heads);

// This thread's scratch buffer number `slot` (0–3) of at least `count` floats, 64-byte aligned,
// reused by later calls on the thread (contents undefined); NULL when out of memory.
float *poyo_scratch(int slot, size_t count);

// Elementwise dropout of x[n] in place, element index = offset + i.
void poyo_dropout_apply(float *x, ptrdiff_t n, ptrdiff_t offset, poyo_dropout dropout);

// Rotary embedding in place over `rows` rows of x (row stride `ld`): in each of `heads` heads of
// `head_dim`, pairs (x[2i], x[2i+1]) for i < pairs turn by the row's angle (cos, sin: [rows,
// pairs]); `inverse` turns the other way (the backward).
void poyo_rotary(float *x, ptrdiff_t ld, const float *cos, const float *sin, ptrdiff_t rows, ptrdiff_t pairs,
                 ptrdiff_t heads, ptrdiff_t head_dim, int32_t inverse);

// GEGLU over `rows` rows: h[r] = [a | g] (2·width), out[r] = a · gelu(g) with the exact (erf) GELU.
void poyo_geglu_forward(const float *h, float *out, ptrdiff_t rows, ptrdiff_t width);
// dH[r] += [dOut · gelu(g) | dOut · a · gelu′(g)].
void poyo_geglu_backward(const float *d_out, const float *h, float *d_h, ptrdiff_t rows, ptrdiff_t width);

// Layer norm over `rows` rows of width d: out = (x − μ)·rstd·γ + β, saving μ and rstd per row.
void poyo_layer_norm_forward(const float *x, const float *gamma, const float *beta, float *out, float *mean,
                             float *rstd, ptrdiff_t rows, ptrdiff_t d, float eps);
// dX[r] += rstd·(dy·γ − mean(dy·γ) − x̂·mean(dy·γ·x̂)) for `rows` rows.
void poyo_layer_norm_backward_input(const float *d_out, const float *x, const float *gamma, const float *mean,
                                    const float *rstd, float *d_x, ptrdiff_t rows, ptrdiff_t d);
// dγ_part[j] += Σ_r dy·x̂, dβ_part[j] += Σ_r dy over `rows` rows, row by row in order.
void poyo_layer_norm_backward_params(const float *d_out, const float *x, const float *mean, const float *rstd,
                                     float *d_gamma, float *d_beta, ptrdiff_t rows, ptrdiff_t d);

// Row-major C[m, n] = alpha · op(A)·op(B) + beta · C, op(X) = Xᵀ when trans_x ≠ 0 (cblas_sgemm's
// meaning), single-threaded, AVX-512 (cpu_gemm.c). C is not read when beta = 0. Returns 0, or
// −1 when unavailable (no AVX-512, or POYO_GEMM=openblas) and −2 when out of memory: the caller
// then uses OpenBLAS.
int poyo_sgemm_available(void);
int poyo_sgemm(int trans_a, int trans_b, ptrdiff_t m, ptrdiff_t n, ptrdiff_t k, float alpha, const float *a,
               ptrdiff_t lda, const float *b, ptrdiff_t ldb, float beta, float *c, ptrdiff_t ldc);

#endif
