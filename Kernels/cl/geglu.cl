// GEGLU with the exact (erf) GELU. One work-item per output element.

#define INV_SQRT2 0.70710678118654752f
#define INV_SQRT_2PI 0.39894228040143268f

// h [rows, 2f] = [a | g] → out [rows, f] = a ⊙ GELU(g)
__kernel void geglu_forward(__global const float* h, __global float* out, const int rows, const int f) {
    const int i = get_global_id(0);
    if (i >= rows * f) return;
    const int r = i / f, j = i % f;
    const float a = h[r * 2 * f + j], g = h[r * 2 * f + f + j];
    out[i] = a * 0.5f * g * (1.0f + erf(g * INV_SQRT2));
}

// dh [rows, 2f] += gradient of a ⊙ GELU(g) given dout [rows, f]
__kernel void geglu_backward(__global const float* dout, __global const float* h, __global float* dh,
                             const int rows, const int f) {
    const int i = get_global_id(0);
    if (i >= rows * f) return;
    const int r = i / f, j = i % f;
    const int ia = r * 2 * f + j, ig = ia + f;
    const float a = h[ia], g = h[ig], dy = dout[i];
    const float cdf = 0.5f * (1.0f + erf(g * INV_SQRT2));
    const float dgelu = cdf + g * INV_SQRT_2PI * exp(-0.5f * g * g);
    dh[ia] += dy * g * cdf;
    dh[ig] += dy * a * dgelu;
}
