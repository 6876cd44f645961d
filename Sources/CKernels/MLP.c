// One SGD step of the MLP in two parallel regions, each with a fixed partition:
//
//   forward   (by samples)  layer by layer: linear, activation; then softmax + loss, and with a
//                           gradient, the deltas back through the layers (per sample, so each
//                           thread takes its own samples all the way). The transposed weights
//                           the backward-input kernel reads are made first, split by rows.
//   backward  (by rows)     dW rows and db columns, each summing over the batch in ascending b,
//                           then the SGD update of the same ranges.
//
// No element's chain of operations ever spans two threads, so 1, 2 or n threads give the same
// bits. B = batch size, I = inputs, O = outputs of a layer; L = layers.
#include <float.h>
#include <math.h>
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
    float learning_rate, momentum;
} step;

/// Start of thread t's share of `count` items when split n ways.
static inline int split(int count, int t, int n) { return (int)((int64_t)count * t / n); }

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

// MARK: - Forward (by samples)

static void forward_task(void *context, int t, int n) {
    const step *s = context;
    const mnl_mlp *net = s->net;
    const mnl_kernels *k = s->k;
    const int L = net->layers;

    if (s->want_gradient) {
        // weight_t (O, I) = weightᵀ for the backward-input kernel; rows i split across threads.
        for (int l = 1; l < L; l++) {
            const layer y = layer_at(net, l);
            for (int i = split(y.I, t, n); i < split(y.I, t + 1, n); i++)
                for (int o = 0; o < y.O; o++)
                    y.weight_t[(size_t)o * y.I + i] = y.weight[(size_t)i * y.O + o];
        }
    }

    const int b0 = split(s->B, t, n), nb = split(s->B, t + 1, n) - b0;
    if (nb > 0) {
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
    }
    if (!s->want_gradient) return;

    mnl_barrier(n);  // every weight_t is complete
    for (int l = L - 1; l >= 1 && nb > 0; l--) {
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
    mnl_parallel(forward_task, &s, net->threads);
}

// MARK: - Backward and SGD (by rows)

static void backward_task(void *context, int t, int n) {
    const step *s = context;
    const mnl_mlp *net = s->net;
    const mnl_kernels *k = s->k;
    for (int l = 0; l < net->layers; l++) {
        const layer y = layer_at(net, l);
        // Rows of dweight: pixels for the first layer (a fixed split of the image), inputs else.
        const int i0 = split(y.I, t, n), i1 = split(y.I, t + 1, n);
        const size_t r0 = (size_t)i0 * y.O, nr = (size_t)(i1 - i0) * y.O;
        if (l == 0)
            k->sparse_linear_backward_weight(
                y.dweight, s->x, s->rows, s->B, net->delta[0], y.O, i0, i1,
                (char *)net->scratch + mnl_sparse_scratch_bytes(s->B, i0));  // threads < t's share
        else
            k->linear_backward_weight(y.dweight, net->act[l - 1], net->delta[l], s->B, y.I, y.O,
                                      i0, i1);
        const int o0 = split(y.O, t, n), o1 = split(y.O, t + 1, n);
        memset(y.dbias + o0, 0, sizeof(float) * (size_t)(o1 - o0));
        k->bias_backward(y.dbias, net->delta[l], s->B, y.O, o0, o1);
        if (s->update) {
            k->sgd_update(y.weight + r0, y.vweight + r0, y.dweight + r0, (int)nr,
                          s->learning_rate, s->momentum);
            k->sgd_update(y.bias + o0, y.vbias + o0, y.dbias + o0, o1 - o0, s->learning_rate,
                          s->momentum);
        }
    }
}

void mnl_mlp_backward(const mnl_mlp *net, mnl_csr x, const int32_t *rows, int B, int update,
                      float learning_rate, float momentum) {
    step s = {
        .net = net,
        .k = net->kernels != NULL ? net->kernels : mnl_active_kernels(),
        .x = x,
        .rows = rows,
        .B = B,
        .update = update,
        .learning_rate = learning_rate,
        .momentum = momentum,
    };
    mnl_parallel(backward_task, &s, net->threads);
}
