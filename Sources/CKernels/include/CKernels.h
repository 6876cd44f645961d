// CKernels: the fp32 kernels behind Numerics.Network.
//
// Contract: row-major fp32; `weight` is (I, O), row i holding the weights leaving input i.
// Every output element is one chain of fused multiply-adds in a fixed order (ascending input
// index, then ascending batch index for weight gradients), so results do not depend on the
// thread split. B = batch size, I = inputs, O = outputs.
#ifndef CKERNELS_H
#define CKERNELS_H

#include <stdint.h>

/// Sparse rows (CSR) as Numerics.SparseRows stores them.
typedef struct {
    const int32_t *row_start;  // entries of row r are row_start[r] ..< row_start[r + 1]
    const uint16_t *column;    // ascending within a row
    const float *value;
} mnl_csr;

/// out (B, O) = bias + Σ value · weight[column, :] over the entries of rows[b].
void mnl_sparse_linear_forward(float *out, mnl_csr x, const int32_t *rows, int B,
                               const float *weight, const float *bias, int O);

/// dweight[c, :] += value · dout[b, :] for every entry (c, value) of rows[b] with c in [c0, c1),
/// b ascending.
void mnl_sparse_linear_backward_weight(float *dweight, mnl_csr x, const int32_t *rows, int B,
                                       const float *dout, int O, int c0, int c1);

/// out (B, O) = bias + inp (B, I) · weight (I, O)
void mnl_linear_forward(float *out, const float *inp, const float *weight, const float *bias,
                        int B, int I, int O);

/// dweight[i, :] += Σ_b inp[b, i] · dout[b, :] for i in [i0, i1), b ascending.
void mnl_linear_backward_weight(float *dweight, const float *inp, const float *dout, int B, int I,
                                int O, int i0, int i1);

/// dinp (B, I) = dout (B, O) · weightᵀ
void mnl_linear_backward_input(float *dinp, const float *dout, const float *weight, int B, int I,
                               int O);

/// dbias[o] += Σ_b dout[b, o] for o in [o0, o1), b ascending.
void mnl_bias_backward(float *dbias, const float *dout, int B, int O, int o0, int o1);

/// x = 1 / (1 + exp(-x)), in place.
void mnl_sigmoid_forward(float *x, int n);

/// Name of the instruction set the kernels run on: "avx512", "avx2-fma" or "scalar".
const char *mnl_kernel_path(void);

#endif
