// The scalar path, which defines every result: each output is a chain of `fmaf` in the order
// CKernels.h states. The SIMD paths (KernelsAVX2.c, KernelsAVX512.c) compute the same chains
// several outputs at a time. Also here: choosing the path at run time.
//
// B = batch size, I = inputs, O = outputs.
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "Internal.h"

// MARK: - Kernels

// out (B, O), weight (I, O), bias (O)
static void sparse_linear_forward(float *out, mnl_csr x, const int32_t *rows, int B,
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

// dweight (I, O), dout (B, O): column by column, each column's samples in ascending order.
static void sparse_linear_backward_weight(float *dweight, mnl_columns x, const float *dout, int O,
                                          int c0, int c1) {
    for (int c = c0; c < c1; c++) {
        float *dw = dweight + (size_t)c * O;
        for (int o = 0; o < O; o++) dw[o] = 0;
        for (int g = 0; g < x.groups; g++) {
            const size_t slot = (size_t)g * x.columns + c;
            for (unsigned m = x.mask[slot]; m != 0; m &= m - 1) {
                const int k = __builtin_ctz(m);
                const float v = x.value[slot * MNL_GROUP + k];
                const float *d = dout + (size_t)(g * MNL_GROUP + k) * O;
                for (int o = 0; o < O; o++) dw[o] = fmaf(v, d[o], dw[o]);
            }
        }
    }
}

void mnl_columns_fill(mnl_columns t, int g, mnl_csr x, const int32_t *rows, int n) {
    uint8_t *mask = (uint8_t *)t.mask + (size_t)g * t.columns;
    float *value = (float *)t.value + (size_t)g * t.columns * MNL_GROUP;
    memset(mask, 0, (size_t)t.columns);
    for (int k = 0; k < n; k++) {
        const int r = rows[k];
        const int e1 = x.row_start[r + 1];
        for (int e = x.row_start[r]; e < e1; e++) {
            const int c = x.column[e];
            mask[c] |= (uint8_t)(1u << k);
            value[(size_t)c * MNL_GROUP + k] = x.value[e];
        }
    }
}

// out (B, O), inp (B, I), weight (I, O), bias (O)
static void linear_forward(float *out, const float *inp, const float *weight, const float *bias,
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

// dweight (I, O), inp (B, I), dout (B, O)
static void linear_backward_weight(float *dweight, const float *inp, const float *dout, int B,
                                   int I, int O, int i0, int i1) {
    memset(dweight + (size_t)i0 * O, 0, sizeof(float) * (size_t)(i1 - i0) * O);
    for (int b = 0; b < B; b++) {
        const float *d = dout + (size_t)b * O;
        for (int i = i0; i < i1; i++) {
            const float v = inp[(size_t)b * I + i];
            float *dw = dweight + (size_t)i * O;
            for (int o = 0; o < O; o++) dw[o] = fmaf(v, d[o], dw[o]);
        }
    }
}

// dinp (B, I), dout (B, O), weight_t (O, I)
static void linear_backward_input(float *dinp, const float *dout, const float *weight_t, int B,
                                  int I, int O) {
    for (int b = 0; b < B; b++) {
        float *di = dinp + (size_t)b * I;
        for (int i = 0; i < I; i++) di[i] = 0;
        for (int o = 0; o < O; o++) {
            const float d = dout[(size_t)b * O + o];
            const float *w = weight_t + (size_t)o * I;
            for (int i = 0; i < I; i++) di[i] = fmaf(d, w[i], di[i]);
        }
    }
}

static inline float float_from_bits(uint32_t u) {
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

static inline uint32_t bits_from_float(float f) {
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}

// The SIMD paths mirror this line by line; see Internal.h. The comparisons are written the way
// MINPS/MAXPS behave (second operand on NaN), so a NaN input gives NaN on every path.
static float sigmoid(float z) {
    float t = -z;
    t = MNL_EXP_HI < t ? MNL_EXP_HI : t;
    t = MNL_EXP_LO > t ? MNL_EXP_LO : t;
    float fn = t * MNL_LOG2E + MNL_ROUND_MAGIC;
    uint32_t n = bits_from_float(fn) - bits_from_float(MNL_ROUND_MAGIC);
    fn = fn - MNL_ROUND_MAGIC;
    float r = fmaf(fn, -MNL_LN2_HI, t);
    r = fmaf(fn, -MNL_LN2_LO, r);
    float y = MNL_EXP_P0;
    y = fmaf(y, r, MNL_EXP_P1);
    y = fmaf(y, r, MNL_EXP_P2);
    y = fmaf(y, r, MNL_EXP_P3);
    y = fmaf(y, r, MNL_EXP_P4);
    y = fmaf(y, r, MNL_EXP_P5);
    y = fmaf(y, r * r, r);
    y = y + 1.0f;
    float e = y * float_from_bits((n + 127u) << 23);  // exp(t) = exp(r)·2^n
    return 1.0f / (1.0f + e);
}

static void sigmoid_forward(float *x, int n) {
    for (int k = 0; k < n; k++) x[k] = sigmoid(x[k]);
}

#define MNL_NAME(x) x##_scalar
#include "Elementwise.inc"

const mnl_kernels mnl_kernels_scalar = {
    .name = "scalar",
    .sparse_linear_forward = sparse_linear_forward,
    .sparse_linear_backward_weight = sparse_linear_backward_weight,
    .linear_forward = linear_forward,
    .linear_backward_weight = linear_backward_weight,
    .linear_backward_input = linear_backward_input,
    .sigmoid_forward = sigmoid_forward,
    .sigmoid_backward = sigmoid_backward_scalar,
    .bias_backward = bias_backward_scalar,
    .sgd_update = sgd_update_scalar,
    .sgd_update_decayed = sgd_update_decayed_scalar,
};

// MARK: - Dispatch

const mnl_kernels *mnl_kernels_named(const char *name) {
    if (name == NULL) return NULL;
    if (strcmp(name, "scalar") == 0) return &mnl_kernels_scalar;
#if defined(__x86_64__)
    __builtin_cpu_init();
    if (strcmp(name, "avx2") == 0)
        return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") ? &mnl_kernels_avx2
                                                                               : NULL;
    if (strcmp(name, "avx512") == 0)
        return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx2") &&
                       __builtin_cpu_supports("fma")
                   ? &mnl_kernels_avx512
                   : NULL;
#endif
    return NULL;
}

static _Atomic(const mnl_kernels *) active;
static pthread_once_t active_once = PTHREAD_ONCE_INIT;

static void choose_active(void) {
    const mnl_kernels *chosen = NULL;
    const char *forced = getenv("MNISTLAB_KERNELS");
    if (forced != NULL && forced[0] != 0) {
        chosen = mnl_kernels_named(forced);
        if (chosen == NULL)
            fprintf(stderr,
                    "mnistlab: MNISTLAB_KERNELS=%s is unknown or unsupported on this CPU; "
                    "using the default.\n",
                    forced);
    }
    if (chosen == NULL) chosen = mnl_kernels_named("avx512");
    if (chosen == NULL) chosen = mnl_kernels_named("avx2");
    if (chosen == NULL) chosen = &mnl_kernels_scalar;
    const mnl_kernels *expected = NULL;
    atomic_compare_exchange_strong(&active, &expected, chosen);  // a forced path wins
}

const mnl_kernels *mnl_active_kernels(void) {
    const mnl_kernels *k = atomic_load_explicit(&active, memory_order_acquire);
    if (k != NULL) return k;
    pthread_once(&active_once, choose_active);
    return atomic_load(&active);
}

int mnl_set_kernel_path(const char *name) {
    const mnl_kernels *k = mnl_kernels_named(name);
    if (k == NULL) return -1;
    pthread_once(&active_once, choose_active);
    atomic_store(&active, k);
    return 0;
}

const char *mnl_kernel_path(void) { return mnl_active_kernels()->name; }
