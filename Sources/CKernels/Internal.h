// Shared by the path files: the constants of the polynomial exp, the element-wise kernels'
// source, and the three path tables.
#ifndef CKERNELS_INTERNAL_H
#define CKERNELS_INTERNAL_H

#include "CKernels.h"

// exp(t) for the sigmoid, after Cephes expf: t is clamped to [LO, HI] (so 2^n stays a normal
// float), n = round(t·log2 e) by the 1.5·2^23 trick, r = t − n·ln 2 in two fmas (ln 2 split
// into an exact head and a tail), exp(r) ≈ 1 + r + r²·P(r), then scaled by 2^n through the
// exponent bits. Every path performs exactly these operations, so all give the same bits.
#define MNL_EXP_HI 88.0f
#define MNL_EXP_LO -87.0f
#define MNL_LOG2E 1.44269504088896341f
#define MNL_ROUND_MAGIC 12582912.0f /* 1.5·2^23: adding it rounds to an integer */
#define MNL_LN2_HI 0.693359375f
#define MNL_LN2_LO -2.12194440e-4f
#define MNL_EXP_P0 1.9875691500e-4f
#define MNL_EXP_P1 1.3981999507e-3f
#define MNL_EXP_P2 8.3334519073e-3f
#define MNL_EXP_P3 4.1665795894e-2f
#define MNL_EXP_P4 1.6666665459e-1f
#define MNL_EXP_P5 5.0000001201e-1f

/// Asks for row r's entries (columns and values) to be brought into the cache. A batch's rows
/// are scattered over the whole data set (tens of MB), so without this each sample's entries
/// come from DRAM just as the kernel needs them: the loads of weight rows wait on the columns.
static inline void mnl_prefetch_row(mnl_csr x, int r) {
    const int e0 = x.row_start[r], e1 = x.row_start[r + 1];
    const char *c = (const char *)(x.column + e0), *c1 = (const char *)(x.column + e1);
    const char *v = (const char *)(x.value + e0), *v1 = (const char *)(x.value + e1);
    for (; c < c1; c += 64) __builtin_prefetch(c);
    for (; v < v1; v += 64) __builtin_prefetch(v);
}

/// How many samples ahead the sparse forward kernels prefetch their rows (one pair).
#define MNL_PREFETCH_AHEAD 2

extern const mnl_kernels mnl_kernels_scalar;
#if defined(__x86_64__)
extern const mnl_kernels mnl_kernels_avx2;
extern const mnl_kernels mnl_kernels_avx512;
#endif

#endif
