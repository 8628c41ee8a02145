// Single-precision GEMM with AVX-512 (Sources/Compute/CPU/CPUGemm.swift chooses it).
//
// Why our own: OpenBLAS picks its kernels by CPU model, and where it does not know the CPU (or
// where its AVX-512 kernels are disabled, as OPENBLAS_CORETYPE=Haswell does on the machines
// this project is built on) it runs 256-bit AVX2 kernels on CPUs that execute 512-bit FMAs at
// full width. Measured on 2 cores of an AMD Zen 5 EPYC: OpenBLAS 0.3.21 Haswell 238 GFLOP/s at
// 2048³, this file about 1.6× that (docs/bench/cpu-kernels.txt). Without AVX-512 the CPU
// backend keeps OpenBLAS.
//
// The shape is the usual one (Goto / BLIS): op(B) is packed into K_C × 32 micro-panels (a
// 16 × 16 in-register transpose when B is transposed), op(A) is read in place (8 rows, any
// strides: broadcasts need no packing), and an 8 × 32 register tile (16 zmm accumulators)
// runs over K_C. C is read only when beta ≠ 0, so uninitialised outputs are fine with beta = 0.
// One call is single-threaded: the Swift side splits rows of C across workers.
#include <immintrin.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "CPUKernels.h"

#if defined(__x86_64__)

#define AVX512 __attribute__((target("avx512f,avx512vl,avx512dq,avx512bw,avx2,fma")))

enum {
    MR = 8,      // rows of the register tile
    NR = 32,     // columns of the register tile: two zmm
    KC = 256,    // depth of one packed panel: a K_C × 32 micro-panel (32 KiB) stays in L1
    MC = 128,    // rows of A swept per micro-panel of B: 8 × K_C × 4 B tiles from L2
    PANEL = KC * 512,  // floats of one packed panel of B (512 KiB, half of L2), shared by all row tiles:
                       // 512 columns at K_C = 256, up to 2048 when K is smaller
    PACK_A_COLUMNS = 512,  // panels at least this wide get A packed too
    PREFETCH_ROWS = 8,     // how far ahead pack_b_rows fetches
};

// Per-thread packing buffer: op(B) as [nc / NR][KC][NR] floats, then op(A) as [MC / MR][KC][MR];
// freed when the thread ends.
static pthread_key_t pack_key;
static pthread_once_t pack_once = PTHREAD_ONCE_INIT;

static void make_pack_key(void) { pthread_key_create(&pack_key, free); }

static float *pack_buffer(void) {
    pthread_once(&pack_once, make_pack_key);
    float *buf = pthread_getspecific(pack_key);
    if (!buf) {
        buf = aligned_alloc(64, (size_t)(PANEL + KC * MC) * sizeof(float));
        if (buf) pthread_setspecific(pack_key, buf);
    }
    return buf;
}

static inline __mmask16 lanes(ptrdiff_t n) {
    return n >= 16 ? (__mmask16)0xFFFF : n <= 0 ? (__mmask16)0 : (__mmask16)((1u << n) - 1);
}

// bp[kc][32] for columns j0 ..< j0 + nr (nr ≤ 32, the rest zero) of op(B) = B: b[k·ldb + j].
AVX512 static void pack_b_rows(const float *b, ptrdiff_t ldb, ptrdiff_t kc, ptrdiff_t nr, float *bp) {
    const __mmask16 m0 = lanes(nr);
    const __mmask16 m1 = lanes(nr - 16);
    for (ptrdiff_t k = 0; k < kc; k++) {
        const float *row = b + k * ldb;
        // Rows lie ldb apart (a head's columns of a wider activation): fetch ahead, the hardware
        // prefetcher does not follow such strides well.
        _mm_prefetch((const char *)(row + PREFETCH_ROWS * ldb), _MM_HINT_T0);
        _mm_prefetch((const char *)(row + PREFETCH_ROWS * ldb + 16), _MM_HINT_T0);
        _mm512_store_ps(bp + k * NR, _mm512_maskz_loadu_ps(m0, row));
        _mm512_store_ps(bp + k * NR + 16, _mm512_maskz_loadu_ps(m1, row + 16));
    }
}

// Transposes r[16] in registers: out row t holds element t of every input row.
#define UNPACK_PD(op, x, y) _mm512_castpd_ps(op(_mm512_castps_pd(x), _mm512_castps_pd(y)))
AVX512 static inline void transpose16(__m512 r[16]) {
    __m512 t[16];
    for (int i = 0; i < 8; i++) {
        t[2 * i] = _mm512_unpacklo_ps(r[2 * i], r[2 * i + 1]);
        t[2 * i + 1] = _mm512_unpackhi_ps(r[2 * i], r[2 * i + 1]);
    }
    for (int i = 0; i < 4; i++) {
        r[4 * i] = UNPACK_PD(_mm512_unpacklo_pd, t[4 * i], t[4 * i + 2]);
        r[4 * i + 1] = UNPACK_PD(_mm512_unpackhi_pd, t[4 * i], t[4 * i + 2]);
        r[4 * i + 2] = UNPACK_PD(_mm512_unpacklo_pd, t[4 * i + 1], t[4 * i + 3]);
        r[4 * i + 3] = UNPACK_PD(_mm512_unpackhi_pd, t[4 * i + 1], t[4 * i + 3]);
    }
    // r[4g + e] now holds, in its 128-bit lane L, element 4L + e of rows 4g ... 4g + 3; output row
    // 4L + e needs lane g of that: a 4 × 4 transpose of 128-bit lanes, in two shuffle rounds.
    for (int i = 0; i < 4; i++) {
        t[i] = _mm512_shuffle_f32x4(r[i], r[i + 4], 0x88);
        t[i + 4] = _mm512_shuffle_f32x4(r[i], r[i + 4], 0xdd);
        t[i + 8] = _mm512_shuffle_f32x4(r[i + 8], r[i + 12], 0x88);
        t[i + 12] = _mm512_shuffle_f32x4(r[i + 8], r[i + 12], 0xdd);
    }
    for (int i = 0; i < 8; i++) {
        r[i] = _mm512_shuffle_f32x4(t[i], t[i + 8], 0x88);
        r[i + 8] = _mm512_shuffle_f32x4(t[i], t[i + 8], 0xdd);
    }
}

// bp[kc][32] for columns j0 ..< j0 + nr of op(B) = Bᵀ: b[j·ldb + k], sixteen columns and
// sixteen k at a time through an in-register transpose.
AVX512 static void pack_b_cols(const float *b, ptrdiff_t ldb, ptrdiff_t kc, ptrdiff_t nr, float *bp) {
    // The next micro-panel's 32 rows (each kc floats): fetched while this one is transposed.
    for (ptrdiff_t r = NR; r < 2 * NR; r++)
        for (ptrdiff_t k = 0; k < kc; k += 16) _mm_prefetch((const char *)(b + r * ldb + k), _MM_HINT_T0);
    for (int half = 0; half < 2; half++) {
        const ptrdiff_t cols = nr - 16 * half;
        for (ptrdiff_t k0 = 0; k0 < kc; k0 += 16) {
            const __mmask16 km = lanes(kc - k0);
            __m512 r[16];
            for (int c = 0; c < 16; c++)
                r[c] = c < cols ? _mm512_maskz_loadu_ps(km, b + (16 * half + c) * ldb + k0) : _mm512_setzero_ps();
            transpose16(r);
            const ptrdiff_t kn = kc - k0 < 16 ? kc - k0 : 16;
            for (ptrdiff_t t = 0; t < kn; t++) _mm512_store_ps(bp + (k0 + t) * NR + 16 * half, r[t]);
        }
    }
}

// C[mr, nr] = alpha · A·Bp + beta · C for one 8 × 32 tile; A element (i, k) at a[i·rs + k·cs].
// Rows i ≥ mr of A are never read (the caller passes a padded copy instead), columns ≥ nr of C
// are never touched.
#define TILE_BODY(ADDR)                                                       \
    __m512 acc[MR][2];                                                        \
    for (int i = 0; i < MR; i++) acc[i][0] = acc[i][1] = _mm512_setzero_ps(); \
    for (ptrdiff_t k = 0; k < kc; k++) {                                      \
        const __m512 b0 = _mm512_load_ps(bp + k * NR);                        \
        const __m512 b1 = _mm512_load_ps(bp + k * NR + 16);                   \
        for (int i = 0; i < MR; i++) {                                        \
            const __m512 av = _mm512_set1_ps(a[ADDR]);                        \
            acc[i][0] = _mm512_fmadd_ps(av, b0, acc[i][0]);                   \
            acc[i][1] = _mm512_fmadd_ps(av, b1, acc[i][1]);                   \
        }                                                                     \
    }                                                                         \
    store_tile(acc, c, ldc, alpha, beta, mr, nr);

AVX512 static inline void store_tile(__m512 acc[MR][2], float *c, ptrdiff_t ldc, float alpha, float beta,
                                     ptrdiff_t mr, ptrdiff_t nr) {
    const __m512 va = _mm512_set1_ps(alpha);
    const __m512 vb = _mm512_set1_ps(beta);
    const __mmask16 m0 = lanes(nr);
    const __mmask16 m1 = lanes(nr - 16);
    for (int i = 0; i < MR; i++) {
        if (i >= mr) break;
        float *row = c + i * ldc;
        __m512 x0 = _mm512_mul_ps(va, acc[i][0]);
        __m512 x1 = _mm512_mul_ps(va, acc[i][1]);
        if (beta != 0) {
            x0 = _mm512_fmadd_ps(vb, _mm512_maskz_loadu_ps(m0, row), x0);
            x1 = _mm512_fmadd_ps(vb, _mm512_maskz_loadu_ps(m1, row + 16), x1);
        }
        _mm512_mask_storeu_ps(row, m0, x0);
        _mm512_mask_storeu_ps(row + 16, m1, x1);
    }
}

// A rows in place (element (i, k) at a[i·lda + k]).
AVX512 static void tile_a_rows(ptrdiff_t kc, const float *a, ptrdiff_t lda, const float *bp, float *c,
                               ptrdiff_t ldc, float alpha, float beta, ptrdiff_t mr, ptrdiff_t nr) {
    TILE_BODY(i * lda + k)
}

// A columns in place: op(A) = Aᵀ (element (i, k) at a[k·lda + i]).
AVX512 static void tile_a_cols(ptrdiff_t kc, const float *a, ptrdiff_t lda, const float *bp, float *c,
                               ptrdiff_t ldc, float alpha, float beta, ptrdiff_t mr, ptrdiff_t nr) {
    TILE_BODY(k * lda + i)
}

AVX512 static void gemm_avx512(int trans_a, int trans_b, ptrdiff_t m, ptrdiff_t n, ptrdiff_t k, float alpha,
                               const float *a, ptrdiff_t lda, const float *b, ptrdiff_t ldb, float beta, float *c,
                               ptrdiff_t ldc, float *bp) {
    float *ap = bp + PANEL;
    // Columns per packed panel: as many as half of L2 holds at this depth (a multiple of 32).
    const ptrdiff_t kc_max = k < KC ? k : KC;
    ptrdiff_t panel_cols = PANEL / kc_max / NR * NR;
    if (panel_cols > 2048) panel_cols = 2048;
    float pad[MR * KC] __attribute__((aligned(64)));  // the last rows of A, zero-padded to 8
    for (ptrdiff_t jc = 0; jc < n; jc += panel_cols) {
        const ptrdiff_t nc = n - jc < panel_cols ? n - jc : panel_cols;
        for (ptrdiff_t pc = 0; pc < k; pc += KC) {
            const ptrdiff_t kc = k - pc < KC ? k - pc : KC;
            const float step_beta = pc == 0 ? beta : 1;
            for (ptrdiff_t jr = 0; jr < nc; jr += NR) {
                const ptrdiff_t nr = nc - jr < NR ? nc - jr : NR;
                float *panel = bp + jr * kc;
                if (trans_b)
                    pack_b_cols(b + (jc + jr) * ldb + pc, ldb, kc, nr, panel);
                else
                    pack_b_rows(b + pc * ldb + jc + jr, ldb, kc, nr, panel);
            }
            for (ptrdiff_t ic = 0; ic < m; ic += MC) {
                const ptrdiff_t mc = m - ic < MC ? m - ic : MC;
                if (nc >= PACK_A_COLUMNS && mc == MC) {
                    // Wide panels reuse each 8-row tile of A nc / 32 times: pack it as [kc][8] once
                    // so the broadcasts stream from one buffer instead of eight rows lda apart
                    // (which, for lda a multiple of 1 KiB, all fall into one L1 set).
                    for (ptrdiff_t ir = 0; ir < mc; ir += MR)
                        for (ptrdiff_t kk = 0; kk < kc; kk++)
                            for (ptrdiff_t i = 0; i < MR; i++)
                                ap[ir * KC + kk * MR + i] =
                                    trans_a ? a[(pc + kk) * lda + ic + ir + i] : a[(ic + ir + i) * lda + pc + kk];
                    for (ptrdiff_t jr = 0; jr < nc; jr += NR) {
                        const ptrdiff_t nr = nc - jr < NR ? nc - jr : NR;
                        for (ptrdiff_t ir = 0; ir < mc; ir += MR)
                            tile_a_cols(kc, ap + ir * KC, MR, bp + jr * kc, c + (ic + ir) * ldc + jc + jr, ldc, alpha,
                                        step_beta, MR, nr);
                    }
                    continue;
                }
                for (ptrdiff_t jr = 0; jr < nc; jr += NR) {
                    const ptrdiff_t nr = nc - jr < NR ? nc - jr : NR;
                    const float *panel = bp + jr * kc;
                    for (ptrdiff_t ir = 0; ir < mc; ir += MR) {
                        const ptrdiff_t i0 = ic + ir;
                        const ptrdiff_t mr = mc - ir < MR ? mc - ir : MR;
                        float *ct = c + i0 * ldc + jc + jr;
                        if (mr == MR) {
                            if (trans_a)
                                tile_a_cols(kc, a + pc * lda + i0, lda, panel, ct, ldc, alpha, step_beta, mr, nr);
                            else
                                tile_a_rows(kc, a + i0 * lda + pc, lda, panel, ct, ldc, alpha, step_beta, mr, nr);
                            continue;
                        }
                        // Fewer than 8 rows left: copy them, zero-padded, so no row past m is read.
                        memset(pad, 0, sizeof pad);
                        for (ptrdiff_t i = 0; i < mr; i++)
                            for (ptrdiff_t kk = 0; kk < kc; kk++)
                                pad[i * KC + kk] = trans_a ? a[(pc + kk) * lda + i0 + i] : a[(i0 + i) * lda + pc + kk];
                        tile_a_rows(kc, pad, KC, panel, ct, ldc, alpha, step_beta, mr, nr);
                    }
                }
            }
        }
    }
}

// Decided once per process (every worker thread asks on every call).
static int available;
static pthread_once_t available_once = PTHREAD_ONCE_INIT;

static void decide_available(void) {
    __builtin_cpu_init();
    const char *choice = getenv("POYO_GEMM");
    int isa = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") &&
              __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512bw");
    available = isa && !(choice && strcmp(choice, "openblas") == 0);
}

int poyo_sgemm_available(void) {
    pthread_once(&available_once, decide_available);
    return available;
}

int poyo_sgemm(int trans_a, int trans_b, ptrdiff_t m, ptrdiff_t n, ptrdiff_t k, float alpha, const float *a,
               ptrdiff_t lda, const float *b, ptrdiff_t ldb, float beta, float *c, ptrdiff_t ldc) {
    if (!poyo_sgemm_available()) return -1;
    if (m <= 0 || n <= 0) return 0;
    float *bp = pack_buffer();
    if (!bp) return -2;
    if (k <= 0) {
        for (ptrdiff_t i = 0; i < m; i++)
            for (ptrdiff_t j = 0; j < n; j++) c[i * ldc + j] = beta == 0 ? 0 : beta * c[i * ldc + j];
        return 0;
    }
    gemm_avx512(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, bp);
    return 0;
}

#else

int poyo_sgemm_available(void) { return 0; }

int poyo_sgemm(int trans_a, int trans_b, ptrdiff_t m, ptrdiff_t n, ptrdiff_t k, float alpha, const float *a,
               ptrdiff_t lda, const float *b, ptrdiff_t ldb, float beta, float *c, ptrdiff_t ldc) {
    return -1;
}

#endif
