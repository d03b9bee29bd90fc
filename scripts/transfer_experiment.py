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

Each run depends on its arguments alone (seeded, one BLAS thread), so the files are the
same whatever ``--jobs`` is, apart from the seconds column. Comment lines at the top of
each file record the command, the date, the library's commit and the machine.
"""

from __future__ import annotations

import argparse
import functools
import shlex
import sys
import time
from pathlib import Path

import numpy as np

from dlcv.grid import grid, provenance, run_grid, write_csv
from dlcv.models import load_lenet_mnist
from dlcv.train import evaluate
from dlcv.transfer import (
    BUDGETS,
    DEPTHS,
    budget_indices,
    features,
    fine_tune,
    hog_features,
    linear_probe,
    load_target_digits,
    load_target_faces,
    prepare,
)

OUT = Path(__file__).resolve().parents[1] / "lib" / "dlcv" / "assets"
SEEDS = [0, 1, 2, 3, 4]
LRS = [1e-3, 1e-2]
STEPS = 300
PROBE_COLUMNS = ["target", "features", "budget", "seed", "C", "val_accuracy", "test_accuracy"]
TUNE_COLUMNS = ["target", "way", "budget", "seed", "lr", "steps", "curve", "val_accuracy",
                "test_accuracy", "seconds"]  # fmt: skip
FACE_WAYS = ["scratch", "frozen", "fine-tune all"]


@functools.cache
def _target(name: str):
    return load_target_digits() if name == "digits" else load_target_faces()


@functools.cache
def _features(kind: str, part: str) -> np.ndarray:
    x = getattr(_target("digits"), f"x_{part}")
    return hog_features(x) if kind == "HOG" else features(load_lenet_mnist(), x, kind)


def probe_run(kind: str, budget, seed: int) -> dict:
    """One linear probe (in a worker): features of one kind, one labelled subset."""
    parts = _target("digits")
    idx = budget_indices(parts.y_train, budget or None, seed)
    train = _features(kind, "train")[idx]
    clf, C, val = linear_probe(train, parts.y_train[idx], _features(kind, "val"), parts.y_val)
    test = float(clf.score(_features(kind, "test"), parts.y_test))
    return {"target": "digits", "features": kind, "budget": budget or "all", "seed": seed,
            "C": C, "val_accuracy": val, "test_accuracy": test}  # fmt: skip


def tune_run(target: str, way: str, budget, seed: int, lr: float) -> tuple[dict, float]:
    """One training run (in a worker): its row, and its test accuracy kept aside."""
    parts = _target(target)
    n_classes = len(np.unique(parts.y_train))
    start = time.perf_counter()
    model = prepare(way, n_classes=n_classes, seed=seed)
    idx = budget_indices(parts.y_train, budget or None, seed)
    curve = fine_tune(model, parts, idx, lr=lr, steps=STEPS, seed=seed)
    row = {
        "target": target,
        "way": way,
        "budget": budget or "all",
        "seed": seed,
        "lr": lr,
        "steps": curve[-1][0],
        "curve": ";".join(f"{s}:{a:.4f}" for s, a in curve),
        "val_accuracy": curve[-1][1],
        "test_accuracy": "",
        "seconds": round(time.perf_counter() - start, 2),
    }
    return row, float(evaluate(model, parts.x_test, parts.y_test)[1])


def keep_best_lr(results: list[tuple[dict, float]]) -> list[dict]:
    """Fill in the test accuracy of the runs whose learning rate won on validation."""
    groups: dict[tuple, dict[float, list[float]]] = {}
    for row, _ in results:
        key = (row["target"], row["way"], row["budget"])
        groups.setdefault(key, {}).setdefault(row["lr"], []).append(row["val_accuracy"])
    best = {key: max(sorted(by_lr), key=lambda lr: np.mean(by_lr[lr])) for key, by_lr in
            groups.items()}  # fmt: skip
    rows = []
    for row, test in results:
        if row["lr"] == best[(row["target"], row["way"], row["budget"])]:
            row = {**row, "test_accuracy": test}
        rows.append(row)
    return rows


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
