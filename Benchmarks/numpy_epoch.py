#!/usr/bin/env python3
"""The seed epoch in numpy: the baseline MNISTLab's engine is compared against.

784 -> hidden... -> 10 softmax (default: one sigmoid layer of 100), cross-entropy, plain
mini-batch SGD (lr 0.1, batch 200), float32 throughout, trained on the first 50 000 MNIST
training images (read from Data/mnist/*.gz with gzip + numpy, pixels / 255) and evaluated on
the last 10 000. Weights are uniform in [-0.5, 0.5), biases 0. Each epoch shuffles, gathers
each batch with fancy indexing (part of numpy's cost, as a dense implementation must copy),
and does the same maths as the engine: X.W + b and the activation per hidden layer, softmax
CE, backprop, SGD.

Prints one JSON line: median seconds per training epoch and per validation pass over
--epochs measured epochs (after one warm-up epoch).

    python3 Benchmarks/numpy_epoch.py [--epochs 7] [--data Data/mnist] [--hidden 100]
                                      [--activation sigmoid|relu|leaky-relu]
"""
import argparse
import gzip
import json
import os
import statistics
import time

import numpy as np

ONE = np.float32(1)
LEAK = np.float32(0.01)


def load(directory):
    with gzip.open(os.path.join(directory, "train-images-idx3-ubyte.gz")) as f:
        images = np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 784)
    with gzip.open(os.path.join(directory, "train-labels-idx1-ubyte.gz")) as f:
        labels = np.frombuffer(f.read(), np.uint8, offset=8)
    x = images.astype(np.float32) / np.float32(255)
    return x[:50000], labels[:50000], x[50000:], labels[50000:]


def activate(z, kind):
    if kind == "sigmoid":
        return ONE / (ONE + np.exp(-z))
    if kind == "relu":
        return np.maximum(z, np.float32(0))
    return np.where(z > 0, z, LEAK * z)


def derivative(a, kind):
    """f'(z) from a = f(z), as the engine computes it."""
    if kind == "sigmoid":
        return a * (ONE - a)
    if kind == "relu":
        return (a > 0).astype(np.float32)
    return np.where(a > 0, ONE, LEAK)


def forward(params, x, kind):
    activations = [x]
    for w, b in params[:-1]:
        activations.append(activate(activations[-1] @ w + b, kind))
    w, b = params[-1]
    z = activations[-1] @ w + b
    z -= z.max(axis=1, keepdims=True)
    return activations, z


def train_epoch(params, x, y, order, lr, batch, kind):
    lr = np.float32(lr)
    for start in range(0, len(order), batch):
        idx = order[start:start + batch]
        activations, z = forward(params, x[idx], kind)
        p = np.exp(z)
        p /= p.sum(axis=1, keepdims=True)
        p[np.arange(len(idx)), y[idx]] -= ONE
        delta = p / np.float32(len(idx))
        for layer in range(len(params) - 1, -1, -1):
            w, b = params[layer]
            a = activations[layer]
            dw = a.T @ delta
            db = delta.sum(axis=0)
            if layer > 0:
                delta = (delta @ w.T) * derivative(a, kind)
            w -= lr * dw
            b -= lr * db


def evaluate(params, x, y, kind):
    _, z = forward(params, x, kind)
    logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    return float(-logp[np.arange(len(y)), y].mean()), float((z.argmax(axis=1) == y).mean())


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=7)
    parser.add_argument("--data", default="Data/mnist")
    parser.add_argument("--hidden", default="100")
    parser.add_argument("--activation", default="sigmoid",
                        choices=["sigmoid", "relu", "leaky-relu"])
    args = parser.parse_args()

    x, y, xv, yv = load(args.data)
    rng = np.random.default_rng(1)
    sizes = [784] + [int(h) for h in args.hidden.split(",")] + [10]
    params = [
        (rng.random((i, o), dtype=np.float32) - np.float32(0.5), np.zeros(o, np.float32))
        for i, o in zip(sizes, sizes[1:])
    ]
    train_seconds, evaluate_seconds = [], []
    for epoch in range(args.epochs + 1):
        order = rng.permutation(len(x))
        t0 = time.perf_counter()
        train_epoch(params, x, y, order, 0.1, 200, args.activation)
        t1 = time.perf_counter()
        _, accuracy = evaluate(params, xv, yv, args.activation)
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
        "hidden": args.hidden,
        "activation": args.activation,
        "median_train_seconds": round(statistics.median(train_seconds), 6),
        "median_evaluate_seconds": round(statistics.median(evaluate_seconds), 6),
        "train_seconds": [round(s, 6) for s in train_seconds],
        "validation_accuracy": accuracy,
    }))


if __name__ == "__main__":
    main()
