"""Chapters 08 and 09's experiments: the MNIST network reused on other images, measured.

Target data (:mod:`dlcv.transfer`): scikit-learn's digits brought to MNIST's format (997
training, 300 validation, 500 test images) and, as a far target, scikit-image's faces
and non-faces (100 / 40 / 60). Label budgets of 1, 5, 10 and 50 labels per class and
all of the training part; seeds 0-4 draw the labelled subset and initialise the new
weights.

1. ``transfer_probe.csv`` (chapter 08): logistic regression on pixels, on HOG features
   and on the frozen source network's features at each depth; ``C`` chosen on validation
   for every run; then the test accuracy of that run.
2. ``transfer_finetune.csv`` (chapter 09): the four ways of :data:`dlcv.transfer.WAYS`
   (three on faces), each with two learning rates; for every way and budget the learning
   rate with the better mean validation accuracy over the seeds is kept, and only the
   kept runs are scored on the test part (the others' rows have no test accuracy).

Usage::

    python scripts/transfer_experiment.py --jobs 2     # about 15 minutes on 2 cores
    python scripts/transfer_experiment.py --seeds 0 --out /tmp/transfer   # a quick look

The script imports nothing but the installed ``dlcv`` (its runs live in the library), so a
copy of this one file runs wherever the course library is installed, Colab included; outside
a clone of the repository, give ``--out`` a folder of your own.

Each run depends on its arguments alone (seeded, one BLAS thread), so the files are the
same whatever ``--jobs`` is, apart from the seconds column. Comment lines at the top of
each file record the command, the date, the library's commit and the machine.
"""

from __future__ import annotations

import argparse
import shlex
import sys
import time
from pathlib import Path

from dlcv.grid import grid, provenance, run_grid, write_csv
from dlcv.transfer import (
    BUDGETS,
    DEPTHS,
    PROBE_COLUMNS,
    STEPS,
    TUNE_COLUMNS,
    keep_best_lr,
    probe_run,
    tune_run,
)

OUT = Path(__file__).resolve().parents[1] / "lib" / "dlcv" / "assets"
SEEDS = [0, 1, 2, 3, 4]
LRS = [1e-3, 1e-2]
FACE_WAYS = ["scratch", "frozen", "fine-tune all"]


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=SEEDS)
    parser.add_argument("--jobs", type=int, default=1, help="worker processes (-1: all cores)")
    parser.add_argument("--out", type=Path, default=OUT, help="folder of the two CSV files")
    args = parser.parse_args(argv)
    budgets = [b or 0 for b in BUDGETS]  # 0 stands for "all" in the grid
    start = time.perf_counter()
    probes = run_grid(
        probe_run,
        grid(kind=["HOG", *DEPTHS], budget=budgets, seed=args.seeds),
        jobs=args.jobs,
        desc="linear probes",
    )
    configs = grid(target=["digits"], way=["scratch", "frozen", "fine-tune all",
                   "fine-tune dense"], budget=budgets, seed=args.seeds, lr=LRS)  # fmt: skip
    configs += grid(target=["faces"], way=FACE_WAYS, budget=[1, 5, 10, 50], seed=args.seeds,
                    lr=LRS)  # fmt: skip
    tuned = keep_best_lr(run_grid(tune_run, configs, jobs=args.jobs, desc="training runs"))
    wall = time.perf_counter() - start
    command = "python scripts/transfer_experiment.py " + shlex.join(argv)
    setting = (
        f"source: dlcv.models.load_lenet_mnist(); targets: dlcv.transfer.load_target_digits(), "
        f"load_target_faces(); seeds {args.seeds}; training: Adam, learning rates {LRS}, "
        f"about {STEPS} steps of up to 32 images"
    )
    comments = [*provenance(command, args.jobs, wall), setting]
    write_csv(args.out / "transfer_probe.csv", probes, PROBE_COLUMNS, comments)
    write_csv(args.out / "transfer_finetune.csv", tuned, TUNE_COLUMNS, comments)
    print(f"wrote {len(probes)} + {len(tuned)} rows to {args.out} in {wall:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
