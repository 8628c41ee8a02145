// Varlen attention over packed windows, forward and backward (by recomputation from the saved lse).
// HEAD_DIM comes from the host (-D HEAD_DIM=64) so per-work-item rows live in private memory. The backward
// kernels keep only their accumulators there and read their own input rows from global memory: at
// HEAD_DIM=64, three or four private rows take more than the 255 registers of a CUDA thread and spill.
//
// Layout: q, k, v (and dq, dk, dv) are strided views: element (row, col) at off + row·ld + col,
// head h at columns [h·HEAD_DIM, (h+1)·HEAD_DIM). out, dout [nq, heads·HEAD_DIM] dense; lse, dvec
// [nq, heads]. Window b owns query rows [qo[b], qo[b+1]) and key rows [ko[b], ko[b+1]); qo, ko [windows+1].
// Work-items are (row, head) with the row fastest, so neighbours share a window and read the same keys.
//
// Dropout keeps probability (query row i, head h, key jj within the window) iff
// dropout_keep(seed, (i·heads + h) << 32 | jj): DropoutMask.attentionIndex.

#ifndef HEAD_DIM
#error "HEAD_DIM must be defined"
#endif

// The window holding row i: the last b with off[b] ≤ i (empty windows are skipped over).
FUNC int find_window(GLOBAL const int* off, const int windows, const int i) {
    int lo = 0, hi = windows;
    while (hi - lo > 1) {
        const int mid = (lo + hi) / 2;
        if (off[mid] <= i) lo = mid; else hi = mid;
    }
    return lo;
}

FUNC float mask_scale(const int use_dropout, const ulong seed, const uint threshold, const float keep_scale,
                      const int i, const int h, const int heads, const int jj) {
    if (!use_dropout) return 1.0f;
    const ulong index = ((ulong)(uint)(i * heads + h) << 32) | (ulong)(uint)jj;
    return dropout_keep(seed, index, threshold) ? keep_scale : 0.0f;
}

// out, lse: fused scores, online softmax and weighted sum. A window without keys gives 0 and −∞.
KERNEL void attention_forward(GLOBAL const float* q, const int q_off, const int q_ld,
                              GLOBAL const float* k, const int k_off, const int k_ld,
                              GLOBAL const float* v, const int v_off, const int v_ld,
                              GLOBAL float* out, GLOBAL float* lse,
                              GLOBAL const int* qo, GLOBAL const int* ko, const int windows,
                              const int nq, const int heads, const float scale,
                              const int use_dropout, const ulong seed, const uint threshold, const float keep_scale) {
    const int gid = GLOBAL_ID(0);
    if (gid >= nq * heads) return;
    const int i = gid % nq, h = gid / nq;
    if (i < qo[0] || i >= qo[windows]) return;
    const int b = find_window(qo, windows, i);
    const int k0 = ko[b], nk = ko[b + 1] - k0;

    float qr[HEAD_DIM], acc[HEAD_DIM];
    for (int c = 0; c < HEAD_DIM; c++) { qr[c] = q[q_off + i * q_ld + h * HEAD_DIM + c]; acc[c] = 0.0f; }
    float m = -INFINITY, l = 0.0f;
    for (int jj = 0; jj < nk; jj++) {
        GLOBAL const float* kr = k + k_off + (k0 + jj) * k_ld + h * HEAD_DIM;
        float s = 0.0f;
        for (int c = 0; c < HEAD_DIM; c++) s += qr[c] * kr[c];
        s *= scale;
        if (s > m) {
            const float corr = exp(m - s);
            l *= corr;
            for (int c = 0; c < HEAD_DIM; c++) acc[c] *= corr;
            m = s;
        }
        const float p = exp(s - m);
        l += p;
        const float pm = p * mask_scale(use_dropout, seed, threshold, 1.0f, i, h, heads, jj);
        if (pm != 0.0f) {
            GLOBAL const float* vr = v + v_off + (k0 + jj) * v_ld + h * HEAD_DIM;
            for (int c = 0; c < HEAD_DIM; c++) acc[c] += pm * vr[c];
        }
    }
    const float norm = nk > 0 ? (use_dropout ? keep_scale : 1.0f) / l : 0.0f;
    for (int c = 0; c < HEAD_DIM; c++) out[i * heads * HEAD_DIM + h * HEAD_DIM + c] = acc[c] * norm;
    lse[i * heads + h] = nk > 0 ? m + log(l) : -INFINITY;
}

// dvec [nq, heads] = dOut · out per (row, head): Σ_j P̃_j dP̃_j, with the dropout mask already in out.
KERNEL void attention_backward_dot(GLOBAL const float* dout, GLOBAL const float* out, GLOBAL float* dvec,
                                   const int nq, const int heads) {
    const int gid = GLOBAL_ID(0);
    if (gid >= nq * heads) return;
    const int base = (gid / heads) * heads * HEAD_DIM + (gid % heads) * HEAD_DIM;
    float s = 0.0f;
    for (int c = 0; c < HEAD_DIM; c++) s += dout[base + c] * out[base + c];
    dvec[gid] = s;
}

// dq += scale · Σ_j dS_j k_j, dS_j = P_j (m_j dOut·v_j − D): one work-item per (query row, head).
KERNEL void attention_backward_dq(GLOBAL const float* q, const int q_off, const int q_ld,
                                  GLOBAL const float* k, const int k_off, const int k_ld,
                                  GLOBAL const float* v, const int v_off, const int v_ld,
                                  GLOBAL const float* dout, GLOBAL const float* lse, GLOBAL const float* dvec,
                                  GLOBAL float* dq, const int dq_off, const int dq_ld,
                                  GLOBAL const int* qo, GLOBAL const int* ko, const int windows,
                                  const int nq, const int heads, const float scale,
                                  const int use_dropout, const ulong seed, const uint threshold,
                                  const float keep_scale) {
    const int gid = GLOBAL_ID(0);
    if (gid >= nq * heads) return;
    const int i = gid % nq, h = gid / nq;
    if (i < qo[0] || i >= qo[windows]) return;
    const int b = find_window(qo, windows, i);
    const int k0 = ko[b], nk = ko[b + 1] - k0;
    if (nk == 0) return;

    GLOBAL const float* qr = q + q_off + i * q_ld + h * HEAD_DIM;
    GLOBAL const float* gr = dout + i * heads * HEAD_DIM + h * HEAD_DIM;
    float acc[HEAD_DIM];
    for (int c = 0; c < HEAD_DIM; c++) acc[c] = 0.0f;
    const float L = lse[i * heads + h], D = dvec[i * heads + h];
    for (int jj = 0; jj < nk; jj++) {
        GLOBAL const float* kr = k + k_off + (k0 + jj) * k_ld + h * HEAD_DIM;
        GLOBAL const float* vr = v + v_off + (k0 + jj) * v_ld + h * HEAD_DIM;
        float s = 0.0f, dp = 0.0f;
        for (int c = 0; c < HEAD_DIM; c++) { s += qr[c] * kr[c]; dp += gr[c] * vr[c]; }
        const float p = exp(s * scale - L);
        const float ds = p * (dp * mask_scale(use_dropout, seed, threshold, keep_scale, i, h, heads, jj) - D);
        for (int c = 0; c < HEAD_DIM; c++) acc[c] += ds * kr[c];
    }
    GLOBAL float* o = dq + dq_off + i * dq_ld + h * HEAD_DIM;
    for (int c = 0; c < HEAD_DIM; c++) o[c] += scale * acc[c];
}

// dk += scale · Σ_i dS_i q_i and dv += Σ_i P_i m_i dOut_i over the key's window queries:
// one work-item per (key row, head); nk_rows bounds the launch (rows past ko[windows] do nothing).
KERNEL void attention_backward_dkv(GLOBAL const float* q, const int q_off, const int q_ld,
                                   GLOBAL const float* k, const int k_off, const int k_ld,
                                   GLOBAL const float* v, const int v_off, const int v_ld,
                                   GLOBAL const float* dout, GLOBAL const float* lse, GLOBAL const float* dvec,
                                   GLOBAL float* dk, const int dk_off, const int dk_ld,
                                   GLOBAL float* dv, const int dv_off, const int dv_ld,
                                   GLOBAL const int* qo, GLOBAL const int* ko, const int windows,
                                   const int nk_rows, const int heads, const float scale,
                                   const int use_dropout, const ulong seed, const uint threshold,
                                   const float keep_scale) {
    const int gid = GLOBAL_ID(0);
    if (gid >= nk_rows * heads) return;
    const int j = gid % nk_rows, h = gid / nk_rows;
    if (j < ko[0] || j >= ko[windows]) return;
    const int b = find_window(ko, windows, j);
    const int jj = j - ko[b], q0 = qo[b], nqw = qo[b + 1] - q0;
    if (nqw == 0) return;

    GLOBAL const float* kr = k + k_off + j * k_ld + h * HEAD_DIM;
    GLOBAL const float* vr = v + v_off + j * v_ld + h * HEAD_DIM;
    float dka[HEAD_DIM], dva[HEAD_DIM];
    for (int c = 0; c < HEAD_DIM; c++) {
        dka[c] = 0.0f;
        dva[c] = 0.0f;
    }
    const int hd = heads * HEAD_DIM;
    for (int r = 0; r < nqw; r++) {
        const int i = q0 + r;
        GLOBAL const float* qr = q + q_off + i * q_ld + h * HEAD_DIM;
        GLOBAL const float* gr = dout + i * hd + h * HEAD_DIM;
        float s = 0.0f, dp = 0.0f;
        for (int c = 0; c < HEAD_DIM; c++) { s += qr[c] * kr[c]; dp += gr[c] * vr[c]; }
        const float p = exp(s * scale - lse[i * heads + h]);
        const float ms = mask_scale(use_dropout, seed, threshold, keep_scale, i, h, heads, jj);
        const float pd = p * ms, ds = p * (dp * ms - dvec[i * heads + h]);
        for (int c = 0; c < HEAD_DIM; c++) {
            dva[c] += pd * gr[c];
            dka[c] += ds * qr[c];
        }
    }
    GLOBAL float* ok = dk + dk_off + j * dk_ld + h * HEAD_DIM;
    GLOBAL float* ov = dv + dv_off + j * dv_ld + h * HEAD_DIM;
    for (int c = 0; c < HEAD_DIM; c++) {
        ok[c] += scale * dka[c];
        ov[c] += dva[c];
    }
}
