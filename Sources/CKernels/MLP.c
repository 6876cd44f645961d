// One SGD step of the MLP in two parallel regions. Each region is a fixed list of chunks that
// depends on the batch and the network only, never on the thread count; threads take chunks
// from a shared claim word (ThreadPool.c: the caller from the front, workers from the back),
// so a descheduled thread holds nothing up:
//
//   forward   weight_t, the transposed weights the backward-input kernel reads, in blocks of
//             TRANSPOSE_BLOCK rows; then blocks of SAMPLE_BLOCK samples, each taken all the way:
//             layer by layer linear and activation, softmax + loss, and with a gradient the
//             deltas back through the layers (after waiting for weight_t) and its samples'
//             pixels regrouped by column (mnl_columns_fill), for the backward pass.
//   backward  dW1 and the SGD update of its rows in blocks of MNL_COLUMN_BLOCK columns; the
//             same for later layers in blocks of ROW_BLOCK rows; then per layer db and its
//             update (these small chunks are listed between dW1's two halves). Every dW and
//             db element sums over the whole batch in ascending b.
//
// No element's chain of operations ever spans two chunks, so 1, 2 or n threads, and any order
// the chunks happen to run in, give the same bits. B = batch size, I = inputs, O = outputs of a
// layer; L = layers.
#include <float.h>
#include <math.h>
#include <sched.h>
#include <stdatomic.h>
#include <string.h>

#include "Internal.h"

typedef struct {
    const mnl_mlp *net;
    const mnl_kernels *k;
    mnl_csr x;
    const int32_t *rows;
    int B;
    const uint8_t *labels;
    int want_gradient;
    float *loss;
    int32_t *predicted;
    int update;
    float learning_rate, momentum, weight_decay;
    int transpose_chunks;      // forward: the first chunks make weight_t
    _Atomic int transposed;    // forward: how many of them are done
    mnl_columns columns;       // the batch by column, in net->scratch
    int blocks;                // column blocks of the first layer
    int chunks;                // backward: chunks in the region
} step;

// A forward chunk's samples are one group of the batch's mnl_columns.
#define SAMPLE_BLOCK MNL_GROUP
#define TRANSPOSE_BLOCK 64
#define ROW_BLOCK 16

static inline int blocks_of(int count, int block) { return (count + block - 1) / block; }
static inline int min_int(int a, int b) { return a < b ? a : b; }

typedef struct {
    int I, O;
    float *weight, *bias;  // into params
    float *dweight, *dbias, *vweight, *vbias;
    float *weight_t;  // (O, I), layers ≥ 1
} layer;

static layer layer_at(const mnl_mlp *net, int l) {
    size_t offset = 0, offset_t = 0;
    for (int k = 0; k < l; k++) {
        offset += (size_t)(net->sizes[k] + 1) * net->sizes[k + 1];
        if (k >= 1) offset_t += (size_t)net->sizes[k] * net->sizes[k + 1];
    }
    layer y;
    y.I = net->sizes[l];
    y.O = net->sizes[l + 1];
    const size_t bias_offset = offset + (size_t)y.I * y.O;
    y.weight = net->params + offset;
    y.bias = net->params + bias_offset;
    y.dweight = net->grad + offset;
    y.dbias = net->grad + bias_offset;
    y.vweight = net->velocity + offset;
    y.vbias = net->velocity + bias_offset;
    y.weight_t = l >= 1 ? net->weight_t + offset_t : NULL;
    return y;
}

// MARK: - Activations

static void activation_forward(const mnl_mlp *net, const mnl_kernels *k, float *x, int n) {
    switch (net->activation) {
    case MNL_SIGMOID: k->sigmoid_forward(x, n); break;
    case MNL_RELU:
        for (int i = 0; i < n; i++) x[i] = 0 >= x[i] ? 0 : x[i];
        break;
    default:
        for (int i = 0; i < n; i++) x[i] = x[i] <= 0 ? x[i] * net->leaky_slope : x[i];
        break;
    }
}

// d *= f'(z), read from the activation's output a.
static void activation_backward(const mnl_mlp *net, const mnl_kernels *k, float *d,
                                const float *a, int n) {
    switch (net->activation) {
    case MNL_SIGMOID: k->sigmoid_backward(d, a, n); break;
    case MNL_RELU:
        for (int i = 0; i < n; i++) d[i] = a[i] <= 0 ? 0 : d[i];
        break;
    default:
        for (int i = 0; i < n; i++) d[i] = a[i] <= 0 ? d[i] * net->leaky_slope : d[i];
        break;
    }
}

// MARK: - Softmax and loss

// Logits (nb, O) → softmax probabilities in place; per sample its loss and first argmax, and
// dLoss/dlogits · scale into dlogits when wanted.
static void softmax_loss(const mnl_mlp *net, float *probs, float *dlogits, const int32_t *rows,
                         const uint8_t *labels, int nb, int O, float scale, int want_gradient,
                         float *loss, int32_t *predicted) {
    for (int b = 0; b < nb; b++) {
        float *p = probs + (size_t)b * O;
        const int label = labels[rows[b]];
        float peak = p[0];
        int argmax = 0;
        for (int o = 1; o < O; o++)
            if (p[o] > peak) {
                peak = p[o];
                argmax = o;
            }
        predicted[b] = argmax;
        float sum = 0;
        for (int o = 0; o < O; o++) {
            p[o] = expf(p[o] - peak);
            sum += p[o];
        }
        for (int o = 0; o < O; o++) p[o] /= sum;
        float *d = dlogits + (size_t)b * O;
        if (net->loss == MNL_CROSS_ENTROPY) {
            const float q = FLT_MIN >= p[label] ? FLT_MIN : p[label];  // NaN stays NaN
            loss[b] = -logf(q);
            if (!want_gradient) continue;
            for (int o = 0; o < O; o++) d[o] = p[o] * scale;
            d[label] = (p[label] - 1) * scale;
        } else {
            // dL/dz_i = p_i (e_i − Σ_j e_j p_j), e = p − t: MSE through the softmax Jacobian.
            float squares = 0, ep = 0;
            for (int o = 0; o < O; o++) {
                const float e = p[o] - (o == label ? 1.0f : 0.0f);
                squares += e * e;
                ep += e * p[o];
            }
            loss[b] = squares / 2;
            if (!want_gradient) continue;
            for (int o = 0; o < O; o++) {
                const float e = p[o] - (o == label ? 1.0f : 0.0f);
                d[o] = p[o] * (e - ep) * scale;
            }
        }
    }
}

// MARK: - Forward

// The batch's mnl_columns live in net->scratch (see mnl_mlp_scratch_bytes).
static void place_scratch(step *s) {
    const int I = s->net->sizes[0];
    s->blocks = blocks_of(I, MNL_COLUMN_BLOCK);
    s->columns = mnl_columns_in(s->net->scratch, s->B, I);
}

// Transposes rows [i0, i0 + TRANSPOSE_BLOCK) of the weights of the layer that chunk c falls in.
static void transpose_chunk(const step *s, int c) {
    const mnl_mlp *net = s->net;
    for (int l = 1; l < net->layers; l++) {
        const layer y = layer_at(net, l);
        const int n = blocks_of(y.I, TRANSPOSE_BLOCK);
        if (c >= n) {
            c -= n;
            continue;
        }
        const int i1 = min_int(y.I, (c + 1) * TRANSPOSE_BLOCK);
        for (int i = c * TRANSPOSE_BLOCK; i < i1; i++)
            for (int o = 0; o < y.O; o++)
                y.weight_t[(size_t)o * y.I + i] = y.weight[(size_t)i * y.O + o];
        return;
    }
}

static void forward_chunk(void *context, int chunk) {
    step *s = context;
    const mnl_mlp *net = s->net;
    const mnl_kernels *k = s->k;
    const int L = net->layers;

    if (chunk < s->transpose_chunks) {
        transpose_chunk(s, chunk);
        atomic_fetch_add_explicit(&s->transposed, 1, memory_order_release);
        return;
    }
    const int b0 = (chunk - s->transpose_chunks) * SAMPLE_BLOCK;
    const int nb = min_int(SAMPLE_BLOCK, s->B - b0);
    for (int l = 0; l < L; l++) {
        const layer y = layer_at(net, l);
        float *out = net->act[l] + (size_t)b0 * y.O;
        if (l == 0)
            k->sparse_linear_forward(out, s->x, s->rows + b0, nb, y.weight, y.bias, y.O);
        else
            k->linear_forward(out, net->act[l - 1] + (size_t)b0 * y.I, y.weight, y.bias, nb,
                              y.I, y.O);
        if (l < L - 1) activation_forward(net, k, out, nb * y.O);
    }
    const int O = net->sizes[L];
    softmax_loss(net, net->act[L - 1] + (size_t)b0 * O, net->delta[L - 1] + (size_t)b0 * O,
                 s->rows + b0, s->labels, nb, O, 1.0f / (float)s->B, s->want_gradient,
                 s->loss + b0, s->predicted + b0);
    if (!s->want_gradient) return;

    mnl_columns_fill(s->columns, b0 / SAMPLE_BLOCK, s->x, s->rows + b0, nb);
    // The transpose chunks come first and the caller claims from the front (workers from the
    // back), so by the time anyone waits here each was claimed by a running thread or will be
    // by the caller, which waits for nothing before it has claimed them: no deadlock.
    int spins = 0;
    while (L > 1 &&
           atomic_load_explicit(&s->transposed, memory_order_acquire) < s->transpose_chunks)
        if (++spins >= 2000) sched_yield();  // the thread we wait for may need this core
    for (int l = L - 1; l >= 1; l--) {
        const layer y = layer_at(net, l);
        float *dinp = net->delta[l - 1] + (size_t)b0 * y.I;
        k->linear_backward_input(dinp, net->delta[l] + (size_t)b0 * y.O, y.weight_t, nb, y.I,
                                 y.O);
        activation_backward(net, k, dinp, net->act[l - 1] + (size_t)b0 * y.I, nb * y.I);
    }
}

void mnl_mlp_forward(const mnl_mlp *net, mnl_csr x, const int32_t *rows, int B,
                     const uint8_t *labels, int want_gradient, float *loss, int32_t *predicted) {
    step s = {
        .net = net,
        .k = net->kernels != NULL ? net->kernels : mnl_active_kernels(),
        .x = x,
        .rows = rows,
        .B = B,
        .labels = labels,
        .want_gradient = want_gradient,
        .loss = loss,
        .predicted = predicted,
    };
    place_scratch(&s);
    if (want_gradient)
        for (int l = 1; l < net->layers; l++)
            s.transpose_chunks += blocks_of(net->sizes[l], TRANSPOSE_BLOCK);
    atomic_init(&s.transposed, 0);
    mnl_parallel_for(forward_chunk, &s, s.transpose_chunks + blocks_of(B, SAMPLE_BLOCK),
                     net->threads);
}

// MARK: - Backward and SGD

static void update(const step *s, float *p, float *v, const float *g, size_t n) {
    if (s->update) s->k->sgd_update(p, v, g, (int)n, s->learning_rate, s->momentum);
}

// The update of weights (not biases): with weight decay, the decayed copy of the kernel;
// without, the plain one, so that decay 0 computes exactly what it always has.
static void update_weights(const step *s, float *p, float *v, const float *g, size_t n) {
    if (!s->update) return;
    if (s->weight_decay == 0)
        s->k->sgd_update(p, v, g, (int)n, s->learning_rate, s->momentum);
    else
        s->k->sgd_update_decayed(p, v, g, (int)n, s->learning_rate, s->momentum,
                                 s->weight_decay);
}

static void backward_chunk(void *context, int chunk) {
    const step *s = context;
    const mnl_mlp *net = s->net;
    const mnl_kernels *k = s->k;
    // The list is dW1's first half, the later layers and the biases, dW1's second half: the
    // caller claims from the front and the workers from the back (ThreadPool.c), so with two
    // threads they meet among the small chunks in the middle, not on a last 7 µs dW1 block.
    const int head = s->blocks / 2, middle = s->chunks - s->blocks;
    if (chunk >= head + middle) chunk -= middle;
    else if (chunk >= head) chunk += s->blocks - head;
    // dW1 by column blocks.
    if (chunk < s->blocks) {
        const layer y = layer_at(net, 0);
        const int c0 = chunk * MNL_COLUMN_BLOCK, c1 = min_int(y.I, c0 + MNL_COLUMN_BLOCK);
        k->sparse_linear_backward_weight(y.dweight, s->columns, net->delta[0], y.O, c0, c1);
        const size_t r0 = (size_t)c0 * y.O;
        update_weights(s, y.weight + r0, y.vweight + r0, y.dweight + r0,
                       (size_t)(c1 - c0) * y.O);
        return;
    }
    chunk -= s->blocks;
    // Later layers' dW by row blocks.
    for (int l = 1; l < net->layers; l++) {
        const layer y = layer_at(net, l);
        const int n = blocks_of(y.I, ROW_BLOCK);
        if (chunk >= n) {
            chunk -= n;
            continue;
        }
        const int i0 = chunk * ROW_BLOCK, i1 = min_int(y.I, i0 + ROW_BLOCK);
        k->linear_backward_weight(y.dweight, net->act[l - 1], net->delta[l], s->B, y.I, y.O, i0,
                                  i1);
        const size_t r0 = (size_t)i0 * y.O;
        update_weights(s, y.weight + r0, y.vweight + r0, y.dweight + r0,
                       (size_t)(i1 - i0) * y.O);
        return;
    }
    // db of layer `chunk`.
    const layer y = layer_at(net, chunk);
    memset(y.dbias, 0, sizeof(float) * (size_t)y.O);
    k->bias_backward(y.dbias, net->delta[chunk], s->B, y.O, 0, y.O);
    update(s, y.bias, y.vbias, y.dbias, (size_t)y.O);
}

void mnl_mlp_backward(const mnl_mlp *net, mnl_csr x, const int32_t *rows, int B, int update,
                      float learning_rate, float momentum, float weight_decay) {
    step s = {
        .net = net,
        .k = net->kernels != NULL ? net->kernels : mnl_active_kernels(),
        .x = x,
        .rows = rows,
        .B = B,
        .update = update,
        .learning_rate = learning_rate,
        .momentum = momentum,
        .weight_decay = weight_decay,
    };
    place_scratch(&s);
    int chunks = s.blocks + net->layers;
    for (int l = 1; l < net->layers; l++) chunks += blocks_of(net->sizes[l], ROW_BLOCK);
    s.chunks = chunks;
    mnl_parallel_for(backward_chunk, &s, chunks, net->threads);
}
