// GEGLU with the exact (erf) GELU. One work-item per output element.

#define INV_SQRT2 0.70710678118654752f
#define INV_SQRT_2PI 0.39894228040143268f

// h [rows, 2f] = [a | g] → out [rows, f] = a ⊙ GELU(g)
KERNEL void geglu_forward(GLOBAL const float* h, GLOBAL float* out, const int rows, const int f) {
    const int i = GLOBAL_ID(0);
    if (i >= rows * f) return;
    const int r = i / f, j = i % f;
    const float a = h[r * 2 * f + j], g = h[r * 2 * f + f + j];
    out[i] = a * 0.5f * g * (1.0f + erf(g * INV_SQRT2));
}

// dh [rows, 2f] += gradient of a ⊙ GELU(g) given dout [rows, f]
KERNEL void geglu_backward(GLOBAL const float* dout, GLOBAL const float* h, GLOBAL float* dh,
                           const int rows, const int f) {
    const int i = GLOBAL_ID(0);
    if (i >= rows * f) return;
    const int r = i / f, j = i % f;
    const int ia = r * 2 * f + j, ig = ia + f;
    const float a = h[ia], g = h[ig], dy = dout[i];
    const float cdf = 0.5f * (1.0f + erf(g * INV_SQRT2));
    const float dgelu = cdf + g * INV_SQRT_2PI * exp(-0.5f * g * g);
    dh[ia] += dy * g * cdf;
    dh[ig] += dy * a * dgelu;
}
