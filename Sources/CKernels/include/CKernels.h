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

/// Samples per group of `mnl_columns` (the bits of a byte).
enum { MNL_GROUP = 8 };

/// A batch's sparse rows regrouped by column, for the first layer's weight gradient. Samples
/// come in groups of MNL_GROUP (group g = samples 8g ..< 8g + 8 of the batch); for column c,
/// bit k of mask[g·columns + c] says that sample 8g + k has an entry in column c, and
/// value[(g·columns + c)·8 + k] is its value (other slots hold garbage). Each group is written
/// by itself (`mnl_columns_fill`), so the forward pass can build it chunk by chunk, and a
/// column's samples are read in ascending order by walking the groups and their bits.
typedef struct {
    const uint8_t *mask;
    const float *value;
    int groups;   // ⌈B / 8⌉
    int columns;  // I
} mnl_columns;

/// Bytes of the buffer behind an mnl_columns of B samples and I columns (64-aligned pieces).
static inline uint64_t mnl_columns_bytes(int B, int I) {
    const uint64_t groups = (uint64_t)(B + MNL_GROUP - 1) / MNL_GROUP;
    return (groups * I + 63) / 64 * 64 + groups * I * MNL_GROUP * 4;
}

/// The mnl_columns of a batch of B samples and I columns in `buffer` (64-aligned,
/// mnl_columns_bytes(B, I) bytes).
static inline mnl_columns mnl_columns_in(void *buffer, int B, int I) {
    const uint64_t groups = (uint64_t)(B + MNL_GROUP - 1) / MNL_GROUP;
    mnl_columns t;
    t.mask = (const uint8_t *)buffer;
    t.value = (const float *)((char *)buffer + (groups * I + 63) / 64 * 64);
    t.groups = (int)groups;
    t.columns = I;
    return t;
}

/// Writes group g of t (in `buffer`, see mnl_columns_in) from rows[0 ..< n] (n ≤ 8), the
/// batch's samples 8g ..< 8g + n.
void mnl_columns_fill(mnl_columns t, int g, mnl_csr x, const int32_t *rows, int n);

// MARK: - Kernels

/// One instruction-set path: every kernel the MLP step uses.
typedef struct {
    /// "scalar", "avx2" or "avx512".
    const char *name;

    /// out (B, O) = bias + Σ value · weight[column, :] over the entries of rows[b].
    void (*sparse_linear_forward)(float *out, mnl_csr x, const int32_t *rows, int B,
                                  const float *weight, const float *bias, int O);

    /// dweight[c, :] = Σ value · dout[b, :] over the entries (b, value) of column c of x, b
    /// ascending from +0, for every c in [c0, c1) (columns without entries become 0).
    void (*sparse_linear_backward_weight)(float *dweight, mnl_columns x, const float *dout,
                                          int O, int c0, int c1);

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

    /// sgd_update with L2 weight decay: g' = g + decay·p, then as sgd_update with g'. No fused
    /// ops. Used for weights only, and only when decay ≠ 0.
    void (*sgd_update_decayed)(float *p, float *v, const float *g, int n, float lr,
                               float momentum, float decay);
} mnl_kernels;

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
/// thread included (n ≤ 0: the default), and returns when all are done. Threads claim chunks
/// from a shared word (the caller ascending from the front, workers descending from the back,
/// so with 2 threads a chunk usually runs on the same core every time), but which thread runs
/// a chunk depends on timing, and a thread that is not scheduled holds nothing up: what a chunk
/// computes must depend only on c.
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
    void *scratch;               // mnl_mlp_scratch_bytes(maxB, sizes[0]) bytes, 64-aligned
} mnl_mlp;

/// Columns of the first layer per chunk of the backward region (rows of dW1 and its update).
enum { MNL_COLUMN_BLOCK = 64 };

/// Scratch bytes an mnl_mlp needs for batches of up to B rows of I inputs: the batch's
/// mnl_columns, which the forward pass writes and the backward pass reads.
static inline uint64_t mnl_mlp_scratch_bytes(int B, int I) { return mnl_columns_bytes(B, I); }

/// Forward pass over the batch rows[0 ..< B] of x: per sample, `loss[b]` (cross-entropy
/// −log p[label], or MSE ½‖p − t‖²) and `predicted[b]` (first argmax). labels is indexed by row.
/// With want_gradient, also every delta[l], the output layer's scaled by 1/B.
void mnl_mlp_forward(const mnl_mlp *net, mnl_csr x, const int32_t *rows, int B,
                     const uint8_t *labels, int want_gradient, float *loss, int32_t *predicted);

/// From the deltas (and the scratch) of `mnl_mlp_forward` with want_gradient on the same
/// batch: grad = the batch-mean gradient; then, if `update`, one SGD step on params (and
/// velocity when momentum ≠ 0), with L2 weight decay `weight_decay` on the weights (not the
/// biases); weight_decay 0 runs exactly the update without decay.
void mnl_mlp_backward(const mnl_mlp *net, mnl_csr x, const int32_t *rows, int B, int update,
                      float learning_rate, float momentum, float weight_decay);

#endif
