// Attention on the CPU: the per-row work between the two matrix products of each (window, head)
// task, forward and backward side by side. Sources/Compute/CPU/CPUAttention.swift does the
// products (CPUGemm.swift's sgemm) and calls these. exp runs sixteen lanes at a time (zmm in the
// AVX-512 build); sums keep their eight-lane order, so results do not depend on the build.
#include "cpu_vector_math.h"

POYO_CLONES
void poyo_attention_softmax(float *s, ptrdiff_t nq, ptrdiff_t nk, float *lse, ptrdiff_t lse_stride,
                            poyo_dropout dropout, ptrdiff_t row0, ptrdiff_t head, ptrdiff_t heads) {
    const ptrdiff_t whole16 = nk & ~(ptrdiff_t)15;
    const ptrdiff_t whole = nk & ~(ptrdiff_t)7;
    for (ptrdiff_t r = 0; r < nq; r++) {
        float *row = s + r * nk;
        // Row maximum.
        f16 mx16 = -INFINITY;
        for (ptrdiff_t j = 0; j < whole16; j += 16) mx16 = __builtin_elementwise_max(mx16, LOAD16(row + j));
        f8 mx8 = __builtin_elementwise_max(mx16.lo, mx16.hi);
        for (ptrdiff_t j = whole16; j < whole; j += 8) mx8 = __builtin_elementwise_max(mx8, LOAD8(row + j));
        float mx = -INFINITY;
        for (int k = 0; k < 8; k++) mx = fmaxf(mx, mx8[k]);
        for (ptrdiff_t j = whole; j < nk; j++) mx = fmaxf(mx, row[j]);
        // e = exp(s − max), and its sum (eight partial sums, then the tail, in a fixed order).
        // Sixteen lanes at a time for exp; the sums still go eight lanes at a time in j order.
        f8 sum8 = 0;
        for (ptrdiff_t j = 0; j < whole16; j += 16) {
            f16 e = LOAD16(row + j) - mx;
            exp16(&e);
            STORE16(row + j, e);
            sum8 += e.lo;
            sum8 += e.hi;
        }
        for (ptrdiff_t j = whole16; j < whole; j += 8) {
            f8 e = LOAD8(row + j) - mx;
            exp8(&e);
            STORE8(row + j, e);
            sum8 += e;
        }
        float sum = 0;
        for (int k = 0; k < 8; k++) sum += sum8[k];
        for (ptrdiff_t j = whole; j < nk; j++) {
            float e = exp1(row[j] - mx);
            row[j] = e;
            sum += e;
        }
        lse[r * lse_stride] = mx + logf(sum);
        const float inv = 1 / sum;
        if (!dropout.active) {
            for (ptrdiff_t j = 0; j < whole; j += 8) STORE8(row + j, LOAD8(row + j) * inv);
            for (ptrdiff_t j = whole; j < nk; j++) row[j] *= inv;
            continue;
        }
        // Normalise and drop in one pass; only the low 32 bits of the mask index vary along a row.
        const uint64_t base = (uint64_t)((row0 + r) * heads + head) << 32;
        const float kept = inv * dropout.keep_scale;
        for (ptrdiff_t j = 0; j < whole; j += 8) {
            i8 keep;
            keep8(&keep, dropout.seed, base, (uint64_t)j, dropout.threshold);
            STORE8(row + j, (f8)((i8)(LOAD8(row + j) * kept) & keep));
        }
        for (ptrdiff_t j = whole; j < nk; j++)
            row[j] = keep1(dropout.seed, base | (uint64_t)j, dropout.threshold) ? row[j] * kept : 0;
    }
}

POYO_CLONES
void poyo_attention_backward_scores(float *p, float *dp, ptrdiff_t nq, ptrdiff_t nk, const float *lse,
                                    ptrdiff_t lse_stride, const float *d, poyo_dropout dropout,
                                    ptrdiff_t row0, ptrdiff_t head, ptrdiff_t heads) {
    const ptrdiff_t whole = nk & ~(ptrdiff_t)7;
    for (ptrdiff_t r = 0; r < nq; r++) {
        float *prow = p + r * nk;
        float *drow = dp + r * nk;
        const float l = lse[r * lse_stride];
        const float dr = d[r];
        if (!dropout.active) {
            ptrdiff_t j = 0;
            for (; j + 16 <= whole; j += 16) {
                f16 pj = LOAD16(prow + j) - l;
                exp16(&pj);
                STORE16(prow + j, pj);
                STORE16(drow + j, pj * (LOAD16(drow + j) - dr));
            }
            for (; j < whole; j += 8) {
                f8 pj = LOAD8(prow + j) - l;
                exp8(&pj);
                STORE8(prow + j, pj);
                STORE8(drow + j, pj * (LOAD8(drow + j) - dr));
            }
            for (ptrdiff_t j = whole; j < nk; j++) {
                float pj = exp1(prow[j] - l);
                prow[j] = pj;
                drow[j] = pj * (drow[j] - dr);
            }
            continue;
        }
        const uint64_t base = (uint64_t)((row0 + r) * heads + head) << 32;
        const f8 scale8 = dropout.keep_scale;
        for (ptrdiff_t j = 0; j < whole; j += 8) {
            i8 keep;
            keep8(&keep, dropout.seed, base, (uint64_t)j, dropout.threshold);
            f8 m = (f8)((i8)scale8 & keep);
            f8 pj = LOAD8(prow + j) - l;
            exp8(&pj);
            STORE8(drow + j, pj * (LOAD8(drow + j) * m - dr));  // dS
            STORE8(prow + j, pj * m);                          // P ∘ m, for dV
        }
        for (ptrdiff_t j = whole; j < nk; j++) {
            float m = keep1(dropout.seed, base | (uint64_t)j, dropout.threshold) ? dropout.keep_scale : 0;
            float pj = exp1(prow[j] - l);
            drow[j] = pj * (drow[j] * m - dr);
            prow[j] = pj * m;
        }
    }
}
