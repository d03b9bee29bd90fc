"""Chapter 07's experiment: does label-preserving augmentation help a small CNN with little data?

The LeNet-style CNN of :func:`dlcv.models.lenet` is trained on stratified subsets of 100, 300
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
    .venv/bin/python scripts/augmentation_experiment.py --jobs 2       # on two worker processes

Each run is one process's job (``dlcv.grid.run_grid``) and depends on its arguments alone
(seeded, one BLAS thread), so the CSV is the same whatever ``--jobs`` is, apart from the
seconds column; ``--dask ADDRESS`` sends the runs to a Dask cluster instead.

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
from dlcv.grid import grid, run_grid

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "lib" / "dlcv" / "assets" / "augmentation_experiment.csv"


def _library_version() -> str:
    """The git commit of the repository and whether lib/dlcv has uncommitted changes."""
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=ROOT,
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--", "lib/dlcv"],
            cwd=ROOT,
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown (not a git checkout)"
    return f"commit {commit}" + (" with uncommitted changes in lib/dlcv" if dirty else "")


def one_run(n_train: int, augmentation: str, seed: int, steps: int, batch_size: int) -> dict:
    """One training run of the grid (in a worker process): its CSV row."""
    row, _ = train_run(
        load_mnist(), n_train, augmentation, seed, steps=steps, batch_size=batch_size
    )
    return row


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=SIZES)
    parser.add_argument("--seeds", type=int, nargs="+", default=SEEDS)
    parser.add_argument("--settings", nargs="+", default=list(SETTINGS), choices=list(SETTINGS))
    parser.add_argument("--steps", type=int, default=STEPS)
    parser.add_argument("--batch-size", type=int, default=BATCH_SIZE)
    parser.add_argument(
        "--jobs",
        type=int,
        default=1,
        help="worker processes (-1: every core); results do not depend on it",
    )
    parser.add_argument(
        "--dask",
        metavar="ADDRESS",
        help="run on the Dask cluster whose scheduler is at ADDRESS "
        "(needs `pip install distributed`)",
    )
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    backend = None
    if args.dask:
        from distributed import Client  # optional: only for a cluster

        client = Client(args.dask)  # joblib's "dask" backend runs on this client
        print(f"running on {client}")
        backend = "dask"
    configs = grid(
        n_train=args.sizes,
        seed=args.seeds,
        augmentation=args.settings,
        steps=[args.steps],
        batch_size=[args.batch_size],
    )
    start = time.perf_counter()
    rows = run_grid(one_run, configs, jobs=args.jobs, backend=backend, desc="training runs")
    wall = time.perf_counter() - start
    command = "python scripts/augmentation_experiment.py " + shlex.join(argv)
    version = _library_version()  # before the CSV (inside lib/dlcv) is rewritten
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with args.out.open("w", newline="") as f:
        f.write(f"# command: {command.strip()}\n")
        f.write(f"# date: {datetime.datetime.now().isoformat(timespec='seconds')}\n")
        f.write(
            f"# model: dlcv.models.lenet(rng=seed); Adam(lr={LR:g}); batch_size "
            f"{args.batch_size}; {args.steps} steps per run; label-preserving pipeline "
            f"{PIPELINE!r}\n"
        )
        f.write(f"# library: dlcv at {version}\n")
        f.write(
            f"# machine: {platform.platform()}, Python {platform.python_version()}, "
            f"NumPy {np.__version__}; {args.jobs} worker(s), wall time {wall:.0f} s\n"
        )
        writer = csv.DictWriter(f, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    for row in rows:
        print(
            f"n={row['n_train']:>5} {row['augmentation']:<16} seed={row['seed']}  "
            f"train {row['train_accuracy']:.3f}  test {row['test_accuracy']:.3f}  "
            f"({row['seconds']:.0f} s)"
        )
    print(f"wrote {len(rows)} rows to {args.out} in {wall:.0f} s on {args.jobs} worker(s)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
