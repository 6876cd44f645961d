#!/usr/bin/env python3
"""The seed epoch in numpy: the baseline MNISTLab's engine is compared against.

784 -> 100 sigmoid -> 10 softmax, cross-entropy, plain mini-batch SGD (lr 0.1, batch 200),
float32 throughout, trained on the first 50 000 MNIST training images (read from
Data/mnist/*.gz with gzip + numpy, pixels / 255) and evaluated on the last 10 000. Weights are
uniform in [-0.5, 0.5), biases 0. Each epoch shuffles, gathers each batch with fancy indexing
(part of numpy's cost, as a dense implementation must copy), and does the same maths as the
engine: X.W1 + b1, sigmoid, .W2 + b2, softmax CE, backprop, SGD.

Prints one JSON line: median seconds per training epoch and per validation pass over
--epochs measured epochs (after one warm-up epoch).

    python3 Benchmarks/numpy_epoch.py [--epochs 7] [--data Data/mnist]
"""
import argparse
import gzip
import json
import os
import statistics
import time

import numpy as np


def load(directory):
    with gzip.open(os.path.join(directory, "train-images-idx3-ubyte.gz")) as f:
        images = np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 784)
    with gzip.open(os.path.join(directory, "train-labels-idx1-ubyte.gz")) as f:
        labels = np.frombuffer(f.read(), np.uint8, offset=8)
    x = images.astype(np.float32) / np.float32(255)
    return x[:50000], labels[:50000], x[50000:], labels[50000:]


def sigmoid(z):
    return np.float32(1) / (np.float32(1) + np.exp(-z))


def train_epoch(params, x, y, order, lr, batch):
    w1, b1, w2, b2 = params
    lr = np.float32(lr)
    for start in range(0, len(order), batch):
        idx = order[start:start + batch]
        xb = x[idx]
        yb = y[idx]
        n = np.float32(len(idx))
        a1 = sigmoid(xb @ w1 + b1)
        z2 = a1 @ w2 + b2
        z2 -= z2.max(axis=1, keepdims=True)
        p = np.exp(z2)
        p /= p.sum(axis=1, keepdims=True)
        p[np.arange(len(idx)), yb] -= np.float32(1)
        d2 = p / n
        dw2 = a1.T @ d2
        db2 = d2.sum(axis=0)
        d1 = (d2 @ w2.T) * a1 * (np.float32(1) - a1)
        dw1 = xb.T @ d1
        db1 = d1.sum(axis=0)
        w1 -= lr * dw1
        b1 -= lr * db1
        w2 -= lr * dw2
        b2 -= lr * db2


def evaluate(params, x, y):
    w1, b1, w2, b2 = params
    z2 = sigmoid(x @ w1 + b1) @ w2 + b2
    z2 -= z2.max(axis=1, keepdims=True)
    logp = z2 - np.log(np.exp(z2).sum(axis=1, keepdims=True))
    return float(-logp[np.arange(len(y)), y].mean()), float((z2.argmax(axis=1) == y).mean())


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=7)
    parser.add_argument("--data", default="Data/mnist")
    args = parser.parse_args()

    x, y, xv, yv = load(args.data)
    rng = np.random.default_rng(1)
    params = [
        (rng.random((784, 100), dtype=np.float32) - np.float32(0.5)),
        np.zeros(100, np.float32),
        (rng.random((100, 10), dtype=np.float32) - np.float32(0.5)),
        np.zeros(10, np.float32),
    ]
    train_seconds, evaluate_seconds = [], []
    for epoch in range(args.epochs + 1):
        order = rng.permutation(len(x))
        t0 = time.perf_counter()
        train_epoch(params, x, y, order, 0.1, 200)
        t1 = time.perf_counter()
        _, accuracy = evaluate(params, xv, yv)
        t2 = time.perf_counter()
        if epoch > 0:
            train_seconds.append(t1 - t0)
            evaluate_seconds.append(t2 - t1)
    config = np.show_config(mode="dicts") if hasattr(np, "show_config") else {}
    blas = config.get("Build Dependencies", {}).get("blas", {}).get("name", "?") if config else "?"
    print(json.dumps({
        "numpy": np.__version__,
        "blas": blas,
        "epochs": args.epochs,
        "median_train_seconds": round(statistics.median(train_seconds), 6),
        "median_evaluate_seconds": round(statistics.median(evaluate_seconds), 6),
        "train_seconds": [round(s, 6) for s in train_seconds],
        "validation_accuracy": accuracy,
    }))


if __name__ == "__main__":
    main()
