// Elementwise ops, bias and its gradient. One work-item per element unless noted.

// x [n] = value
KERNEL void fill(GLOBAL float* x, const int n, const float value) {
    const int i = GLOBAL_ID(0);
    if (i < n) x[i] = value;
}

// dst [n] = src [n]
KERNEL void copy(GLOBAL const float* src, GLOBAL float* dst, const int n) {
    const int i = GLOBAL_ID(0);
    if (i < n) dst[i] = src[i];
}

// y [n] += alpha · x [n]
KERNEL void axpy(const float alpha, GLOBAL const float* x, GLOBAL float* y, const int n) {
    const int i = GLOBAL_ID(0);
    if (i < n) y[i] += alpha * x[i];
}

// x [n] *= factor
KERNEL void scale(GLOBAL float* x, const int n, const float factor) {
    const int i = GLOBAL_ID(0);
    if (i < n) x[i] *= factor;
}

// The rows × cols block of a strided matrix c (element (r, j) at offset + r·ld + j) ← beta · c,
// or 0 when beta = 0 (so NaN is overwritten, as BLAS does): GEMM with k = 0.
KERNEL void scale_matrix(GLOBAL float* c, const int offset, const int ld, const int rows, const int cols,
                         const float beta) {
    const int i = GLOBAL_ID(0);
    if (i >= rows * cols) return;
    const int at = offset + (i / cols) * ld + i % cols;
    c[at] = beta == 0.0f ? 0.0f : beta * c[at];
}

// In place: x [n] ← x ⊙ mask / (1 − p), mask from (seed, element index) (DropoutMask.keep).
KERNEL void dropout(GLOBAL float* x, const int n, const ulong seed, const uint threshold, const float keep_scale) {
    const int i = GLOBAL_ID(0);
    if (i >= n) return;
    x[i] = dropout_keep(seed, (ulong)i, threshold) ? x[i] * keep_scale : 0.0f;
}

// x [rows, d] += bias [d] on every row; n = rows · d.
KERNEL void add_bias(GLOBAL float* x, GLOBAL const float* bias, const int n, const int d) {
    const int i = GLOBAL_ID(0);
    if (i < n) x[i] += bias[i % d];
}

// Backward of add_bias, stage 1. partial [chunks, d]: column sums over fixed chunks of chunk_rows rows,
// in row order. One work-item per (chunk, column); the chunking depends only on the shape, so the
// result is the same bits every run.
KERNEL void sum_rows_partial(GLOBAL const float* y, GLOBAL float* partial,
                             const int rows, const int d, const int chunk_rows, const int chunks) {
    const int i = GLOBAL_ID(0);
    if (i >= chunks * d) return;
    const int c = i % d, chunk = i / d;
    const int r1 = min(rows, (chunk + 1) * chunk_rows);
    float s = 0.0f;
    for (int r = chunk * chunk_rows; r < r1; r++) s += y[r * d + c];
    partial[i] = s;
}

// Stage 2. dbias [d] += Σ_chunk partial [chunks, d], chunks in order.
KERNEL void sum_rows_final(GLOBAL const float* partial, GLOBAL float* dbias, const int d, const int chunks) {
    const int c = GLOBAL_ID(0);
    if (c >= d) return;
    float s = 0.0f;
    for (int k = 0; k < chunks; k++) s += partial[k * d + c];
    dbias[c] += s;
}
