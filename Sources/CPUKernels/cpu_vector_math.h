// Eight- and sixteen-lane helpers shared by the CPU kernels: types, exp, the dropout hash. Internal.
#ifndef POYO_CPU_VECTOR_MATH_H
#define POYO_CPU_VECTOR_MATH_H
#include <math.h>
#include <stdint.h>
#include "CPUKernels.h"

typedef float f8 __attribute__((ext_vector_type(8)));
typedef int32_t i8 __attribute__((ext_vector_type(8)));
typedef uint32_t u8 __attribute__((ext_vector_type(8)));
typedef uint64_t q8 __attribute__((ext_vector_type(8)));
typedef float f16 __attribute__((ext_vector_type(16)));
typedef int32_t i16 __attribute__((ext_vector_type(16)));

// On x86-64 each entry point is built three times (AVX-512, AVX2 + FMA, baseline) and the loader
// picks one for the machine; elsewhere (arm64: NEON) once, for the target.
#if defined(__x86_64__) && defined(__linux__)
#define POYO_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define POYO_CLONES
#endif

// Vectors cross no function boundary here (helpers take pointers, loads and stores are
// macros): each entry point is also compiled for the baseline, where 256-bit vector arguments
// would change the ABI.
#define LOAD8(p) \
    ({ \
        f8 v_; \
        __builtin_memcpy(&v_, (p), sizeof v_); \
        v_; \
    })
#define STORE8(p, v) \
    do { \
        f8 t_ = (v); \
        __builtin_memcpy((p), &t_, sizeof t_); \
    } while (0)

#define LOAD16(p) \
    ({ \
        f16 v_; \
        __builtin_memcpy(&v_, (p), sizeof v_); \
        v_; \
    })
#define STORE16(p, v) \
    do { \
        f16 t_ = (v); \
        __builtin_memcpy((p), &t_, sizeof t_); \
    } while (0)

// exp(x) = 2^n · e^r with n = round(x / ln 2) and r = x − n·ln 2 (ln 2 split in two so r is
// exact), e^r by a degree-6 polynomial on |r| ≤ ln2/2 (Cephes' coefficients): within 2 ulp of
// expf over the range; 0 below −87.3, where expf is denormal or 0. In place. Defined for 8 and
// 16 lanes (the AVX-512 build's loops run 16 at a time); every lane computes the same function.
#define POYO_DEFINE_EXP(NAME, F, I)                                                        \
    static inline void NAME(F *v) {                                                        \
        const F x = *v;                                                                    \
        const F hi = 88.3762626647949f;                                                    \
        const F lo = -87.3365447504019f;                                                   \
        F xc = __builtin_elementwise_min(__builtin_elementwise_max(x, lo), hi);            \
        F n = __builtin_elementwise_floor(xc * 1.44269504088896341f + 0.5f);               \
        F r = xc - n * 0.693359375f;                                                       \
        r = r - n * -2.12194440e-4f;                                                       \
        F p = 1.9875691500e-4f;                                                            \
        p = p * r + 1.3981999507e-3f;                                                      \
        p = p * r + 8.3334519073e-3f;                                                      \
        p = p * r + 4.1665795894e-2f;                                                      \
        p = p * r + 1.6666665459e-1f;                                                      \
        p = p * r + 5.0000001201e-1f;                                                      \
        p = p * (r * r) + r + 1.0f;                                                        \
        I bits = (__builtin_convertvector(n, I) + 127) << 23;                              \
        F y = p * (F)bits;                                                                 \
        /* −1 where x is in range, 0 below (and for NaN, which scores never are) */        \
        I keep = x >= lo;                                                                  \
        *v = (F)((I)y & keep);                                                             \
    }
POYO_DEFINE_EXP(exp8, f8, i8)
POYO_DEFINE_EXP(exp16, f16, i16)

// The same exp for one value (row tails), so every element gets the same function.
static inline float exp1(float x) {
    f8 v = x;
    exp8(&v);
    return v[0];
}

// The dropout keep mask of indices base | (j + 0..7): −1 kept, 0 dropped.
static inline void keep8(i8 *out, uint64_t seed, uint64_t base, uint64_t j, uint32_t threshold) {
    q8 idx = (q8){0, 1, 2, 3, 4, 5, 6, 7} + j;
    q8 z = seed + ((base | idx) + 1) * 0x9E3779B97F4A7C15ull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z = z ^ (z >> 31);
    u8 top = __builtin_convertvector(z >> 40, u8);
    *out = top >= threshold;
}

static inline int keep1(uint64_t seed, uint64_t index, uint32_t threshold) {
    uint64_t z = seed + (index + 1) * 0x9E3779B97F4A7C15ull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z = z ^ (z >> 31);
    return (uint32_t)(z >> 40) >= threshold;
}
#endif
