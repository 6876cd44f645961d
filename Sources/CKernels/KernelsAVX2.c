// The AVX2+FMA path: the scalar chains of Kernels.c, 8 outputs per ymm register, with the
// last vector of a row loaded and stored through a mask (100 = 12·8 + 4). Compiled for AVX2
// only inside this file (the attribute pragma below), and used only when the CPU reports it,
// so the package itself needs no -march flag. Mirrors KernelsAVX512.c.
//
// B = batch size, I = inputs, O = outputs.
#if defined(__x86_64__)

#include <immintrin.h>
#include <stddef.h>

#include "Internal.h"

#pragma clang attribute push(__attribute__((target("avx2,fma"))), apply_to = function)

#define ALWAYS_INLINE static inline __attribute__((always_inline))

// Widest row block the sparse kernels keep in registers: 13 ymm = 104 outputs (of 16 ymm).
#define SPARSE_NV 13
// Dense tile: GEMM_MR rows × GEMM_NV ymm of outputs in registers (12 accumulators).
#define GEMM_MR 6
#define GEMM_NV 2

typedef __m256i mask8;

ALWAYS_INLINE mask8 tail_mask(int n) {
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

// Loads/stores vector v of a block of NV, masking the last one.
ALWAYS_INLINE __m256 load_v(const float *p, int v, int NV, mask8 last) {
    return v < NV - 1 ? _mm256_loadu_ps(p + 8 * v) : _mm256_maskload_ps(p + 8 * v, last);
}

ALWAYS_INLINE void store_v(float *p, int v, int NV, mask8 last, __m256 x) {
    if (v < NV - 1) _mm256_storeu_ps(p + 8 * v, x);
    else _mm256_maskstore_ps(p + 8 * v, last, x);
}

// Calls body(NV, …) with NV a compile-time constant 1…13, so that each case unrolls fully and
// its accumulators live in registers.
#define SWITCH_NV_13(nv, body, ...)                                                             \
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
    default: body(13, __VA_ARGS__); break;                                                       \
    }

// MARK: - Sparse first layer

// Columns n0 ..< n0 + 8·NV of out (B, O): a sample's accumulators stay in registers while
// its nonzero pixels each broadcast their value against a row of weight.
ALWAYS_INLINE void sparse_forward_block(const int NV, float *out, mnl_csr x, const int32_t *rows,
                                        int B, const float *weight, const float *bias, int O,
                                        mask8 last) {
    for (int p = 0; p < MNL_PREFETCH_AHEAD && p < B; p++) mnl_prefetch_row(x, rows[p]);
    for (int b = 0; b < B; b++) {
        if (b + MNL_PREFETCH_AHEAD < B) mnl_prefetch_row(x, rows[b + MNL_PREFETCH_AHEAD]);
        __m256 acc[SPARSE_NV];  // the first NV are used
        for (int v = 0; v < NV; v++) acc[v] = load_v(bias, v, NV, last);
        const int r = rows[b];
        const int e1 = x.row_start[r + 1];
        for (int e = x.row_start[r]; e < e1; e++) {
            const __m256 xv = _mm256_set1_ps(x.value[e]);
            const float *w = weight + (size_t)x.column[e] * O;
            for (int v = 0; v < NV; v++) acc[v] = _mm256_fmadd_ps(xv, load_v(w, v, NV, last), acc[v]);
        }
        float *o = out + (size_t)b * O;
        for (int v = 0; v < NV; v++) store_v(o, v, NV, last, acc[v]);
    }
}

static void sparse_linear_forward(float *out, mnl_csr x, const int32_t *rows, int B,
                                  const float *weight, const float *bias, int O) {
    for (int n0 = 0; n0 < O; n0 += 8 * SPARSE_NV) {
        const int width = O - n0 < 8 * SPARSE_NV ? O - n0 : 8 * SPARSE_NV;
        const int nv = (width + 7) / 8;
        const mask8 last = tail_mask(width - 8 * (nv - 1));
        SWITCH_NV_13(nv, sparse_forward_block, out + n0, x, rows, B, weight + n0, bias + n0, O,
                     last)
    }
}

// Row c of dweight (its NV vectors of columns) stays in registers while column c's samples,
// in ascending order, each broadcast their value against their row of dout.
ALWAYS_INLINE void sparse_backward_block(const int NV, float *dweight, mnl_columns x, int c0,
                                         int c1, const float *dout, int O, mask8 last) {
    for (int c = c0; c < c1; c++) {
        __m256 acc[SPARSE_NV];  // the first NV are used
        for (int v = 0; v < NV; v++) acc[v] = _mm256_setzero_ps();
        const uint8_t *mask = x.mask + c;
        const float *value = x.value + (size_t)c * MNL_GROUP;
        for (int g = 0; g < x.groups; g++) {
            const float *dg = dout + (size_t)g * MNL_GROUP * O;
            for (unsigned u = *mask; u != 0; u &= u - 1) {
                const int k = __builtin_ctz(u);
                const __m256 xv = _mm256_set1_ps(value[k]);
                const float *d = dg + (size_t)k * O;
                for (int v = 0; v < NV; v++)
                    acc[v] = _mm256_fmadd_ps(xv, load_v(d, v, NV, last), acc[v]);
            }
            mask += x.columns;
            value += (size_t)x.columns * MNL_GROUP;
        }
        for (int v = 0; v < NV; v++) store_v(dweight + (size_t)c * O, v, NV, last, acc[v]);
    }
}

static void sparse_linear_backward_weight(float *dweight, mnl_columns x, const float *dout, int O,
                                          int c0, int c1) {
    if (c1 <= c0) return;
    for (int n0 = 0; n0 < O; n0 += 8 * SPARSE_NV) {
        const int width = O - n0 < 8 * SPARSE_NV ? O - n0 : 8 * SPARSE_NV;
        const int nv = (width + 7) / 8;
        const mask8 last = tail_mask(width - 8 * (nv - 1));
        SWITCH_NV_13(nv, sparse_backward_block, dweight + n0, x, c0, c1, dout + n0, O, last)
    }
}

// MARK: - Dense layers

enum { INIT_ZERO, INIT_BIAS };

// C[m, n] for m < MR and the NV vectors of n = init + Σ_k A[m·am + k·ak] · Bm[k·ldb + n],
// k ascending: per k, NV vectors of Bm's row k meet MR broadcasts of A.
ALWAYS_INLINE void gemm_tile(const int MR, const int NV, float *C, size_t ldc, const float *A,
                             size_t am, size_t ak, const float *Bm, size_t ldb, int K, int init,
                             const float *bias, mask8 last) {
    __m256 acc[GEMM_MR][GEMM_NV];  // the first MR × NV are used
    for (int m = 0; m < MR; m++)
        for (int v = 0; v < NV; v++)
            acc[m][v] = init == INIT_ZERO ? _mm256_setzero_ps() : load_v(bias, v, NV, last);
    for (int k = 0; k < K; k++) {
        __m256 bv[GEMM_NV];
        for (int v = 0; v < NV; v++) bv[v] = load_v(Bm + k * ldb, v, NV, last);
        for (int m = 0; m < MR; m++) {
            const __m256 a = _mm256_set1_ps(A[m * am + k * ak]);
            for (int v = 0; v < NV; v++) acc[m][v] = _mm256_fmadd_ps(a, bv[v], acc[m][v]);
        }
    }
    for (int m = 0; m < MR; m++)
        for (int v = 0; v < NV; v++) store_v(C + m * ldc, v, NV, last, acc[m][v]);
}

#define GEMM_TILE_FULL(NV, ...) gemm_tile(GEMM_MR, NV, __VA_ARGS__)
#define GEMM_TILE_ONE(NV, ...) gemm_tile(1, NV, __VA_ARGS__)
#define SWITCH_NV_2(nv, body, ...)                                                              \
    switch (nv) {                                                                                \
    case 1: body(1, __VA_ARGS__); break;                                                         \
    default: body(2, __VA_ARGS__); break;                                                        \
    }

// C (M, N) with row stride ldc, tile by tile.
static void gemm(float *C, size_t ldc, const float *A, size_t am, size_t ak, const float *Bm,
                 size_t ldb, int M, int N, int K, int init, const float *bias) {
    for (int n0 = 0; n0 < N; n0 += 8 * GEMM_NV) {
        const int width = N - n0 < 8 * GEMM_NV ? N - n0 : 8 * GEMM_NV;
        const int nv = (width + 7) / 8;
        const mask8 last = tail_mask(width - 8 * (nv - 1));
        const float *bias_n = bias != NULL ? bias + n0 : NULL;
        int m = 0;
        for (; m + GEMM_MR <= M; m += GEMM_MR)
            SWITCH_NV_2(nv, GEMM_TILE_FULL, C + m * ldc + n0, ldc, A + m * am, am, ak, Bm + n0,
                        ldb, K, init, bias_n, last)
        for (; m < M; m++)
            SWITCH_NV_2(nv, GEMM_TILE_ONE, C + m * ldc + n0, ldc, A + m * am, am, ak, Bm + n0,
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

// Kernels.c's `sigmoid`, 8 lanes at a time.
static void sigmoid_forward(float *x, int n) {
    const __m256 hi = _mm256_set1_ps(MNL_EXP_HI), lo = _mm256_set1_ps(MNL_EXP_LO);
    const __m256 log2e = _mm256_set1_ps(MNL_LOG2E), magic = _mm256_set1_ps(MNL_ROUND_MAGIC);
    const __m256i magic_bits = _mm256_castps_si256(magic);
    const __m256 ln2_hi = _mm256_set1_ps(-MNL_LN2_HI), ln2_lo = _mm256_set1_ps(-MNL_LN2_LO);
    const __m256 one = _mm256_set1_ps(1.0f);
    const __m256i sign = _mm256_set1_epi32((int)0x80000000u);
    for (int k = 0; k < n; k += 8) {
        const mask8 mask = tail_mask(n - k);
        const __m256 z = _mm256_maskload_ps(x + k, mask);
        __m256 t = _mm256_castsi256_ps(_mm256_xor_si256(_mm256_castps_si256(z), sign));
        t = _mm256_min_ps(hi, t);
        t = _mm256_max_ps(lo, t);
        __m256 fn = _mm256_add_ps(_mm256_mul_ps(t, log2e), magic);
        const __m256i nn = _mm256_sub_epi32(_mm256_castps_si256(fn), magic_bits);
        fn = _mm256_sub_ps(fn, magic);
        __m256 r = _mm256_fmadd_ps(fn, ln2_hi, t);
        r = _mm256_fmadd_ps(fn, ln2_lo, r);
        __m256 y = _mm256_set1_ps(MNL_EXP_P0);
        y = _mm256_fmadd_ps(y, r, _mm256_set1_ps(MNL_EXP_P1));
        y = _mm256_fmadd_ps(y, r, _mm256_set1_ps(MNL_EXP_P2));
        y = _mm256_fmadd_ps(y, r, _mm256_set1_ps(MNL_EXP_P3));
        y = _mm256_fmadd_ps(y, r, _mm256_set1_ps(MNL_EXP_P4));
        y = _mm256_fmadd_ps(y, r, _mm256_set1_ps(MNL_EXP_P5));
        y = _mm256_fmadd_ps(y, _mm256_mul_ps(r, r), r);
        y = _mm256_add_ps(y, one);
        const __m256 scale =
            _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(nn, _mm256_set1_epi32(127)), 23));
        const __m256 e = _mm256_mul_ps(y, scale);
        _mm256_maskstore_ps(x + k, mask, _mm256_div_ps(one, _mm256_add_ps(one, e)));
    }
}

#define MNL_NAME(x) x##_avx2
#include "Elementwise.inc"

#pragma clang attribute pop

const mnl_kernels mnl_kernels_avx2 = {
    .name = "avx2",
    .sparse_linear_forward = sparse_linear_forward,
    .sparse_linear_backward_weight = sparse_linear_backward_weight,
    .linear_forward = linear_forward,
    .linear_backward_weight = linear_backward_weight,
    .linear_backward_input = linear_backward_input,
    .sigmoid_forward = sigmoid_forward,
    .sigmoid_backward = sigmoid_backward_avx2,
    .bias_backward = bias_backward_avx2,
    .sgd_update = sgd_update_avx2,
    .sgd_update_decayed = sgd_update_decayed_avx2,
};

#endif
