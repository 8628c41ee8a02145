// Rotary position embedding (Sources/Compute/CPU/CPURotary.swift), eight pairs per vector (a zmm
// in the AVX-512 build), the last pairs % 8 one at a time.
#include "cpu_vector_math.h"

POYO_CLONES
void poyo_rotary(float *x, ptrdiff_t ld, const float *cos, const float *sin, ptrdiff_t rows, ptrdiff_t pairs,
                 ptrdiff_t heads, ptrdiff_t head_dim, int32_t inverse) {
    const float sign = inverse ? -1.0f : 1.0f;
    const ptrdiff_t whole8 = pairs & ~(ptrdiff_t)7;
    for (ptrdiff_t row = 0; row < rows; row++) {
        const float *c = cos + row * pairs;
        const float *s = sin + row * pairs;
        for (ptrdiff_t h = 0; h < heads; h++) {
            float *v = x + row * ld + h * head_dim;
            for (ptrdiff_t p = 0; p < whole8; p += 8) {
                f8 c8 = LOAD8(c + p);
                f8 s8 = LOAD8(s + p) * sign;
                // Even lanes (x0): x0·c − x1·s; odd lanes (x1): x1·c + x0·s.
                f16 c16 = __builtin_shufflevector(c8, c8, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7);
                f16 s16 = __builtin_shufflevector(s8, -s8, 8, 0, 9, 1, 10, 2, 11, 3, 12, 4, 13, 5, 14, 6, 15, 7);
                f16 xv = LOAD16(v + 2 * p);
                f16 swapped = __builtin_shufflevector(xv, xv, 1, 0, 3, 2, 5, 4, 7, 6, 9, 8, 11, 10, 13, 12, 15, 14);
                STORE16(v + 2 * p, xv * c16 + swapped * s16);
            }
            for (ptrdiff_t p = whole8; p < pairs; p++) {
                const float x0 = v[2 * p];
                const float x1 = v[2 * p + 1];
                const float sn = sign * s[p];
                v[2 * p] = x0 * c[p] - x1 * sn;
                v[2 * p + 1] = x1 * c[p] + x0 * sn;
            }
        }
    }
}
