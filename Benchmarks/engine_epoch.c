// A standalone driver of the engine's training step (Sources/CKernels, no Swift): the seed
// epoch (784-100-10 sigmoid, batch 200, SGD lr 0.1) on the first 50 000 MNIST images, then
// the last 10 000 as validation. Prints the median train wall and process CPU seconds per
// epoch, the median validation seconds, and an FNV-1a hash of the trained parameters (equal
// for every path and thread count; compare two builds of the kernels with it). Built with
// the package's C flags; see Benchmarks/README.md.
//
//   clang -O3 -ffp-contract=off -ISources/CKernels/include -ISources/CKernels \
//       Sources/CKernels/*.c Benchmarks/engine_epoch.c -o /tmp/engine_epoch -lpthread -lm
//   /tmp/engine_epoch THREADS EPOCHS [avx512|avx2|scalar]      # run from the repository root
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>
#include <time.h>
#include "CKernels.h"

// The gunzipped bytes of Data/mnist/NAME.gz (through gzip -dc).
static uint8_t *readf(const char *name, size_t *n) {
    char command[256];
    snprintf(command, sizeof command, "gzip -dc Data/mnist/%s.gz", name);
    FILE *f = popen(command, "r");
    if (!f) { perror(command); exit(1); }
    size_t cap = 1 << 20; *n = 0;
    uint8_t *b = malloc(cap);
    for (size_t got; (got = fread(b + *n, 1, cap - *n, f)) > 0;) {
        *n += got;
        if (*n == cap) b = realloc(b, cap *= 2);
    }
    pclose(f);
    if (*n == 0) { fprintf(stderr, "cannot read %s\n", command); exit(1); }
    return b;
}
static double now(clockid_t c) { struct timespec t; clock_gettime(c, &t); return t.tv_sec + t.tv_nsec * 1e-9; }
static uint64_t rng = 0x12345678;
static uint64_t nxt(void) { rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17; return rng; }
static int cmpd(const void *a, const void *b) { double x = *(double*)a, y = *(double*)b; return x < y ? -1 : x > y; }

int main(int argc, char **argv) {
    int threads = argc > 1 ? atoi(argv[1]) : 1;
    int epochs = argc > 2 ? atoi(argv[2]) : 5;
    const char *path = argc > 3 ? argv[3] : NULL;
    if (path && mnl_set_kernel_path(path) != 0) { fprintf(stderr, "bad path\n"); return 1; }
    size_t n; uint8_t *img = readf("train-images-idx3-ubyte", &n);
    size_t nl; uint8_t *lab = readf("train-labels-idx1-ubyte", &nl);
    const int R = 60000, I = 784; uint8_t *labels = lab + 8; img += 16;
    int32_t *rs = malloc(4 * (R + 1)); uint16_t *col = malloc(2 * R * I); float *val = malloc(4 * R * I);
    int e = 0;
    for (int r = 0; r < R; r++) { rs[r] = e; for (int c = 0; c < I; c++) if (img[r * I + c]) { col[e] = c; val[e] = img[r * I + c] / 255.0f; e++; } }
    rs[R] = e;
    mnl_csr x = { rs, col, val };
    int32_t sizes[3] = {784, 100, 10};
    const int P = 785 * 100 + 101 * 10, B = 200;
    float *params = malloc(4 * P), *grad = calloc(P, 4), *vel = calloc(P, 4);
    for (int i = 0; i < P; i++) params[i] = ((int)(nxt() % 20001) - 10000) * 1e-5f;
    float *ws = calloc(2 * B * 110, 4);
    float *act[2] = { ws, ws + 2 * B * 100 }, *delta[2] = { ws + B * 100, ws + 2 * B * 100 + B * 10 };
    float *wt = calloc(1000, 4);
    void *scratch = aligned_alloc(64, (mnl_mlp_scratch_bytes(B, 784) + 63) / 64 * 64); memset(scratch, 0, mnl_mlp_scratch_bytes(B, 784));
    mnl_mlp net = { NULL, threads, 2, sizes, MNL_SIGMOID, 0.01f, MNL_CROSS_ENTROPY, params, grad, vel, act, delta, wt, scratch };
    float loss[200]; int32_t pred[200]; int32_t rows[200];
    int32_t *order = malloc(4 * 50000);
    if (epochs < 1 || epochs > 100) { fprintf(stderr, "epochs: 1...100\n"); return 1; }
    double tw[100], tc[100], vw[100];
    for (int ep = 0; ep <= epochs; ep++) {
        for (int i = 0; i < 50000; i++) order[i] = i;
        for (int i = 49999; i > 0; i--) { int j = nxt() % (i + 1); int t = order[i]; order[i] = order[j]; order[j] = t; }
        double w0 = now(CLOCK_MONOTONIC), c0 = now(CLOCK_PROCESS_CPUTIME_ID);
        for (int s = 0; s < 250; s++) {
            mnl_mlp_forward(&net, x, order + s * 200, 200, labels, 1, loss, pred);
            mnl_mlp_backward(&net, x, order + s * 200, 200, 1, 0.1f, 0);
        }
        double w1 = now(CLOCK_MONOTONIC), c1 = now(CLOCK_PROCESS_CPUTIME_ID);
        int correct = 0;
        for (int s = 0; s < 50; s++) {
            for (int b = 0; b < 200; b++) rows[b] = 50000 + s * 200 + b;
            mnl_mlp_forward(&net, x, rows, 200, labels, 0, loss, pred);
            for (int b = 0; b < 200; b++) correct += pred[b] == labels[rows[b]];
        }
        double w2 = now(CLOCK_MONOTONIC);
        if (ep > 0) { tw[ep - 1] = w1 - w0; tc[ep - 1] = c1 - c0; vw[ep - 1] = w2 - w1; }
        if (ep == epochs) fprintf(stderr, "acc %.4f\n", correct / 10000.0);
    }
    qsort(tw, epochs, 8, cmpd); qsort(tc, epochs, 8, cmpd); qsort(vw, epochs, 8, cmpd);
    uint64_t h = 0xcbf29ce484222325ull;
    for (int i = 0; i < P; i++) { uint32_t u; memcpy(&u, &params[i], 4); for (int k = 0; k < 4; k++) { h ^= (u >> (8 * k)) & 0xff; h *= 0x100000001b3ull; } }
    printf("%s t=%d train wall %.4f cpu %.4f  val %.4f  hash %016llx\n", mnl_kernel_path(), threads, tw[epochs / 2], tc[epochs / 2], vw[epochs / 2], (unsigned long long)h);
    return 0;
}
