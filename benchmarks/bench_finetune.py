"""Time one fine-tuning epoch with the convolutions frozen against the same epoch unfrozen.

Usage::

    .venv/bin/python benchmarks/bench_finetune.py               # 7 rounds
    .venv/bin/python benchmarks/bench_finetune.py --rounds 3    # quicker
    .venv/bin/python benchmarks/bench_finetune.py --threads 2   # two BLAS threads

One epoch of chapter 09's fine-tuning (:func:`dlcv.train.train_epoch`): the 997 training
digits of :func:`dlcv.transfer.load_target_digits`, mini-batches of 32, Adam, starting
from the shipped MNIST LeNet (16/32 channels) with a new last layer
(:func:`dlcv.transfer.prepare`), for each way that starts from it:

* ``fine-tune all``: every layer trained;
* ``fine-tune dense``: the two convolutions frozen (``layer.trainable = False``), so the
  backward pass stops at the first dense layer;
* ``frozen``: only the new last layer trained;
* and, as the floor no freezing can go below, the forward passes of the same batches
  alone (training mode, no loss, no backward pass, no update).

The ways run side by side in interleaved rounds (one epoch of each, then the next round),
so a busy moment of the machine hits all of them; the table shows the median seconds per
epoch over the rounds and the ratio to ``fine-tune all``. Before timing, one epoch of each
way is checked: frozen parameters are bit-for-bit unchanged, trained ones have moved.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_kernels import machine_report, ms, table  # noqa: E402

from dlcv.optim import Adam  # noqa: E402
from dlcv.train import train_epoch  # noqa: E402
from dlcv.transfer import load_target_digits, prepare  # noqa: E402

WAYS = ("fine-tune all", "fine-tune dense", "frozen")
BATCH = 32


def epoch(model, optimizer, x, y, seed):
    train_epoch(model, x, y, optimizer, batch_size=BATCH, rng=np.random.default_rng(seed))


def forward_only(model, x, seed):
    order = np.random.default_rng(seed).permutation(len(x))
    model.train()
    for first in range(0, len(x), BATCH):
        model.forward(x[order[first : first + BATCH]])


def check_freezing(x, y):
    """One epoch of each way: frozen layers unchanged bit for bit, trained layers moved."""
    for way in WAYS:
        model = prepare(way, seed=0)
        before = [{k: v.copy() for k, v in layer.params.items()} for layer in model.layers]
        epoch(model, Adam(1e-3), x, y, 0)
        for layer, old in zip(model.layers, before, strict=True):
            for name, value in layer.params.items():
                same = np.array_equal(value, old[name])
                assert same == (not layer.trainable), f"{way}: {layer!r}.{name}"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7, help="interleaved rounds (default 7)")
    parser.add_argument("--threads", type=int, default=1, help="BLAS threads (default 1)")
    args = parser.parse_args(argv)
    threadpool_limits(args.threads)
    machine_report()
    parts = load_target_digits()
    x, y = parts.x_train, parts.y_train
    check_freezing(x, y)
    models = {way: prepare(way, seed=0) for way in WAYS}
    optimizers = {way: Adam(1e-3) for way in WAYS}
    runs = {
        **{way: (lambda w=way: epoch(models[w], optimizers[w], x, y, 0)) for way in WAYS},
        "forward passes only": lambda: forward_only(models["frozen"], x, 0),
    }
    for run in runs.values():  # warm-up
        run()
    samples = {name: [] for name in runs}
    for _ in range(args.rounds):
        for name, run in runs.items():
            start = time.perf_counter()
            run()
            samples[name].append(time.perf_counter() - start)
    medians = {name: statistics.median(s) for name, s in samples.items()}
    trained = {way: sum(p.size for _, p, _ in models[way].parameters()) for way in WAYS}
    rows = []
    for name, seconds in medians.items():
        params = f"{trained[name]:,}" if name in trained else "none"
        ratio = seconds / medians["fine-tune all"]
        rows.append([name, params, ms(seconds), f"{ratio:.2f}"])
    print(
        f"#### One fine-tuning epoch: {len(x)} target digits, batch {BATCH}, Adam, shipped "
        f"LeNet 16/32 (median of {args.rounds} interleaved rounds, {args.threads} BLAS "
        "thread(s))\n"
    )
    table(["way", "parameters trained", "time per epoch", "ratio to fine-tune all"], rows)


if __name__ == "__main__":
    main()
