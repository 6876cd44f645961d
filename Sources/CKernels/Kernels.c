// Scalar kernels. Each output is a chain of fmaf in a fixed order so that any faster path
// that keeps the order gives the same bits.
#include "CKernels.h"

#include <math.h>
#include <string.h>

void mnl_sparse_linear_forward(float *out, mnl_csr x, const int32_t *rows, int B,
                               const float *weight, const float *bias, int O) {
    for (int b = 0; b < B; b++) {
        float *o_row = out + (size_t)b * O;
        memcpy(o_row, bias, sizeof(float) * O);
        int r = rows[b];
        for (int e = x.row_start[r]; e < x.row_start[r + 1]; e++) {
            const float v = x.value[e];
            const float *w = weight + (size_t)x.column[e] * O;
            for (int o = 0; o < O; o++) o_row[o] = fmaf(v, w[o], o_row[o]);
        }
    }
}

void mnl_sparse_linear_backward_weight(float *dweight, mnl_csr x, const int32_t *rows, int B,
                                       const float *dout, int O, int c0, int c1) {
    for (int b = 0; b < B; b++) {
        const float *d = dout + (size_t)b * O;
        int r = rows[b];
        for (int e = x.row_start[r]; e < x.row_start[r + 1]; e++) {
            int c = x.column[e];
            if (c < c0 || c >= c1) continue;
            const float v = x.value[e];
            float *dw = dweight + (size_t)c * O;
            for (int o = 0; o < O; o++) dw[o] = fmaf(v, d[o], dw[o]);
        }
    }
}

void mnl_linear_forward(float *out, const float *inp, const float *weight, const float *bias,
                        int B, int I, int O) {
    for (int b = 0; b < B; b++) {
        float *o_row = out + (size_t)b * O;
        memcpy(o_row, bias, sizeof(float) * O);
        for (int i = 0; i < I; i++) {
            const float v = inp[(size_t)b * I + i];
            const float *w = weight + (size_t)i * O;
            for (int o = 0; o < O; o++) o_row[o] = fmaf(v, w[o], o_row[o]);
        }
    }
}

void mnl_linear_backward_weight(float *dweight, const float *inp, const float *dout, int B, int I,
                                int O, int i0, int i1) {
    for (int b = 0; b < B; b++) {
        const float *d = dout + (size_t)b * O;
        for (int i = i0; i < i1; i++) {
            const float v = inp[(size_t)b * I + i];
            float *dw = dweight + (size_t)i * O;
            for (int o = 0; o < O; o++) dw[o] = fmaf(v, d[o], dw[o]);
        }
    }
}

void mnl_linear_backward_input(float *dinp, const float *dout, const float *weight, int B, int I,
                               int O) {
    for (int b = 0; b < B; b++) {
        for (int i = 0; i < I; i++) {
            float sum = 0;
            for (int o = 0; o < O; o++)
                sum = fmaf(dout[(size_t)b * O + o], weight[(size_t)i * O + o], sum);
            dinp[(size_t)b * I + i] = sum;
        }
    }
}

void mnl_bias_backward(float *dbias, const float *dout, int B, int O, int o0, int o1) {
    for (int b = 0; b < B; b++)
        for (int o = o0; o < o1; o++) dbias[o] += dout[(size_t)b * O + o];
}

void mnl_sigmoid_forward(float *x, int n) {
    for (int k = 0; k < n; k++) x[k] = 1.0f / (1.0f + expf(-x[k]));
}

const char *mnl_kernel_path(void) { return "scalar"; }
