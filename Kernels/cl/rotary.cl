// Rotary time embedding, in place on a strided column view. Its backward is the inverse rotation.

// x: element (r, c) of the view at offset + r·ld + c, columns [heads · head_dim]. Pair (2p, 2p+1),
// p < pairs, of every head is rotated by the angle of cos, sin [rows, pairs]; sign = −1 inverts.
// One work-item per (row, head, pair).
KERNEL void rotary(GLOBAL float* x, const int offset, const int ld,
                   GLOBAL const float* cosv, GLOBAL const float* sinv,
                   const int rows, const int heads, const int head_dim, const int pairs, const float sign) {
    const int i = GLOBAL_ID(0);
    if (i >= rows * heads * pairs) return;
    const int p = i % pairs, h = (i / pairs) % heads, r = i / (pairs * heads);
    GLOBAL float* v = x + offset + r * ld + h * head_dim + 2 * p;
    const float c = cosv[r * pairs + p], s = sign * sinv[r * pairs + p];
    const float x0 = v[0], x1 = v[1];
    v[0] = x0 * c - x1 * s;
    v[1] = x1 * c + x0 * s;
}
