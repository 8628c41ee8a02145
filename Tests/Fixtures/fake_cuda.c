// A stand-in for libcuda, libnvrtc and libcublas, so CUDADevice's host code runs without a GPU
// (Tests/ComputeTests/FakeCUDATests.swift compiles it with `cc -shared` and points POYO_LIB* here).
// "Device" memory is host memory; NVRTC's "CUBIN" is the source text; a few elementwise kernels
// run on the host by name, reading their arguments the way cuLaunchKernel passes them; SGEMM is a
// plain column-major reference. Only what the backend calls, with the C signatures it declares.
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef int CUresult;
typedef uint64_t CUdeviceptr;

static int launches = 0;
int fake_cuda_launches(void) { return launches; }

CUresult cuInit(unsigned flags) { return 0; }
CUresult cuDriverGetVersion(int *v) { *v = 13000; return 0; }
CUresult cuDeviceGetCount(int *n) { *n = 1; return 0; }
CUresult cuDeviceGet(int *d, int i) { if (i != 0) return 101; *d = 0; return 0; }
CUresult cuDeviceGetName(char *name, int len, int d) { snprintf(name, len, "Fake GPU"); return 0; }
CUresult cuDeviceGetAttribute(int *v, int attribute, int d) {
    switch (attribute) {
    case 16: *v = 4; return 0;    // multiprocessors
    case 75: *v = 9; return 0;    // compute capability major
    case 76: *v = 0; return 0;    // minor
    default: return 1;
    }
}
CUresult cuDeviceTotalMem_v2(size_t *bytes, int d) { *bytes = (size_t)1 << 30; return 0; }
CUresult cuDevicePrimaryCtxRetain(void **ctx, int d) { *ctx = (void *)0x1; return 0; }
CUresult cuCtxSetCurrent(void *ctx) { return ctx == (void *)0x1 ? 0 : 201; }
CUresult cuStreamCreate(void **s, unsigned flags) { *s = (void *)0x2; return 0; }
CUresult cuStreamSynchronize(void *s) { return 0; }
CUresult cuStreamDestroy_v2(void *s) { return s == (void *)0x2 ? 0 : 400; }

// A module keeps the "CUBIN" (the source); a function is the kernel's name.
CUresult cuModuleLoadData(void **module, const void *image) { *module = strdup((const char *)image); return 0; }
CUresult cuModuleUnload(void *module) { free(module); return 0; }
CUresult cuModuleGetFunction(void **f, void *module, const char *name) {
    char pattern[256];
    snprintf(pattern, sizeof pattern, "KERNEL void %s(", name);
    if (!strstr((const char *)module, pattern)) return 500;  // CUDA_ERROR_NOT_FOUND
    *f = strdup(name);
    return 0;
}

#ifdef FAKE_PARAM_INFO
// The driver's own parameter count (CUDA 12.4+), for the kernels faked here: offsets and sizes must
// be writable, and an index past the last parameter is CUDA_ERROR_INVALID_VALUE.
static int param_info_answers = 0;
int fake_cuda_param_info_answers(void) { return param_info_answers; }

CUresult cuFuncGetParamInfo(void *f, size_t index, size_t *offset, size_t *size) {
    static const struct { const char *name; size_t count; } table[] = {
        {"fill", 3}, {"copy", 3}, {"axpy", 4}, {"scale", 3}, {"add_bias", 4}, {"dropout", 5},
    };
    if (!offset || !size) return 1;
    for (size_t k = 0; k < sizeof table / sizeof table[0]; k++)
        if (!strcmp((const char *)f, table[k].name)) {
            if (index >= table[k].count) return 1;
            *offset = 8 * index;
            *size = 8;
            param_info_answers++;
            return 0;
        }
    return 1;
}
#endif

static float *fp(void **params, int i) { return (float *)(uintptr_t)*(CUdeviceptr *)params[i]; }
static int ip(void **params, int i) { return *(int *)params[i]; }
static float ff(void **params, int i) { return *(float *)params[i]; }

static uint64_t hash(uint64_t seed, uint64_t index) {
    uint64_t z = seed + (index + 1) * 0x9E3779B97F4A7C15ull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

// The kernels of elementwise.cl that need no reduction, over the launched grid only (so a grid too
// small for n shows as untouched elements).
CUresult cuLaunchKernel(void *f, unsigned gx, unsigned gy, unsigned gz, unsigned bx, unsigned by, unsigned bz,
                        unsigned shared, void *stream, void **params, void **extra) {
    const char *name = (const char *)f;
    const long threads = (long)gx * bx;
    launches++;
    if (gy != 1 || gz != 1 || by != 1 || bz != 1 || shared != 0 || stream != (void *)0x2) return 1;
    if (!strcmp(name, "fill")) {
        for (long i = 0; i < ip(params, 1) && i < threads; i++) fp(params, 0)[i] = ff(params, 2);
    } else if (!strcmp(name, "copy")) {
        for (long i = 0; i < ip(params, 2) && i < threads; i++) fp(params, 1)[i] = fp(params, 0)[i];
    } else if (!strcmp(name, "axpy")) {
        for (long i = 0; i < ip(params, 3) && i < threads; i++) fp(params, 2)[i] += ff(params, 0) * fp(params, 1)[i];
    } else if (!strcmp(name, "scale")) {
        for (long i = 0; i < ip(params, 1) && i < threads; i++) fp(params, 0)[i] *= ff(params, 2);
    } else if (!strcmp(name, "add_bias")) {
        for (long i = 0; i < ip(params, 2) && i < threads; i++) fp(params, 0)[i] += fp(params, 1)[i % ip(params, 3)];
    } else if (!strcmp(name, "dropout")) {
        const uint64_t seed = *(uint64_t *)params[2];
        const uint32_t threshold = *(uint32_t *)params[3];
        for (long i = 0; i < ip(params, 1) && i < threads; i++) {
            const int keep = (uint32_t)(hash(seed, (uint64_t)i) >> 40) >= threshold;
            fp(params, 0)[i] = keep ? fp(params, 0)[i] * ff(params, 4) : 0.0f;
        }
    } else {
        return 98;  // CUDA_ERROR_INVALID_IMAGE stands for "not faked"
    }
    return 0;
}

CUresult cuMemAlloc_v2(CUdeviceptr *p, size_t bytes) {
    void *m = malloc(bytes);
    if (!m) return 2;
    memset(m, 0xFF, bytes);  // NaN-ish garbage: nothing may rely on fresh memory being zero
    *p = (CUdeviceptr)(uintptr_t)m;
    return 0;
}
CUresult cuMemFree_v2(CUdeviceptr p) { free((void *)(uintptr_t)p); return 0; }
CUresult cuMemcpyHtoDAsync_v2(CUdeviceptr dst, const void *src, size_t n, void *s) {
    memcpy((void *)(uintptr_t)dst, src, n);
    return 0;
}
CUresult cuMemcpyDtoHAsync_v2(void *dst, CUdeviceptr src, size_t n, void *s) {
    memcpy(dst, (const void *)(uintptr_t)src, n);
    return 0;
}
CUresult cuMemsetD32Async(CUdeviceptr p, unsigned v, size_t n, void *s) {
    for (size_t i = 0; i < n; i++) ((uint32_t *)(uintptr_t)p)[i] = v;
    return 0;
}
CUresult cuGetErrorName(CUresult e, const char **s) { *s = "CUDA_ERROR_FAKE"; return 0; }
CUresult cuEventCreate(void **e, unsigned flags) { *e = malloc(1); return 0; }
CUresult cuEventRecord(void *e, void *s) { return 0; }
CUresult cuEventSynchronize(void *e) { return 0; }
CUresult cuEventElapsedTime(float *ms, void *a, void *b) { *ms = 0.25f; return 0; }
CUresult cuEventDestroy_v2(void *e) { free(e); return 0; }

// NVRTC: the "CUBIN" is the source; a source containing FAKE_COMPILE_ERROR fails with a log.
typedef struct { char *src; char *name; int failed; } program;
int nvrtcVersion(int *major, int *minor) { *major = 99; *minor = 1; return 0; }
int nvrtcCreateProgram(program **p, const char *src, const char *name, int n, const char *const *h,
                       const char *const *i) {
    *p = calloc(1, sizeof **p);
    (*p)->src = strdup(src);
    (*p)->name = strdup(name ? name : "");
    return 0;
}
int nvrtcCompileProgram(program *p, int n, const char *const *options) {
    int arch = 0;
    for (int i = 0; i < n; i++) arch |= !strcmp(options[i], "--gpu-architecture=sm_90");
    p->failed = strstr(p->src, "FAKE_COMPILE_ERROR") != NULL || !arch;
    return p->failed ? 6 : 0;  // NVRTC_ERROR_COMPILATION
}
int nvrtcGetProgramLogSize(program *p, size_t *n) { *n = strlen(p->name) + 64; return 0; }
int nvrtcGetProgramLog(program *p, char *log) {
    snprintf(log, strlen(p->name) + 64, "%s(1): error: fake compile error", p->name);
    return 0;
}
int nvrtcGetCUBINSize(program *p, size_t *n) { *n = strlen(p->src) + 1; return 0; }
int nvrtcGetCUBIN(program *p, char *out) { memcpy(out, p->src, strlen(p->src) + 1); return 0; }
int nvrtcDestroyProgram(program **p) { free((*p)->src); free((*p)->name); free(*p); *p = NULL; return 0; }
const char *nvrtcGetErrorString(int e) { return "NVRTC_ERROR_FAKE"; }

// cuBLAS: column-major C = alpha·op(A)·op(B) + beta·C on host pointers; beta = 0 does not read C.
int cublasCreate_v2(void **h) { *h = (void *)0x3; return 0; }
int cublasDestroy_v2(void *h) { return h == (void *)0x3 ? 0 : 1; }
int cublasSetStream_v2(void *h, void *s) { return s == (void *)0x2 ? 0 : 7; }
int cublasSetMathMode(void *h, int mode) { return mode == 0 || mode == 3 ? 0 : 7; }
int cublasGetVersion_v2(void *h, int *v) { *v = 130000; return 0; }
int cublasSgemm_v2(void *h, int ta, int tb, int m, int n, int k, const float *alpha, const float *a, int lda,
                   const float *b, int ldb, const float *beta, float *c, int ldc) {
    for (int j = 0; j < n; j++)
        for (int i = 0; i < m; i++) {
            double s = 0;
            for (int l = 0; l < k; l++) {
                const double av = ta ? a[l + (long)i * lda] : a[i + (long)l * lda];
                const double bv = tb ? b[j + (long)l * ldb] : b[l + (long)j * ldb];
                s += av * bv;
            }
            float *cij = c + i + (long)j * ldc;
            *cij = (float)(*alpha * s + (*beta == 0 ? 0 : *beta * *cij));
        }
    return 0;
}
