// CKernels: the fp32 kernels behind Numerics.Network, a persistent thread pool, and the
// MLP step that drives both.
//
// Contract: row-major fp32; `weight` is (I, O), row i holding the weights leaving input i.
// Every output element is one chain of fused multiply-adds in a fixed order: it starts from
// the bias (forward), from the existing value (`+=` kernels) or from +0 (backward input), then
// takes the terms by ascending input index (forward, backward input: ascending output index)
// or by ascending batch index (weight gradients). Each instruction-set path (scalar `fmaf`,
// AVX2+FMA, AVX-512) keeps exactly those chains, and no chunk of a parallel region cuts one, so
// results are bit-identical across paths and thread counts.
//
// B = batch size, I = inputs, O = outputs.
#ifndef CKERNELS_H
#define CKERNELS_H

#include <stdint.h>

/// Sparse rows (CSR) as Numerics.SparseRows stores them.
typedef struct {
    const int32_t *row_start;  // entries of row r are row_start[r] ..< row_start[r + 1]
    const uint16_t *column;    // ascending within a row
    const float *value;
} mnl_csr;

// MARK: - Kernels

/// One instruction-set path: every kernel the MLP step uses.
typedef struct {
    /// "scalar", "avx2" or "avx512".
    const char *name;

    /// out (B, O) = bias + Σ value · weight[column, :] over the entries of rows[b].
    void (*sparse_linear_forward)(float *out, mnl_csr x, const int32_t *rows, int B,
                                  const float *weight, const float *bias, int O);

    /// dweight[c, :] = Σ value · dout[b, :] over the entries (c, value) of rows[b], b ascending
    /// from +0, for every c in [c0, c1) (rows without entries become 0). `scratch` holds
    /// mnl_sparse_scratch_bytes(B, c1 − c0) bytes, 4-aligned (the SIMD paths sort the entries
    /// by column there first, so that a row of dweight stays in registers). `first` is NULL, or
    /// says where those entries are: for rows[b], first[b·stride] ..< first[b·stride + 1] (saves
    /// two binary searches per row when a batch is cut into many column ranges).
    void (*sparse_linear_backward_weight)(float *dweight, mnl_csr x, const int32_t *rows, int B,
                                          const float *dout, int O, int c0, int c1,
                                          const int32_t *first, int stride, void *scratch);

    /// out (B, O) = bias + inp (B, I) · weight (I, O)
    void (*linear_forward)(float *out, const float *inp, const float *weight, const float *bias,
                           int B, int I, int O);

    /// dweight[i, :] = Σ_b inp[b, i] · dout[b, :] for i in [i0, i1), b ascending from +0.
    void (*linear_backward_weight)(float *dweight, const float *inp, const float *dout, int B,
                                   int I, int O, int i0, int i1);

    /// dinp (B, I) = dout (B, O) · weight_t (O, I), o ascending from +0. weight_t is the
    /// transpose of the layer's (I, O) weight, so the chain runs along contiguous rows.
    void (*linear_backward_input)(float *dinp, const float *dout, const float *weight_t, int B,
                                  int I, int O);

    /// x = 1 / (1 + exp(-x)) in place, with the polynomial exp of Kernels.c (≤ 2 ulp).
    void (*sigmoid_forward)(float *x, int n);

    /// d *= a (1 − a), a = sigmoid output.
    void (*sigmoid_backward)(float *d, const float *a, int n);

    /// dbias[o] += Σ_b dout[b, o] for o in [o0, o1), b ascending (plain adds).
    void (*bias_backward)(float *dbias, const float *dout, int B, int O, int o0, int o1);

    /// momentum == 0: p −= lr·g; otherwise v = momentum·v + g, p −= lr·v. No fused ops.
    void (*sgd_update)(float *p, float *v, const float *g, int n, float lr, float momentum);
} mnl_kernels;

/// Scratch bytes `sparse_linear_backward_weight` needs for B rows and C columns.
static inline uint64_t mnl_sparse_scratch_bytes(int B, int C) {
    return (uint64_t)C * (4 + 8 * (uint64_t)B);
}

/// The path called `name` ("scalar", "avx2", "avx512"), or NULL if unknown or if this CPU
/// cannot run it.
const mnl_kernels *mnl_kernels_named(const char *name);

/// The path in use: the one forced by `mnl_set_kernel_path` or by the environment variable
/// MNISTLAB_KERNELS=scalar|avx2|avx512 (read once), else the widest this CPU supports.
const mnl_kernels *mnl_active_kernels(void);

/// Forces the path used by `mnl_active_kernels`; returns 0, or -1 (and changes nothing) if
/// `name` is unknown or unsupported here.
int mnl_set_kernel_path(const char *name);

/// Name of the path in use: "avx512", "avx2" or "scalar".
const char *mnl_kernel_path(void);

// MARK: - Thread pool

/// A parallel region's body: computes chunk `chunk` of the region's fixed list.
typedef void (*mnl_chunk_task)(void *context, int chunk);

/// Runs task(context, c) once for every c in 0 ..< chunks on up to n threads, the calling
/// thread included (n ≤ 0: the default), and returns when all are done. Threads claim chunks in
/// ascending order from a shared counter, so which thread runs a chunk depends on timing, and a
/// thread that is not scheduled holds nothing up: what a chunk computes must depend only on c.
/// One region runs at a time (concurrent callers queue).
void mnl_parallel_for(mnl_chunk_task task, void *context, int chunks, int n);

/// Threads a region uses by default: MNISTLAB_THREADS if set (read once), else the number of
/// online CPUs capped at 4, or what `mnl_set_threads` chose.
int mnl_threads(void);

/// Sets the default thread count (clamped to 1...64).
void mnl_set_threads(int n);

// MARK: - MLP

enum { MNL_SIGMOID = 0, MNL_RELU = 1, MNL_LEAKY_RELU = 2 };
enum { MNL_CROSS_ENTROPY = 0, MNL_MSE = 1 };

/// An MLP and its workspaces, all owned by the caller (Numerics.Network).
typedef struct {
    const mnl_kernels *kernels;  // NULL: mnl_active_kernels()
    int threads;                 // ≤ 0: mnl_threads()
    int layers;                  // L
    const int32_t *sizes;        // L + 1 widths, inputs first
    int activation;              // MNL_SIGMOID, …
    float leaky_slope;
    int loss;                    // MNL_CROSS_ENTROPY, MNL_MSE
    float *params;               // W1, b1, W2, b2, … as Architecture lays them out
    float *grad;                 // same layout
    float *velocity;             // same layout
    float *const *act;           // act[l]: output of layer l, (maxB, sizes[l + 1])
    float *const *delta;         // delta[l]: dLoss/d(pre-activation of layer l), same shape
    float *weight_t;             // Σ_{l ≥ 1} sizes[l]·sizes[l + 1] floats: transposed weights
    void *scratch;               // mnl_mlp_scratch_bytes(maxB, sizes[0]) bytes, 8-aligned
} mnl_mlp;

/// Columns of the first layer per chunk of the backward region (rows of dW1 and its update).
enum { MNL_COLUMN_BLOCK = 64 };

/// Scratch bytes an mnl_mlp needs for batches of up to B rows of I inputs: where each sample's
/// entries of every column block start (the forward pass writes it, the backward pass reads
/// it), then the per-column sort of the first layer's weight gradient.
static inline uint64_t mnl_mlp_scratch_bytes(int B, int I) {
    const uint64_t blocks = (uint64_t)(I + MNL_COLUMN_BLOCK - 1) / MNL_COLUMN_BLOCK;
    return ((uint64_t)B * (blocks + 1) * 4 + 7) / 8 * 8 + mnl_sparse_scratch_bytes(B, I);
}

/// Forward pass over the batch rows[0 ..< B] of x: per sample, `loss[b]` (cross-entropy
/// −log p[label], or MSE ½‖p − t‖²) and `predicted[b]` (first argmax). labels is indexed by row.
/// With want_gradient, also every delta[l], the output layer's scaled by 1/B.
void mnl_mlp_forward(const mnl_mlp *net, mnl_csr x, const int32_t *rows, int B,
                     const uint8_t *labels, int want_gradient, float *loss, int32_t *predicted);

/// From the deltas (and the scratch) of `mnl_mlp_forward` with want_gradient on the same
/// batch: grad = the batch-mean gradient; then, if `update`, one SGD step on params (and
/// velocity when momentum ≠ 0).
void mnl_mlp_backward(const mnl_mlp *net, mnl_csr x, const int32_t *rows, int B, int update,
                      float learning_rate, float momentum);

#endif
