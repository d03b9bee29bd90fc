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
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from dlcv.augment_experiment import (
    BATCH_SIZE,
    COLUMNS,
    LR,
    PIPELINE,
    SEEDS,
    SETTINGS,
    SIZES,
    STEPS,
    train_run,
)
from dlcv.data import load_mnist

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "lib" / "dlcv" / "assets" / "augmentation_experiment.csv"


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
