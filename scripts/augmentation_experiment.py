"""Chapter 07's experiment: does label-preserving augmentation help a small CNN with little data?

The LeNet-style CNN of :func:`dlcv.train.lenet` is trained on stratified subsets of 100, 300
and 1,000 images of the 4,000-image MNIST training split (:func:`dlcv.data.load_mnist`),
for several seeds, in three ways: without augmentation, with label-preserving augmentation
(small rotations, zooms and shifts; no flips) and with the tutorial's kind of augmentation
(coin flips for a transpose, a left-right and a top-bottom flip). Every model is tested on the
1,000 held-out images.

Fairness: for a given size and seed, every setting gets the same subset, the same initial
weights, the same order of mini-batches and the same number of gradient steps (``--steps``
mini-batches of ``--batch-size`` images, whatever the size: 150 epochs of 100 images, 50 of
300, 15 of 1,000). The only difference is that with augmentation every epoch trains on a
freshly augmented copy of the subset.

Usage::

    .venv/bin/python scripts/augmentation_experiment.py                  # 3 sizes x 3 x 5 seeds
    .venv/bin/python scripts/augmentation_experiment.py --sizes 100 --seeds 0 --out /tmp/one.csv

Writes one CSV row per training run (size, setting, seed, epochs, steps, train and test
accuracy and loss, seconds) to ``lib/dlcv/assets/augmentation_experiment.csv`` by default,
after comment lines (``#``) recording the command, the date, the library version and the
settings. Chapter 07 reads that file through the installed package and re-runs some rows
live to check them.
"""

from __future__ import annotations

import argparse
import csv
import datetime
import platform
import shlex
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from sklearn.model_selection import train_test_split
from threadpoolctl import threadpool_limits
from tqdm.auto import tqdm

from dlcv.augment import Compose, RandomRotation, RandomScale, RandomTranslation
from dlcv.data import load_mnist
from dlcv.train import Adam, evaluate, fit, lenet

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "lib" / "dlcv" / "assets" / "augmentation_experiment.csv"
SIZES = (100, 300, 1000)
SEEDS = (0, 1, 2, 3, 4)
STEPS = 750
BATCH_SIZE = 20
LR = 1e-3
COLUMNS = ("n_train", "augmentation", "seed", "epochs", "steps", "train_accuracy", "test_accuracy",
           "train_loss", "test_loss", "seconds")

# Label-preserving for digits: up to ±15 degrees, ±10 % zoom, ±2 pixels; no flips.
PIPELINE = Compose([RandomRotation(15), RandomScale(0.9, 1.1), RandomTranslation(2)])


def tutorial_flips(x, rng, layout="NCHW"):
    """Our version of the tutorial's augmentation, on a batch (N, C, H, W) of square
    images: three coin flips per image, for a transpose, a left-right and a top-bottom flip."""
    x = x.copy()
    flips = (lambda a: a.swapaxes(-1, -2), lambda a: a[..., ::-1], lambda a: a[..., ::-1, :])
    for flip in flips:
        chosen = rng.random(len(x)) < 0.5
        x[chosen] = flip(x[chosen])
    return x


SETTINGS = {"none": None, "label-preserving": PIPELINE,
            "tutorial flips": Compose([tutorial_flips])}
"""The three ways of training compared: no augmentation, the label-preserving pipeline,
and the tutorial's flips and transpose (which change what many digits look like)."""


def stratified_subset(x, y, n, seed):
    """``n`` images, classes in the proportions of ``y`` (10 per class for n = 100)."""
    if n >= len(y):
        return x, y
    index, _ = train_test_split(np.arange(len(y)), train_size=n, stratify=y,
                                random_state=seed)
    return x[index], y[index]


def train_run(data, n_train, augmentation, seed, steps=STEPS, batch_size=BATCH_SIZE,
              lr=LR):
    """Train one CNN; return the CSV row (a dict; accuracies as fractions) and the model.

    Runs with one BLAS thread: matrix products then add up in the same order on every
    run, so the same arguments give the same weights bit for bit (with two threads the
    last bits can differ), and on a busy machine it is also faster.
    """
    x, y = stratified_subset(data.x_train, data.y_train, n_train, seed)
    if steps * batch_size % n_train:
        raise ValueError(f"steps * batch_size ({steps * batch_size}) must be a multiple "
                         f"of n_train ({n_train})")
    epochs = steps * batch_size // n_train
    model, optimizer = lenet(rng=seed), Adam(lr)
    pipeline = SETTINGS[augmentation]
    augment_rng = np.random.default_rng([seed, 7])
    start = time.perf_counter()
    with threadpool_limits(1):
        for epoch in range(epochs):
            images = x if pipeline is None else pipeline(x, rng=augment_rng)
            fit(model, images, y, epochs=1, batch_size=batch_size, optimizer=optimizer,
                seed=seed * 10_000 + epoch, verbose=False)
        train_loss, train_acc = evaluate(model, x, y)
        test_loss, test_acc = evaluate(model, data.x_test, data.y_test)
    row = {"n_train": n_train, "augmentation": augmentation, "seed": seed,
           "epochs": epochs, "steps": steps, "train_accuracy": train_acc,
           "test_accuracy": test_acc, "train_loss": round(float(train_loss), 6),
           "test_loss": round(float(test_loss), 6),
           "seconds": round(time.perf_counter() - start, 1)}
    return row, model
# --- end of the code shown in chapter 07 ---


def _library_version() -> str:
    """The git commit of the repository and whether lib/dlcv has uncommitted changes."""
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, check=True,
                                capture_output=True, text=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "lib/dlcv"], cwd=ROOT,
                               check=True, capture_output=True, text=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown (not a git checkout)"
    return f"commit {commit}" + (" with uncommitted changes in lib/dlcv" if dirty else "")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=SIZES)
    parser.add_argument("--seeds", type=int, nargs="+", default=SEEDS)
    parser.add_argument("--settings", nargs="+", default=list(SETTINGS), choices=list(SETTINGS))
    parser.add_argument("--steps", type=int, default=STEPS)
    parser.add_argument("--batch-size", type=int, default=BATCH_SIZE)
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    data = load_mnist()
    runs = [(n, aug, seed) for n in args.sizes for seed in args.seeds for aug in args.settings]
    command = "python scripts/augmentation_experiment.py " + shlex.join(argv)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with args.out.open("w", newline="") as f:
        f.write(f"# command: {command.strip()}\n")
        f.write(f"# date: {datetime.datetime.now().isoformat(timespec='seconds')}\n")
        f.write(f"# model: dlcv.train.lenet(rng=seed); Adam(lr={LR:g}); batch_size "
                f"{args.batch_size}; {args.steps} steps per run; label-preserving pipeline "
                f"{PIPELINE!r}\n")
        f.write(f"# library: dlcv at {_library_version()}\n")
        f.write(f"# machine: {platform.platform()}, Python {platform.python_version()}, "
                f"NumPy {np.__version__}\n")
        writer = csv.DictWriter(f, fieldnames=COLUMNS)
        writer.writeheader()
        for n, aug, seed in tqdm(runs, desc="training runs", unit="run"):
            row, _ = train_run(data, n, aug, seed, steps=args.steps, batch_size=args.batch_size)
            writer.writerow(row)
            f.flush()
            tqdm.write(f"n={n:>5} {aug:<16} seed={seed}  train {row['train_accuracy']:.3f}  "
                       f"test {row['test_accuracy']:.3f}  ({row['seconds']:.0f} s)")
    print(f"wrote {len(runs)} rows to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
