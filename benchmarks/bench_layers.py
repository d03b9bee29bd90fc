"""Time the training layers of dlcv against PyTorch and a tutorial-style loop.

Usage::

    .venv/bin/python benchmarks/bench_layers.py              # every table
    .venv/bin/python benchmarks/bench_layers.py --quick      # fewer rounds, no naive loop
    .venv/bin/python benchmarks/bench_layers.py --threads 1  # one BLAS (and torch) thread

Three tables, printed as Markdown:

1. ``Conv2D`` forward + backward (gradients of input, weight and bias), float32,
   batch 64 of 28x28 maps, 3x3 kernels with padding 1: 1 -> 8 channels, then
   8 -> 16 channels. Side by side in interleaved rounds: ``dlcv.layers.Conv2D``,
   PyTorch's ``conv2d`` with autograd (when ``import torch`` works), and a naive
   loop of our own written the way the tutorial writes its convolution (one
   window product per output pixel and filter, in Python, and the same loops for
   the backward pass). The naive loop takes seconds, so it is timed on 8 of the 64
   images, over 3 rounds, and scaled by 8 (its cost is linear in the batch size).
2. One training epoch of the chapter-06 LeNet (``dlcv.models.lenet``: two 5x5
   convolutions with 8 and 16 filters, pooling, a 64-unit dense layer) on the
   4,000 MNIST training images, batch 32, Adam; PyTorch's equivalent network on the
   same data and batches when importable. Median over epochs.
3. Peak memory of a training run: ``tracemalloc``'s peak of Python/NumPy
   allocations during one dlcv epoch, and the process's peak resident size.

All implementations are checked against each other before anything is timed.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import sys
import time
import tracemalloc
from functools import partial
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_kernels import interleaved_medians, machine_report, ms, table  # noqa: E402

from dlcv import naive  # noqa: E402
from dlcv.data import load_mnist  # noqa: E402
from dlcv.layers import Conv2D  # noqa: E402
from dlcv.models import lenet  # noqa: E402
from dlcv.optim import Adam  # noqa: E402
from dlcv.train import fit  # noqa: E402

try:
    import torch
except ImportError:  # torch is optional: not in requirements.txt
    torch = None


# ------------------------------------------------------------------ the naive baseline
def naive_conv_forward(x, weight, bias, pad):
    """The obvious loop: one window product per image, filter and output pixel."""
    return naive.conv2d(x, weight, bias, padding=pad)


def naive_conv_backward(dout, x, weight, pad):
    """The same loops for the gradients of input, weight and bias."""
    return naive.conv2d_backward(dout, x, weight, padding=pad)


# ------------------------------------------------------------------ table 1
def conv_functions(c_in, c_out, rng):
    """fwd+bwd of one 3x3 layer on (64, c_in, 28, 28): dlcv, torch, naive (8 images)."""
    x = rng.random((64, c_in, 28, 28), dtype=np.float32)
    layer = Conv2D(c_in, c_out, 3, padding=1, rng=rng)
    layer.params["bias"] = rng.normal(size=c_out).astype(np.float32)
    w, b = layer.params["weight"], layer.params["bias"]
    dout = rng.normal(size=(64, c_out, 28, 28)).astype(np.float32)

    def ours():
        layer.forward(x)
        return layer.backward(dout), layer.grads["weight"], layer.grads["bias"]

    funcs = {"dlcv": ours}
    if torch is not None:
        tx, tw, tb = (torch.from_numpy(a.copy()).requires_grad_() for a in (x, w, b))
        tdout = torch.from_numpy(dout)

        def theirs():
            for t in (tx, tw, tb):
                t.grad = None
            torch.nn.functional.conv2d(tx, tw, tb, padding=1).backward(tdout)
            return tx.grad.numpy(), tw.grad.numpy(), tb.grad.numpy()

        funcs["torch"] = theirs
    few = slice(0, 8)

    def naive():
        naive_conv_forward(x[few], w, b, 1)
        return naive_conv_backward(dout[few], x[few], w, 1)

    layer.forward(x[few])
    reference = (layer.backward(dout[few]), layer.grads["weight"], layer.grads["bias"])
    for got, want in zip(naive(), reference, strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-3, atol=1e-3)
    if torch is not None:
        for got, want in zip(theirs(), ours(), strict=True):
            np.testing.assert_allclose(got, want, rtol=1e-3, atol=1e-3)
    return funcs, naive


def conv_table(rounds, with_naive):
    rng = np.random.default_rng(0)
    rows = []
    for c_in, c_out in ((1, 8), (8, 16)):
        funcs, naive = conv_functions(c_in, c_out, rng)
        times = interleaved_medians(funcs, rounds)
        row = [f"{c_in} -> {c_out}", ms(times["dlcv"])]
        if torch is not None:
            row += [ms(times["torch"]), f"{times['dlcv'] / times['torch']:.2f}"]
        if with_naive:
            naive_time = 8 * statistics.median(_timed(naive) for _ in range(3))
            row += [ms(naive_time), f"{naive_time / times['dlcv']:.0f}x"]
        rows.append(row)
    header = ["3x3 conv, batch 64, 28x28", "dlcv Conv2D"]
    if torch is not None:
        header += ["torch conv2d + autograd", "dlcv / torch (target <= 3)"]
    if with_naive:
        header += ["naive loop (8 images x 8)", "naive / dlcv"]
    print(f"#### Conv2D forward + backward, float32 (median of {rounds} rounds)\n")
    table(header, rows)


def _timed(f):
    start = time.perf_counter()
    f()
    return time.perf_counter() - start


# ------------------------------------------------------------------ table 2
def torch_lenet():
    nn = torch.nn
    return nn.Sequential(
        nn.Conv2d(1, 8, 5, padding=2),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(8, 16, 5, padding=2),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(16 * 7 * 7, 64),
        nn.ReLU(),
        nn.Linear(64, 10),
    )


def torch_epoch(model, opt, x, y, order, batch_size):
    loss_fn = torch.nn.CrossEntropyLoss()
    for start in range(0, len(x), batch_size):
        idx = order[start : start + batch_size]
        opt.zero_grad()
        loss_fn(model(x[idx]), y[idx]).backward()
        opt.step()


def epoch_table(epochs):
    """Epochs of dlcv and PyTorch alternate (dlcv, torch, dlcv, ...), so load hits both."""
    d = load_mnist()
    model, opt = lenet(rng=0), Adam(1e-3)
    ours, theirs = [], []
    if torch is not None:
        torch.manual_seed(0)
        tmodel = torch_lenet()
        topt = torch.optim.Adam(tmodel.parameters(), 1e-3)
        tx, ty = torch.from_numpy(d.x_train), torch.from_numpy(d.y_train)
    rng = np.random.default_rng(0)
    for epoch in range(epochs):
        ours.append(
            _timed(
                partial(
                    fit,
                    model,
                    d.x_train,
                    d.y_train,
                    epochs=1,
                    batch_size=32,
                    optimizer=opt,
                    seed=epoch,
                    verbose=False,
                )
            )
        )
        if torch is not None:
            order = torch.from_numpy(rng.permutation(len(tx)))
            theirs.append(_timed(partial(torch_epoch, tmodel, topt, tx, ty, order, 32)))
    rows = [["dlcv (NumPy)", ms(statistics.median(ours)), "1.00"]]
    if theirs:
        t = statistics.median(theirs)
        rows.append(["PyTorch", ms(t), f"{t / statistics.median(ours):.2f}"])
    print(
        f"#### One training epoch, chapter-06 LeNet, 4,000 MNIST images, batch 32 "
        f"(median of {epochs} epochs, alternating)\n"
    )
    table(["implementation", "time per epoch", "ratio to dlcv"], rows)


# ------------------------------------------------------------------ table 3
def memory_table():
    d = load_mnist()
    model = lenet(rng=0)
    tracemalloc.start()
    fit(model, d.x_train, d.y_train, epochs=1, batch_size=32, verbose=False)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    data_mb = (d.x_train.nbytes + d.x_test.nbytes) / 2**20
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    print("#### Memory of a training run (dlcv LeNet, one epoch, batch 32)\n")
    table(
        ["measure", "value"],
        [
            ["tracemalloc peak during the epoch", f"{peak / 2**20:.1f} MiB"],
            [
                "of which the MNIST arrays (train + test)",
                f"{data_mb:.1f} MiB (loaded before, not in the peak above)",
            ],
            ["peak resident set size of the process (whole script)", f"{rss:.0f} MiB"],
        ],
    )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer rounds, no naive loop")
    parser.add_argument("--threads", type=int, help="BLAS and torch threads (default: theirs)")
    args = parser.parse_args(argv)
    if args.threads:
        from threadpoolctl import threadpool_limits

        threadpool_limits(args.threads)
        if torch is not None:
            torch.set_num_threads(args.threads)
    machine_report()
    conv_table(rounds=5 if args.quick else 15, with_naive=not args.quick)
    epoch_table(epochs=2 if args.quick else 3)
    memory_table()


if __name__ == "__main__":
    main()
