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

/// First entry of e0 ..< e1 whose column is ≥ c (columns ascend within a row).
static inline int mnl_lower_bound(const uint16_t *column, int e0, int e1, int c) {
    while (e0 < e1) {
        int mid = e0 + (e1 - e0) / 2;
        if (column[mid] < c) e0 = mid + 1;
        else e1 = mid;
    }
    return e0;
}

/// One entry of a batch sorted by column: sample b has value v there.
typedef struct {
    int32_t b;
    float v;
} mnl_entry;

/// The entries e0 ..< e1 of row r with columns in [c0, c1): from `first` (first[0], first[1])
/// when it is not NULL, else by binary search.
static inline void mnl_entries_in(mnl_csr x, int r, int c0, int c1, const int32_t *first,
                                  int *e0, int *e1) {
    if (first != NULL) {
        *e0 = first[0];
        *e1 = first[1];
    } else {
        *e0 = mnl_lower_bound(x.column, x.row_start[r], x.row_start[r + 1], c0);
        *e1 = mnl_lower_bound(x.column, *e0, x.row_start[r + 1], c1);
    }
}

/// Sorts the entries of rows[0 ..< B] with columns in [c0, c1) into per-column buckets of
/// capacity B (a column holds at most one entry per sample): bucket c − c0 is
/// entries[(c − c0)·B ..< (c − c0)·B + count[c − c0]], b ascending. Both live in `scratch`.
/// `first` and `stride` as for sparse_linear_backward_weight.
static inline void mnl_sparse_transpose(mnl_csr x, const int32_t *rows, int B, int c0, int c1,
                                        const int32_t *first, int stride, void *scratch,
                                        int32_t **count, mnl_entry **entries) {
    const int C = c1 - c0;
    int32_t *n = scratch;
    mnl_entry *q = (mnl_entry *)(n + C);
    for (int c = 0; c < C; c++) n[c] = 0;
    for (int b = 0; b < B; b++) {
        int e0, e1;
        mnl_entries_in(x, rows[b], c0, c1, first == NULL ? NULL : first + (size_t)b * stride,
                       &e0, &e1);
        for (int e = e0; e < e1; e++) {
            const int c = x.column[e] - c0;
            mnl_entry *slot = &q[(size_t)c * B + n[c]++];
            slot->b = b;
            slot->v = x.value[e];
        }
    }
    *count = n;
    *entries = q;
}

extern const mnl_kernels mnl_kernels_scalar;
#if defined(__x86_64__)
extern const mnl_kernels mnl_kernels_avx2;
extern const mnl_kernels mnl_kernels_avx512;
#endif

#endif
