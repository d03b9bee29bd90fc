"""Chapter 07's experiments: does augmentation help a small CNN with little data, and does
training on shifted digits make the network robust to shifts?

Both use the course's fixed parts, :func:`dlcv.data.load_mnist_splits`: 3,500 training,
500 validation and 1,000 test digits (the first 500 of each class of MNIST's training
set). Networks learn from the training part only; every run is scored on the validation
part; the test part is scored too, for the record, and is never used to choose anything.

1. The grid (:func:`dlcv.augment_experiment.train_run`): the LeNet-style CNN of
   :func:`dlcv.models.lenet` on stratified subsets of 100, 300 and 1,000 training images,
   five seeds, five settings: ``none``, ``shifts`` (random shifts of up to 3 pixels),
   ``label-preserving`` (small rotations, zooms and shifts, drawn afresh every epoch),
   ``label-preserving once`` (the same, drawn once before training) and ``flips`` (coin
   flips for a transpose, a left-right and a top-bottom flip). For a given size and seed
   every setting gets the same subset, initial weights, order of mini-batches and number
   of gradient steps (``--steps`` mini-batches of ``--batch-size`` images: 150 epochs of
   100 images, 50 of 300, 15 of 1,000). Writes ``lib/dlcv/assets/augmentation_experiment.csv``.
2. The shift curves (:func:`dlcv.augment_experiment.shift_run`): chapter 06's network and
   recipe on all 3,500 training digits, five seeds, with ``none``, ``shifts`` and
   ``label-preserving``; validation accuracy on digits moved 0 to 6 pixels in each of four
   directions. Writes ``lib/dlcv/assets/augmentation_shifts.csv``.

Usage, from the root of a clone of the repository (the script is not part of the
installed package; it imports the installed ``dlcv``)::

    .venv/bin/python scripts/augmentation_experiment.py --jobs 2       # both, 2 workers
    .venv/bin/python scripts/augmentation_experiment.py --parts grid --sizes 100 --seeds 0 \\
        --out /tmp/one.csv                                             # one size, one seed

Outside a clone there is no default output file: give ``--out`` and ``--shift-out``.
Each run is one process's job (``dlcv.grid.run_grid``) and depends on its arguments alone
(seeded, one BLAS thread), so the CSVs are the same whatever ``--jobs`` is, apart from the
seconds column; ``--dask ADDRESS`` sends the runs to a Dask cluster instead. Every CSV
starts with comment lines (``#``): the command, the date, the library's commit
(``dlcv.grid.library_version``, read when the runs start), the machine and the settings.
Chapter 07 reads both files through the installed package and re-runs some rows live.
"""

from __future__ import annotations

import argparse
import shlex
import sys
import time
from pathlib import Path

from dlcv.augment_experiment import (
    BATCH_SIZE,
    COLUMNS,
    LR,
    PIPELINE,
    SEEDS,
    SETTINGS,
    SHIFT_COLUMNS,
    SHIFT_DISTANCES,
    SHIFT_SETTINGS,
    SHIFTS,
    SIZES,
    STEPS,
    shift_run,
    train_run,
)
from dlcv.data import load_mnist_splits
from dlcv.grid import grid, library_version, provenance, run_grid, write_csv
from dlcv.models import LENET_MNIST_RECIPE

ROOT = Path(__file__).resolve().parents[1]
ASSETS = ROOT / "lib" / "dlcv" / "assets"
IN_CLONE = (ROOT / "lib" / "dlcv" / "__init__.py").is_file()
DATA = "data: dlcv.data.load_mnist_splits() (3,500 training / 500 validation / 1,000 test)"


def one_job(kind: str, **config):
    """One job of either grid (in a worker process): a CSV row, or a list of rows."""
    if kind == "grid":
        return train_run(load_mnist_splits(), **config)[0]
    return shift_run(load_mnist_splits(), **config)[0]


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--parts", nargs="+", choices=("grid", "shifts"), default=["grid", "shifts"]
    )
    parser.add_argument("--sizes", type=int, nargs="+", default=SIZES)
    parser.add_argument("--seeds", type=int, nargs="+", default=SEEDS)
    parser.add_argument("--settings", nargs="+", default=list(SETTINGS), choices=list(SETTINGS))
    parser.add_argument(
        "--shift-settings", nargs="+", default=list(SHIFT_SETTINGS), choices=SHIFT_SETTINGS
    )
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
    default_out = ASSETS / "augmentation_experiment.csv" if IN_CLONE else None
    default_shift_out = ASSETS / "augmentation_shifts.csv" if IN_CLONE else None
    parser.add_argument("--out", type=Path, default=default_out, help="the grid's CSV")
    parser.add_argument("--shift-out", type=Path, default=default_shift_out, help="shifts CSV")
    args = parser.parse_args(argv)
    for part, out in (("grid", args.out), ("shifts", args.shift_out)):
        if part in args.parts and out is None:
            parser.error(f"not run from a clone of the repository: give the {part} CSV's path")
    backend = None
    if args.dask:
        from distributed import Client  # optional: only for a cluster

        client = Client(args.dask)  # joblib's "dask" backend runs on this client
        print(f"running on {client}")
        backend = "dask"
    configs = []
    if "shifts" in args.parts:  # the longer runs first, so that the workers finish together
        configs += grid(kind=["shifts"], augmentation=args.shift_settings, seed=args.seeds)
    if "grid" in args.parts:
        configs += grid(
            kind=["grid"],
            n_train=args.sizes,
            seed=args.seeds,
            augmentation=args.settings,
            steps=[args.steps],
            batch_size=[args.batch_size],
        )
    version = library_version()  # the code these runs use
    start = time.perf_counter()
    results = run_grid(one_job, configs, jobs=args.jobs, backend=backend, desc="training runs")
    wall = time.perf_counter() - start
    command = "python scripts/augmentation_experiment.py " + shlex.join(argv)
    comments = provenance(command, args.jobs, wall)
    if version != library_version():
        print(f"warning: the library changed during the runs (at the start: {version})")
    comments = [f"library: dlcv at {version}" if c.startswith("library:") else c for c in comments]
    rows = [r for c, r in zip(configs, results, strict=True) if c["kind"] == "grid"]
    curves = [
        row for c, r in zip(configs, results, strict=True) if c["kind"] == "shifts" for row in r
    ]
    if "grid" in args.parts:
        settings = (
            f"model: dlcv.models.lenet(rng=seed); Adam(lr={LR:g}); batch_size "
            f"{args.batch_size}; {args.steps} steps per run; shifts {SHIFTS!r}; "
            f"label-preserving {PIPELINE!r}"
        )
        write_csv(args.out, rows, COLUMNS, [*comments, DATA, settings])
        for row in rows:
            print(
                f"n={row['n_train']:>5} {row['augmentation']:<22} seed={row['seed']}  "
                f"train {row['train_accuracy']:.3f}  val {row['val_accuracy']:.3f}  "
                f"({row['seconds']:.0f} s)"
            )
        print(f"wrote {len(rows)} rows to {args.out}")
    if "shifts" in args.parts:
        settings = (
            f"model: chapter 06's recipe dlcv.models.LENET_MNIST_RECIPE {LENET_MNIST_RECIPE} "
            f"with seed = seed, on all training digits; accuracy on the validation part moved "
            f"{list(SHIFT_DISTANCES)} pixels (dlcv.shift.accuracy_under_shift, zero fill)"
        )
        write_csv(args.shift_out, curves, SHIFT_COLUMNS, [*comments, DATA, settings])
        print(f"wrote {len(curves)} rows to {args.shift_out}")
    print(f"{len(configs)} training runs in {wall:.0f} s on {args.jobs} worker(s)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
