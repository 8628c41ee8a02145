// Elementwise dropout (Sources/Compute/CPU/CPUDevice.swift, `dropout`).
#include "cpu_vector_math.h"

POYO_CLONES
void poyo_dropout_apply(float *x, ptrdiff_t n, ptrdiff_t offset, poyo_dropout dropout) {
    if (!dropout.active) return;
    const f8 scale8 = dropout.keep_scale;
    const ptrdiff_t whole = n & ~(ptrdiff_t)7;
    for (ptrdiff_t i = 0; i < whole; i += 8) {
        i8 keep;
        keep8(&keep, dropout.seed, 0, (uint64_t)(offset + i), dropout.threshold);
        STORE8(x + i, (f8)((i8)(LOAD8(x + i) * scale8) & keep));
    }
    for (ptrdiff_t i = whole; i < n; i++)
        x[i] = keep1(dropout.seed, (uint64_t)(offset + i), dropout.threshold) ? x[i] * dropout.keep_scale : 0;
}
