// Varlen attention over packed windows, forward and backward (by recomputation from the saved lse),
// as tiles (flash attention): a work-group takes ATT_BQ query rows (or, for dK/dV, ATT_BK key rows)
// of one head, one row per work-item, and walks the matching rows of the other side in tiles staged
// in local memory, with an online softmax. No query × key matrix ever reaches global memory.
// HEAD_DIM, ATT_BQ and ATT_BK come from the host (-D); each work-item keeps at most two HEAD_DIM rows
// in private memory (at HEAD_DIM = 64, more would exceed the 255 registers of a CUDA thread and spill;
// ci/cuda-compile-check.sh fails on spills here). Rows a work-item reads for itself from local memory
// are padded by one float, so the work-items of a group hit different banks.
//
// Layout: q, k, v (and dq, dk, dv) are strided views: element (row, col) at off + row·ld + col,
// head h at columns [h·HEAD_DIM, (h+1)·HEAD_DIM). out, dout [nq, heads·HEAD_DIM] dense; lse, dvec
// [nq, heads]. Window b owns query rows [qo[b], qo[b+1]) and key rows [ko[b], ko[b+1]); qo, ko [windows+1].
// A tile of rows may span windows: it walks the union of their partners and masks the rest.
//
// Dropout keeps probability (query row i, head h, key jj within the window) iff
// dropout_keep(seed, (i·heads + h) << 32 | jj): DropoutMask.attentionIndex.

#ifndef HEAD_DIM
#error "HEAD_DIM must be defined"
#endif
// Tile sizes; the host passes its own (GPUAttention.swift), these defaults serve the compile check.
#ifndef ATT_BQ
#define ATT_BQ 32
#endif
#ifndef ATT_BK
#define ATT_BK 32
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

// Where a work-item stands. Work-group = (tile, head), tiles fastest, `tile` rows per group over
// rows [0, n) of the `own` side (query rows for the forward and dQ, key rows for dK/dV). Its row is
// live when some window holds it; then `index` is its place in that window and [p0, p1) are the
// window's rows on the `other` side (empty when not live). [tile_lo, tile_hi) are the other-side
// rows of every window the tile's live rows touch: what the whole group walks.
typedef struct {
    int h, row, live, index, p0, p1, tile_lo, tile_hi;
} row_place;

FUNC row_place locate_row(GLOBAL const int* own, GLOBAL const int* other, const int windows, const int n,
                          const int tile) {
    row_place at;
    const int tiles = (n + tile - 1) / tile;
    const int group = GROUP_ID(0);
    const int t0 = (group % tiles) * tile;
    at.h = group / tiles;
    at.row = t0 + (int)LOCAL_ID(0);
    at.live = at.row < n && at.row >= own[0] && at.row < own[windows];
    const int b = at.live ? find_window(own, windows, at.row) : 0;
    at.index = at.row - own[b];
    at.p0 = other[b];
    at.p1 = at.live ? other[b + 1] : at.p0;
    const int first = max(t0, own[0]);
    const int last = min(min(t0 + tile, n), own[windows]) - 1;
    at.tile_lo = first > last ? 0 : other[find_window(own, windows, first)];
    at.tile_hi = first > last ? 0 : other[find_window(own, windows, last) + 1];
    return at;
}

// Rows [row0, row0 + n) of head h of two views into local tiles [rows][HEAD_DIM] (zeros past n),
// each element loaded by one of the group's `threads` work-items, consecutive ones reading
// consecutive columns. The caller puts a barrier after it.
FUNC void stage_rows(LOCAL float* a_tile, GLOBAL const float* a, const int a_off, const int a_ld,
                     LOCAL float* b_tile, GLOBAL const float* b, const int b_off, const int b_ld,
                     const int row0, const int n, const int rows, const int h, const int lid, const int threads) {
    for (int e = lid; e < rows * HEAD_DIM; e += threads) {
        const int r = e / HEAD_DIM, c = e % HEAD_DIM;
        a_tile[e] = r < n ? a[a_off + (row0 + r) * a_ld + h * HEAD_DIM + c] : 0.0f;
        b_tile[e] = r < n ? b[b_off + (row0 + r) * b_ld + h * HEAD_DIM + c] : 0.0f;
    }
}

// out, lse: scores, online softmax and weighted sum, ATT_BK keys at a time. Work-group = (query tile,
// head), tiles fastest; launched as ceil(nq / ATT_BQ) · heads groups of ATT_BQ. A window without keys
// gives 0 and −∞.
KERNEL void attention_forward(GLOBAL const float* q, const int q_off, const int q_ld,
                              GLOBAL const float* k, const int k_off, const int k_ld,
                              GLOBAL const float* v, const int v_off, const int v_ld,
                              GLOBAL float* out, GLOBAL float* lse,
                              GLOBAL const int* qo, GLOBAL const int* ko, const int windows,
                              const int nq, const int heads, const float scale,
                              const int use_dropout, const ulong seed, const uint threshold, const float keep_scale) {
    SHARED float ks[ATT_BK][HEAD_DIM];  // the key tile: every work-item reads the same row at once
    SHARED float vs[ATT_BK][HEAD_DIM];
    const int lid = LOCAL_ID(0);
    const row_place at = locate_row(qo, ko, windows, nq, ATT_BQ);
    const int i = at.row, h = at.h, live = at.live, k0 = at.p0, k1 = at.p1;
    const int key_lo = at.tile_lo, key_hi = at.tile_hi;

    float qr[HEAD_DIM], acc[HEAD_DIM];
    for (int c = 0; c < HEAD_DIM; c++) {
        qr[c] = live ? q[q_off + i * q_ld + h * HEAD_DIM + c] : 0.0f;
        acc[c] = 0.0f;
    }
    float m = -INFINITY, l = 0.0f;
    for (int kt = key_lo; kt < key_hi; kt += ATT_BK) {
        const int n = min(ATT_BK, key_hi - kt);
        stage_rows(&ks[0][0], k, k_off, k_ld, &vs[0][0], v, v_off, v_ld, kt, n, ATT_BK, h, lid, ATT_BQ);
        BARRIER_LOCAL();
        // This row's keys in the tile: [j_lo, j_hi) of its own window.
        const int j_lo = max(kt, k0) - kt, j_hi = min(kt + n, k1) - kt;
        if (j_lo < j_hi) {
            float s[ATT_BK];
            float mt = m;
#pragma unroll
            for (int t = 0; t < ATT_BK; t++) {
                float d = 0.0f;
                for (int c = 0; c < HEAD_DIM; c++) d += qr[c] * ks[t][c];
                s[t] = t >= j_lo && t < j_hi ? d * scale : -INFINITY;
                mt = max(mt, s[t]);
            }
            const float corr = exp(m - mt);
            l *= corr;
            for (int c = 0; c < HEAD_DIM; c++) acc[c] *= corr;
#pragma unroll
            for (int t = 0; t < ATT_BK; t++) {
                if (t < j_lo || t >= j_hi) continue;
                const float p = exp(s[t] - mt);
                l += p;
                const float pm = p * mask_scale(use_dropout, seed, threshold, 1.0f, i, h, heads, kt + t - k0);
                if (pm != 0.0f)
                    for (int c = 0; c < HEAD_DIM; c++) acc[c] += pm * vs[t][c];
            }
            m = mt;
        }
        BARRIER_LOCAL();
    }
    if (!live) return;
    const int nk = k1 - k0;
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

// dq += scale · Σ_j dS_j k_j, dS_j = P_j (m_j dOut·v_j − D): work-group = (query tile, head) as in
// the forward, walking the keys of its windows ATT_BK at a time.
KERNEL void attention_backward_dq(GLOBAL const float* q, const int q_off, const int q_ld,
                                  GLOBAL const float* k, const int k_off, const int k_ld,
                                  GLOBAL const float* v, const int v_off, const int v_ld,
                                  GLOBAL const float* dout, GLOBAL const float* lse, GLOBAL const float* dvec,
                                  GLOBAL float* dq, const int dq_off, const int dq_ld,
                                  GLOBAL const int* qo, GLOBAL const int* ko, const int windows,
                                  const int nq, const int heads, const float scale,
                                  const int use_dropout, const ulong seed, const uint threshold,
                                  const float keep_scale) {
    SHARED float ks[ATT_BK][HEAD_DIM];
    SHARED float vs[ATT_BK][HEAD_DIM];
    SHARED float qown[ATT_BQ][HEAD_DIM + 1];  // each work-item's own q and dOut rows
    SHARED float gs[ATT_BQ][HEAD_DIM + 1];
    const int lid = LOCAL_ID(0);
    const row_place at = locate_row(qo, ko, windows, nq, ATT_BQ);
    const int i = at.row, h = at.h, live = at.live, k0 = at.p0, k1 = at.p1;
    const int key_lo = at.tile_lo, key_hi = at.tile_hi;

    float acc[HEAD_DIM];
    for (int c = 0; c < HEAD_DIM; c++) {
        qown[lid][c] = live ? q[q_off + i * q_ld + h * HEAD_DIM + c] : 0.0f;
        gs[lid][c] = live ? dout[i * heads * HEAD_DIM + h * HEAD_DIM + c] : 0.0f;
        acc[c] = 0.0f;
    }
    const float L = live ? lse[i * heads + h] : 0.0f, D = live ? dvec[i * heads + h] : 0.0f;
    for (int kt = key_lo; kt < key_hi; kt += ATT_BK) {
        const int n = min(ATT_BK, key_hi - kt);
        stage_rows(&ks[0][0], k, k_off, k_ld, &vs[0][0], v, v_off, v_ld, kt, n, ATT_BK, h, lid, ATT_BQ);
        BARRIER_LOCAL();
        const int j_lo = max(kt, k0) - kt, j_hi = min(kt + n, k1) - kt;
        for (int t = j_lo; t < j_hi; t++) {
            float s = 0.0f, dp = 0.0f;
            for (int c = 0; c < HEAD_DIM; c++) {
                s += qown[lid][c] * ks[t][c];
                dp += gs[lid][c] * vs[t][c];
            }
            const float p = exp(s * scale - L);
            const float ds =
                p * (dp * mask_scale(use_dropout, seed, threshold, keep_scale, i, h, heads, kt + t - k0) - D);
            for (int c = 0; c < HEAD_DIM; c++) acc[c] += ds * ks[t][c];
        }
        BARRIER_LOCAL();
    }
    if (!live || k1 == k0) return;
    GLOBAL float* o = dq + dq_off + i * dq_ld + h * HEAD_DIM;
    for (int c = 0; c < HEAD_DIM; c++) o[c] += scale * acc[c];
}

// dk += scale · Σ_i dS_i q_i and dv += Σ_i P_i m_i dOut_i over the key's window queries: work-group =
// (key tile, head), tiles fastest, launched as ceil(nk_rows / ATT_BK) · heads groups of ATT_BK, walking
// the queries of its windows ATT_BQ at a time (rows past ko[windows] do nothing).
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
    SHARED float qs[ATT_BQ][HEAD_DIM];  // the query tile and its dOut rows, read by all at once
    SHARED float gs[ATT_BQ][HEAD_DIM];
    SHARED float ls[ATT_BQ];
    SHARED float ds_row[ATT_BQ];
    SHARED float kown[ATT_BK][HEAD_DIM + 1];  // each work-item's own key and value rows
    SHARED float vown[ATT_BK][HEAD_DIM + 1];
    const int lid = LOCAL_ID(0);
    const row_place at = locate_row(ko, qo, windows, nk_rows, ATT_BK);
    const int j = at.row, h = at.h, live = at.live, jj = at.index, q0 = at.p0, q1 = at.p1;
    const int query_lo = at.tile_lo, query_hi = at.tile_hi;

    float dka[HEAD_DIM], dva[HEAD_DIM];
    for (int c = 0; c < HEAD_DIM; c++) {
        kown[lid][c] = live ? k[k_off + j * k_ld + h * HEAD_DIM + c] : 0.0f;
        vown[lid][c] = live ? v[v_off + j * v_ld + h * HEAD_DIM + c] : 0.0f;
        dka[c] = 0.0f;
        dva[c] = 0.0f;
    }
    const int hd = heads * HEAD_DIM;
    for (int qt = query_lo; qt < query_hi; qt += ATT_BQ) {
        const int n = min(ATT_BQ, query_hi - qt);
        stage_rows(&qs[0][0], q, q_off, q_ld, &gs[0][0], dout, 0, hd, qt, n, ATT_BQ, h, lid, ATT_BK);
        for (int r = lid; r < ATT_BQ; r += ATT_BK) {
            ls[r] = r < n ? lse[(qt + r) * heads + h] : 0.0f;
            ds_row[r] = r < n ? dvec[(qt + r) * heads + h] : 0.0f;
        }
        BARRIER_LOCAL();
        // This key's queries in the tile: [r_lo, r_hi) of its own window.
        const int r_lo = max(qt, q0) - qt, r_hi = min(qt + n, q1) - qt;
        for (int r = r_lo; r < r_hi; r++) {
            float s = 0.0f, dp = 0.0f;
            for (int c = 0; c < HEAD_DIM; c++) {
                s += qs[r][c] * kown[lid][c];
                dp += gs[r][c] * vown[lid][c];
            }
            const float p = exp(s * scale - ls[r]);
            const float ms = mask_scale(use_dropout, seed, threshold, keep_scale, qt + r, h, heads, jj);
            const float pd = p * ms, dsv = p * (dp * ms - ds_row[r]);
            for (int c = 0; c < HEAD_DIM; c++) {
                dva[c] += pd * gs[r][c];
                dka[c] += dsv * qs[r][c];
            }
        }
        BARRIER_LOCAL();
    }
    if (!live || q1 == q0) return;
    GLOBAL float* ok = dk + dk_off + j * dk_ld + h * HEAD_DIM;
    GLOBAL float* ov = dv + dv_off + j * dv_ld + h * HEAD_DIM;
    for (int c = 0; c < HEAD_DIM; c++) {
        ok[c] += scale * dka[c];
        ov[c] += dva[c];
    }
}
