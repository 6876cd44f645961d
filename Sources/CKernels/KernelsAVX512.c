// The AVX-512 path: the scalar chains of Kernels.c, 16 outputs per zmm register, with the
// last vector of a row masked (100 = 6·16 + 4). Compiled for AVX-512F only inside this file
// (the attribute pragma below), and used only when the CPU reports it, so the package itself
// needs no -march flag.
//
// B = batch size, I = inputs, O = outputs.
#if defined(__x86_64__)

#include <immintrin.h>
#include <stddef.h>

#include "Internal.h"

#pragma clang attribute push(__attribute__((target("avx512f,avx2,fma"))), apply_to = function)

#define ALWAYS_INLINE static inline __attribute__((always_inline))

// Widest row block the sparse kernels keep in registers: 16 zmm = 256 outputs.
#define SPARSE_NV 16
// Dense tile: GEMM_MR rows × GEMM_NV zmm of outputs in registers (16 accumulators).
#define GEMM_MR 4
#define GEMM_NV 4

ALWAYS_INLINE __mmask16 tail_mask(int n) { return n >= 16 ? 0xFFFF : (__mmask16)((1u << n) - 1); }

// Loads/stores vector v of a block of NV, masking the last one.
ALWAYS_INLINE __m512 load_v(const float *p, int v, int NV, __mmask16 last) {
    return v < NV - 1 ? _mm512_loadu_ps(p + 16 * v) : _mm512_maskz_loadu_ps(last, p + 16 * v);
}

ALWAYS_INLINE void store_v(float *p, int v, int NV, __mmask16 last, __m512 x) {
    if (v < NV - 1) _mm512_storeu_ps(p + 16 * v, x);
    else _mm512_mask_storeu_ps(p + 16 * v, last, x);
}

// Calls body(NV, …) with NV a compile-time constant 1…16, so that each case unrolls fully and
// its accumulators live in registers.
#define SWITCH_NV_16(nv, body, ...)                                                             \
    switch (nv) {                                                                                \
    case 1: body(1, __VA_ARGS__); break;                                                         \
    case 2: body(2, __VA_ARGS__); break;                                                         \
    case 3: body(3, __VA_ARGS__); break;                                                         \
    case 4: body(4, __VA_ARGS__); break;                                                         \
    case 5: body(5, __VA_ARGS__); break;                                                         \
    case 6: body(6, __VA_ARGS__); break;                                                         \
    case 7: body(7, __VA_ARGS__); break;                                                         \
    case 8: body(8, __VA_ARGS__); break;                                                         \
    case 9: body(9, __VA_ARGS__); break;                                                         \
    case 10: body(10, __VA_ARGS__); break;                                                       \
    case 11: body(11, __VA_ARGS__); break;                                                       \
    case 12: body(12, __VA_ARGS__); break;                                                       \
    case 13: body(13, __VA_ARGS__); break;                                                       \
    case 14: body(14, __VA_ARGS__); break;                                                       \
    case 15: body(15, __VA_ARGS__); break;                                                       \
    default: body(16, __VA_ARGS__); break;                                                       \
    }

// MARK: - Sparse first layer

// Columns n0 ..< n0 + 16·NV of one sample's row of out: its accumulators stay in registers
// while its nonzero pixels each broadcast their value against a row of weight.
ALWAYS_INLINE void sparse_forward_one(const int NV, float *out, mnl_csr x, int r,
                                      const float *weight, const float *bias, int O,
                                      __mmask16 last) {
    __m512 acc[SPARSE_NV];  // the first NV are used
    for (int v = 0; v < NV; v++) acc[v] = load_v(bias, v, NV, last);
    const int e1 = x.row_start[r + 1];
    for (int e = x.row_start[r]; e < e1; e++) {
        const __m512 xv = _mm512_set1_ps(x.value[e]);
        const float *w = weight + (size_t)x.column[e] * O;
        for (int v = 0; v < NV; v++) acc[v] = _mm512_fmadd_ps(xv, load_v(w, v, NV, last), acc[v]);
    }
    for (int v = 0; v < NV; v++) store_v(out, v, NV, last, acc[v]);
}

// The same for two samples at once, walking the union of their (ascending) columns: each row
// of weight is loaded once for both, and a sample without that pixel masks its FMAs off, which
// leaves its accumulators untouched. So each sample's chain is exactly the one above, while
// the loads (the bottleneck: W1 lives in L2) shrink by the pixels the two samples share.
ALWAYS_INLINE void sparse_forward_pair(const int NV, float *out_a, float *out_b, mnl_csr x,
                                       int ra, int rb, const float *weight, const float *bias,
                                       int O, __mmask16 last) {
    __m512 a[SPARSE_NV / 2], b[SPARSE_NV / 2];  // the first NV are used
    for (int v = 0; v < NV; v++) a[v] = b[v] = load_v(bias, v, NV, last);
    int ia = x.row_start[ra], ib = x.row_start[rb];
    const int ea = x.row_start[ra + 1], eb = x.row_start[rb + 1];
    while (ia < ea && ib < eb) {
        const int ca = x.column[ia], cb = x.column[ib];
        const int c = ca < cb ? ca : cb;
        const __mmask16 ka = ca == c ? 0xFFFF : 0, kb = cb == c ? 0xFFFF : 0;
        const __m512 xa = _mm512_set1_ps(x.value[ia]), xb = _mm512_set1_ps(x.value[ib]);
        const float *w = weight + (size_t)c * O;
        for (int v = 0; v < NV; v++) {
            const __m512 wv = load_v(w, v, NV, last);
            a[v] = _mm512_mask3_fmadd_ps(xa, wv, a[v], ka);
            b[v] = _mm512_mask3_fmadd_ps(xb, wv, b[v], kb);
        }
        ia += ca == c;
        ib += cb == c;
    }
    for (; ia < ea; ia++) {
        const __m512 xv = _mm512_set1_ps(x.value[ia]);
        const float *w = weight + (size_t)x.column[ia] * O;
        for (int v = 0; v < NV; v++) a[v] = _mm512_fmadd_ps(xv, load_v(w, v, NV, last), a[v]);
    }
    for (; ib < eb; ib++) {
        const __m512 xv = _mm512_set1_ps(x.value[ib]);
        const float *w = weight + (size_t)x.column[ib] * O;
        for (int v = 0; v < NV; v++) b[v] = _mm512_fmadd_ps(xv, load_v(w, v, NV, last), b[v]);
    }
    for (int v = 0; v < NV; v++) {
        store_v(out_a, v, NV, last, a[v]);
        store_v(out_b, v, NV, last, b[v]);
    }
}

// Columns n0 ..< n0 + 16·NV of out (B, O): samples in pairs while both accumulator sets fit
// in registers (NV ≤ 8, 128 outputs), else one at a time.
ALWAYS_INLINE void sparse_forward_block(const int NV, float *out, mnl_csr x, const int32_t *rows,
                                        int B, const float *weight, const float *bias, int O,
                                        __mmask16 last) {
    int b = 0;
    for (int p = 0; p < MNL_PREFETCH_AHEAD && p < B; p++) mnl_prefetch_row(x, rows[p]);
    if (NV <= SPARSE_NV / 2)
        for (; b + 1 < B; b += 2) {
            for (int p = b + MNL_PREFETCH_AHEAD; p < b + MNL_PREFETCH_AHEAD + 2 && p < B; p++)
                mnl_prefetch_row(x, rows[p]);
            sparse_forward_pair(NV < SPARSE_NV / 2 ? NV : SPARSE_NV / 2, out + (size_t)b * O,
                                out + (size_t)(b + 1) * O, x, rows[b], rows[b + 1], weight, bias,
                                O, last);
        }
    for (; b < B; b++) sparse_forward_one(NV, out + (size_t)b * O, x, rows[b], weight, bias, O, last);
}

static void sparse_linear_forward(float *out, mnl_csr x, const int32_t *rows, int B,
                                  const float *weight, const float *bias, int O) {
    for (int n0 = 0; n0 < O; n0 += 16 * SPARSE_NV) {
        const int width = O - n0 < 16 * SPARSE_NV ? O - n0 : 16 * SPARSE_NV;
        const int nv = (width + 15) / 16;
        const __mmask16 last = tail_mask(width - 16 * (nv - 1));
        SWITCH_NV_16(nv, sparse_forward_block, out + n0, x, rows, B, weight + n0, bias + n0, O,
                     last)
    }
}

// Rows c and c + 1 of dweight (NV vectors of outputs each) stay in registers while the union of
// the two columns' samples is walked in ascending order: each sample's row of dout is loaded
// once for both, and a column without that sample masks its FMAs off (masked lanes are left
// untouched), so each row's chain is exactly the one of a column on its own. Neighbouring
// pixels are mostly lit together, so this loads ~40% fewer dout rows (dout lives in L2) for
// ~17% more FMAs.
ALWAYS_INLINE void sparse_backward_pair(const int NV, float *dw_a, float *dw_b, mnl_columns x,
                                        int c, const float *dout, int O, __mmask16 last) {
    __m512 a[SPARSE_NV / 2], b[SPARSE_NV / 2];  // the first NV are used
    for (int v = 0; v < NV; v++) a[v] = b[v] = _mm512_setzero_ps();
    const uint8_t *mask = x.mask + c;
    const float *value = x.value + (size_t)c * MNL_GROUP;
    for (int g = 0; g < x.groups; g++) {
        const unsigned ma = mask[0], mb = mask[1];
        const float *dg = dout + (size_t)g * MNL_GROUP * O;
        for (unsigned u = ma | mb; u != 0; u &= u - 1) {
            const int k = __builtin_ctz(u);
            const __mmask16 ka = (__mmask16)(0u - (ma >> k & 1)), kb = (__mmask16)(0u - (mb >> k & 1));
            const __m512 xa = _mm512_set1_ps(value[k]), xb = _mm512_set1_ps(value[MNL_GROUP + k]);
            const float *d = dg + (size_t)k * O;
            for (int v = 0; v < NV; v++) {
                const __m512 dv = load_v(d, v, NV, last);
                a[v] = _mm512_mask3_fmadd_ps(xa, dv, a[v], ka);
                b[v] = _mm512_mask3_fmadd_ps(xb, dv, b[v], kb);
            }
        }
        mask += x.columns;
        value += (size_t)x.columns * MNL_GROUP;
    }
    for (int v = 0; v < NV; v++) {
        store_v(dw_a, v, NV, last, a[v]);
        store_v(dw_b, v, NV, last, b[v]);
    }
}

// Row c of dweight alone: its samples each broadcast their value against their row of dout.
ALWAYS_INLINE void sparse_backward_one(const int NV, float *dw, mnl_columns x, int c,
                                       const float *dout, int O, __mmask16 last) {
    __m512 acc[SPARSE_NV];  // the first NV are used
    for (int v = 0; v < NV; v++) acc[v] = _mm512_setzero_ps();
    const uint8_t *mask = x.mask + c;
    const float *value = x.value + (size_t)c * MNL_GROUP;
    for (int g = 0; g < x.groups; g++) {
        const float *dg = dout + (size_t)g * MNL_GROUP * O;
        for (unsigned u = *mask; u != 0; u &= u - 1) {
            const int k = __builtin_ctz(u);
            const __m512 xv = _mm512_set1_ps(value[k]);
            const float *d = dg + (size_t)k * O;
            for (int v = 0; v < NV; v++) acc[v] = _mm512_fmadd_ps(xv, load_v(d, v, NV, last), acc[v]);
        }
        mask += x.columns;
        value += (size_t)x.columns * MNL_GROUP;
    }
    for (int v = 0; v < NV; v++) store_v(dw, v, NV, last, acc[v]);
}

// Outputs n0 ..< n0 + 16·NV of rows [c0, c1) of dweight: columns in pairs while both
// accumulator sets fit in registers (NV ≤ 8, 128 outputs), else one at a time.
ALWAYS_INLINE void sparse_backward_block(const int NV, float *dweight, mnl_columns x, int c0,
                                         int c1, const float *dout, int O, __mmask16 last) {
    int c = c0;
    if (NV <= SPARSE_NV / 2)
        for (; c + 1 < c1; c += 2)
            sparse_backward_pair(NV < SPARSE_NV / 2 ? NV : SPARSE_NV / 2, dweight + (size_t)c * O,
                                 dweight + (size_t)(c + 1) * O, x, c, dout, O, last);
    for (; c < c1; c++) sparse_backward_one(NV, dweight + (size_t)c * O, x, c, dout, O, last);
}

static void sparse_linear_backward_weight(float *dweight, mnl_columns x, const float *dout, int O,
                                          int c0, int c1) {
    if (c1 <= c0) return;
    // Blocks of 128 outputs, so that two rows' accumulators fit in registers.
    for (int n0 = 0; n0 < O; n0 += 8 * SPARSE_NV) {
        const int width = O - n0 < 8 * SPARSE_NV ? O - n0 : 8 * SPARSE_NV;
        const int nv = (width + 15) / 16;
        const __mmask16 last = tail_mask(width - 16 * (nv - 1));
        SWITCH_NV_16(nv, sparse_backward_block, dweight + n0, x, c0, c1, dout + n0, O, last)
    }
}

// MARK: - Dense layers

enum { INIT_ZERO, INIT_BIAS };

// C[m, n] for m < MR and the NV vectors of n = init + Σ_k A[m·am + k·ak] · Bm[k·ldb + n],
// k ascending: per k, NV vectors of Bm's row k meet MR broadcasts of A.
ALWAYS_INLINE void gemm_tile(const int MR, const int NV, float *C, size_t ldc, const float *A,
                             size_t am, size_t ak, const float *Bm, size_t ldb, int K, int init,
                             const float *bias, __mmask16 last) {
    __m512 acc[GEMM_MR][GEMM_NV];  // the first MR × NV are used
    for (int m = 0; m < MR; m++)
        for (int v = 0; v < NV; v++)
            acc[m][v] = init == INIT_ZERO ? _mm512_setzero_ps() : load_v(bias, v, NV, last);
    for (int k = 0; k < K; k++) {
        __m512 bv[GEMM_NV];
        for (int v = 0; v < NV; v++) bv[v] = load_v(Bm + k * ldb, v, NV, last);
        for (int m = 0; m < MR; m++) {
            const __m512 a = _mm512_set1_ps(A[m * am + k * ak]);
            for (int v = 0; v < NV; v++) acc[m][v] = _mm512_fmadd_ps(a, bv[v], acc[m][v]);
        }
    }
    for (int m = 0; m < MR; m++)
        for (int v = 0; v < NV; v++) store_v(C + m * ldc, v, NV, last, acc[m][v]);
}

#define GEMM_TILE_FULL(NV, ...) gemm_tile(GEMM_MR, NV, __VA_ARGS__)
#define GEMM_TILE_ONE(NV, ...) gemm_tile(1, NV, __VA_ARGS__)
#define SWITCH_NV_4(nv, body, ...)                                                              \
    switch (nv) {                                                                                \
    case 1: body(1, __VA_ARGS__); break;                                                         \
    case 2: body(2, __VA_ARGS__); break;                                                         \
    case 3: body(3, __VA_ARGS__); break;                                                         \
    default: body(4, __VA_ARGS__); break;                                                        \
    }

// C (M, N) with row stride ldc, tile by tile.
static void gemm(float *C, size_t ldc, const float *A, size_t am, size_t ak, const float *Bm,
                 size_t ldb, int M, int N, int K, int init, const float *bias) {
    for (int n0 = 0; n0 < N; n0 += 16 * GEMM_NV) {
        const int width = N - n0 < 16 * GEMM_NV ? N - n0 : 16 * GEMM_NV;
        const int nv = (width + 15) / 16;
        const __mmask16 last = tail_mask(width - 16 * (nv - 1));
        const float *bias_n = bias != NULL ? bias + n0 : NULL;
        int m = 0;
        for (; m + GEMM_MR <= M; m += GEMM_MR)
            SWITCH_NV_4(nv, GEMM_TILE_FULL, C + m * ldc + n0, ldc, A + m * am, am, ak, Bm + n0,
                        ldb, K, init, bias_n, last)
        for (; m < M; m++)
            SWITCH_NV_4(nv, GEMM_TILE_ONE, C + m * ldc + n0, ldc, A + m * am, am, ak, Bm + n0,
                        ldb, K, init, bias_n, last)
    }
}

static void linear_forward(float *out, const float *inp, const float *weight, const float *bias,
                           int B, int I, int O) {
    gemm(out, O, inp, I, 1, weight, O, B, O, I, INIT_BIAS, bias);
}

static void linear_backward_weight(float *dweight, const float *inp, const float *dout, int B,
                                   int I, int O, int i0, int i1) {
    gemm(dweight + (size_t)i0 * O, O, inp + i0, 1, I, dout, O, i1 - i0, O, B, INIT_ZERO, NULL);
}

static void linear_backward_input(float *dinp, const float *dout, const float *weight_t, int B,
                                  int I, int O) {
    gemm(dinp, I, dout, O, 1, weight_t, I, B, I, O, INIT_ZERO, NULL);
}

// MARK: - Sigmoid

// Kernels.c's `sigmoid`, 16 lanes at a time.
static void sigmoid_forward(float *x, int n) {
    const __m512 hi = _mm512_set1_ps(MNL_EXP_HI), lo = _mm512_set1_ps(MNL_EXP_LO);
    const __m512 log2e = _mm512_set1_ps(MNL_LOG2E), magic = _mm512_set1_ps(MNL_ROUND_MAGIC);
    const __m512i magic_bits = _mm512_castps_si512(magic);
    const __m512 ln2_hi = _mm512_set1_ps(-MNL_LN2_HI), ln2_lo = _mm512_set1_ps(-MNL_LN2_LO);
    const __m512 one = _mm512_set1_ps(1.0f);
    const __m512i sign = _mm512_set1_epi32((int)0x80000000u);
    for (int k = 0; k < n; k += 16) {
        const __mmask16 mask = tail_mask(n - k);
        const __m512 z = _mm512_maskz_loadu_ps(mask, x + k);
        __m512 t = _mm512_castsi512_ps(_mm512_xor_si512(_mm512_castps_si512(z), sign));
        t = _mm512_min_ps(hi, t);
        t = _mm512_max_ps(lo, t);
        __m512 fn = _mm512_add_ps(_mm512_mul_ps(t, log2e), magic);
        const __m512i nn = _mm512_sub_epi32(_mm512_castps_si512(fn), magic_bits);
        fn = _mm512_sub_ps(fn, magic);
        __m512 r = _mm512_fmadd_ps(fn, ln2_hi, t);
        r = _mm512_fmadd_ps(fn, ln2_lo, r);
        __m512 y = _mm512_set1_ps(MNL_EXP_P0);
        y = _mm512_fmadd_ps(y, r, _mm512_set1_ps(MNL_EXP_P1));
        y = _mm512_fmadd_ps(y, r, _mm512_set1_ps(MNL_EXP_P2));
        y = _mm512_fmadd_ps(y, r, _mm512_set1_ps(MNL_EXP_P3));
        y = _mm512_fmadd_ps(y, r, _mm512_set1_ps(MNL_EXP_P4));
        y = _mm512_fmadd_ps(y, r, _mm512_set1_ps(MNL_EXP_P5));
        y = _mm512_fmadd_ps(y, _mm512_mul_ps(r, r), r);
        y = _mm512_add_ps(y, one);
        const __m512 scale =
            _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_add_epi32(nn, _mm512_set1_epi32(127)), 23));
        const __m512 e = _mm512_mul_ps(y, scale);
        _mm512_mask_storeu_ps(x + k, mask, _mm512_div_ps(one, _mm512_add_ps(one, e)));
    }
}

#define MNL_NAME(x) x##_avx512
#include "Elementwise.inc"

#pragma clang attribute pop

const mnl_kernels mnl_kernels_avx512 = {
    .name = "avx512",
    .sparse_linear_forward = sparse_linear_forward,
    .sparse_linear_backward_weight = sparse_linear_backward_weight,
    .linear_forward = linear_forward,
    .linear_backward_weight = linear_backward_weight,
    .linear_backward_input = linear_backward_input,
    .sigmoid_forward = sigmoid_forward,
    .sigmoid_backward = sigmoid_backward_avx512,
    .bias_backward = bias_backward_avx512,
    .sgd_update = sgd_update_avx512,
    .sgd_update_decayed = sgd_update_decayed_avx512,
};

#endif
