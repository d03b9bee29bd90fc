"""Chapter 06's model selection: every setting of the CNN and its baselines, on validation.

On the parts of :func:`dlcv.data.load_mnist_splits` (3,500 training, 500 validation and
1,000 test digits), for each family of :data:`dlcv.selection.GRIDS`:

1. train every setting on the training part for every seed of ``--seeds`` (the networks:
   up to ``MAX_EPOCHS`` epochs, the validation part scored after every epoch; logistic
   regression: once, to convergence) and write one row per epoch to
   ``lib/dlcv/assets/mnist_selection.csv``;
2. choose the setting (and epoch count) with the best mean validation accuracy
   (:func:`dlcv.selection.choose`);
3. only then train each family's chosen setting once per seed and score it on the test
   part, written to ``lib/dlcv/assets/mnist_final.csv``. Nothing is chosen after this.

Usage::

    python scripts/mnist_selection.py            # the whole grid, about 8 minutes on 1 core
    python scripts/mnist_selection.py --jobs 2   # the same rows on two worker processes
    python scripts/mnist_selection.py --out /tmp/selection   # somewhere else

The script imports nothing but the installed ``dlcv`` (its runs live in the library), so a
copy of this one file runs wherever the course library is installed, Colab included; outside
a clone of the repository, give ``--out`` a folder of your own.

Every run depends on its arguments alone (seeded, one BLAS thread), so the CSV files are
the same whatever ``--jobs`` is, apart from the seconds column. The comment lines at the
top of each file record the command, the date, the library's commit and the machine.
"""

from __future__ import annotations

import argparse
import shlex
import sys
import time
from pathlib import Path

from dlcv.data import load_mnist_splits
from dlcv.grid import grid, provenance, run_grid, write_csv
from dlcv.selection import (
    BATCH_SIZE,
    COLUMNS,
    GRIDS,
    LR_DECAY,
    MAX_EPOCHS,
    SEEDS,
    choose,
    test_accuracy,
    train_chosen,
    validation_run,
)

OUT = Path(__file__).resolve().parents[1] / "lib" / "dlcv" / "assets"
FINAL_COLUMNS = ["model", "lr", "width", "C", "epochs", "seed", "val_accuracy", "test_accuracy"]


def one_run(model: str, seed: int, lr=None, width=None, C=None) -> list[dict]:
    """One setting and seed (in a worker process): its validation rows."""
    return validation_run(load_mnist_splits(), model, seed, lr=lr, width=width, C=C)


def final_run(chosen: dict, seed) -> dict:
    """Train a chosen setting for one seed and read the test part (in a worker)."""
    parts = load_mnist_splits()
    model, history = train_chosen(parts, chosen, seed=seed or 0)
    val = history.val_accuracy[-1] if history else test_accuracy(model, parts.x_val, parts.y_val)
    width = chosen["width"]
    return {
        "model": chosen["model"],
        "lr": chosen["lr"] if chosen["lr"] is not None else "",
        "width": "x".join(map(str, width)) if isinstance(width, tuple) else (width or ""),
        "C": chosen["C"] if chosen["C"] is not None else "",
        "epochs": chosen["epochs"],
        "seed": seed,
        "val_accuracy": val,
        "test_accuracy": test_accuracy(model, parts.x_test, parts.y_test),
    }


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=list(SEEDS))
    parser.add_argument("--models", nargs="+", default=list(GRIDS), choices=list(GRIDS))
    parser.add_argument("--jobs", type=int, default=1, help="worker processes (-1: all cores)")
    parser.add_argument("--out", type=Path, default=OUT, help="folder of the two CSV files")
    args = parser.parse_args(argv)
    configs = []
    for model in args.models:
        if model == "logreg":
            configs += grid(model=[model], seed=[""], C=GRIDS[model]["C"])
        else:
            configs += grid(model=[model], lr=GRIDS[model]["lr"], width=GRIDS[model]["width"],
                            seed=args.seeds)  # fmt: skip
    start = time.perf_counter()
    rows = [r for runs in run_grid(one_run, configs, jobs=args.jobs, desc="settings") for r in runs]
    chosen = {model: choose(rows, model) for model in args.models}
    finals = [
        {"chosen": chosen[m], "seed": "" if m == "logreg" else s}
        for m in args.models
        for s in ([""] if m == "logreg" else args.seeds)
    ]
    final_rows = run_grid(final_run, finals, jobs=args.jobs, desc="chosen settings on test")
    wall = time.perf_counter() - start
    command = "python scripts/mnist_selection.py " + shlex.join(argv)
    recipe = (
        f"data: dlcv.data.load_mnist_splits() (3,500 train / 500 validation / 1,000 test); "
        f"networks: Adam, batch size {BATCH_SIZE}, learning rate x{LR_DECAY} per epoch, up "
        f"to {MAX_EPOCHS} epochs; seeds {args.seeds}"
    )
    comments = [*provenance(command, args.jobs, wall), recipe]
    write_csv(args.out / "mnist_selection.csv", rows, COLUMNS, comments)
    choice_lines = [f"chosen on validation: {c}" for c in chosen.values()]
    write_csv(args.out / "mnist_final.csv", final_rows, FINAL_COLUMNS, comments + choice_lines)
    for line in choice_lines:
        print(line)
    for row in final_rows:
        print(
            f"{row['model']:<7} seed {row['seed']!s:<2} validation {row['val_accuracy']:.3f}  "
            f"test {row['test_accuracy']:.3f}"
        )
    print(f"wrote {len(rows)} + {len(final_rows)} rows to {args.out} in {wall:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
