"""Chapter 13's experiments: data hunger, distribution shift, adversarial examples and training.

Data: the course's MNIST parts (:func:`dlcv.data.load_mnist_splits`: 3,500 training,
500 validation and 1,000 test digits, all from MNIST's *training* set) and, for the
shift, scikit-learn's 1,797 digits in MNIST's format. The runs live in
:mod:`dlcv.challenges`; this script only lists them, runs them and writes four files:

1. ``challenges_data_hunger.csv``: logistic regression on pixels, on HOG features and the
   LeNet CNN from scratch, with 1, 3, 10, 30, 100 and 350 (all) labelled digits per
   class, seeds 0-2 (:func:`dlcv.challenges.hunger_run`; ``C`` or the learning rate
   chosen on validation, then the test part once).
2. ``challenges_shift.csv``: the shipped LeNet, untouched, on the test part clean and
   under every corruption and severity of :mod:`dlcv.corruptions` (noise with seeds
   0-2), and on the scikit-learn digits: accuracy, mean confidence, ECE with 15 bins
   (:func:`dlcv.challenges.shift_run`).
3. ``challenges_adversarial.csv``: the shipped LeNet and a logistic regression on pixels
   under FGSM and 10-step PGD at epsilon 0 to 0.3, on 500 fixed test digits
   (:func:`dlcv.challenges.adversarial_run`).
4. ``challenges_adversarial_training.csv``: LeNet trained on clean, FGSM or 3-step PGD
   mini-batches at epsilon 0.1, PGD also with epsilon warmed up from 0 (same data,
   recipe and 550 steps), seeds 0-2, then attacked at 0.1 on the 1,000 test digits
   (:func:`dlcv.challenges.adversarial_training_run`).

Usage::

    python scripts/challenges_experiment.py --jobs 2          # the full tables
    python scripts/challenges_experiment.py --quick --out /tmp/ch13   # seconds: a smoke test

Measured: the full run (132 runs) took 801 s, 13 minutes, of wall time with ``--jobs 2``
on the course's 2-core machine while another engineer's jobs shared it (the script got
1.5 cores on average); each file's header records its own wall time. The longest runs
are the adversarial trainings (3-step PGD: about 45-55 s of training each, 4x standard).

The script imports nothing but the installed ``dlcv``, so a copy of this one file runs
wherever the library is installed; outside a clone of the repository, give ``--out`` a
folder of your own. Each run depends on its arguments alone (seeded, one BLAS thread),
so the files are the same whatever ``--jobs`` is, apart from the seconds columns.
Comment lines at the top of each file record the command, the date, the library's
commit and the machine; ``dlcv.challenges.load_challenges_results`` reads them back.
"""

from __future__ import annotations

import argparse
import shlex
import sys
import time
from pathlib import Path

from dlcv.challenges import (
    ADV_PER_CLASS,
    ATTACKS,
    BUDGETS,
    CNN_LRS,
    EPSILONS,
    FILES,
    HUNGER_METHODS,
    MODELS,
    PGD_STEPS,
    STEPS,
    TRAIN_EPSILON,
    TRAININGS,
    run_cell,
    shift_cells,
)
from dlcv.grid import grid, provenance, run_grid, write_csv

OUT = Path(__file__).resolve().parents[1] / "lib" / "dlcv" / "assets"
SEEDS = [0, 1, 2]


def plan(seeds: list[int], quick: bool = False) -> list[dict]:
    """Every run, as keyword arguments of :func:`dlcv.challenges.run_cell`, the longest
    first (so that two workers finish together). ``quick``: a tiny version of each table,
    with the first seed only."""
    if quick:
        seeds = seeds[:1]
        hunger = grid(method=HUNGER_METHODS, per_class=[1], seed=seeds, steps=[20])
        shift = [{**c, "n_images": 100} for c in shift_cells() if c["corruption"] in
                 ("none", "rotate")][:3]  # fmt: skip
        adversarial = grid(model=MODELS, attack_name=ATTACKS, epsilon=[0.0, 0.1],
                           per_class=[2])  # fmt: skip
        training = grid(training=list(TRAININGS), seed=seeds, per_class=[3], steps=[4],
                        eval_per_class=[2])  # fmt: skip
    else:
        hunger = grid(method=HUNGER_METHODS, per_class=sorted(BUDGETS, reverse=True), seed=seeds)
        shift = shift_cells()
        adversarial = grid(model=MODELS, attack_name=ATTACKS, epsilon=EPSILONS)
        training = grid(training=list(TRAININGS)[::-1], seed=seeds)  # PGD-3 are the longest
    cnn = [c for c in hunger if c["method"] == "CNN"]
    runs = [("training", training), ("hunger", cnn), ("adversarial", adversarial),
            ("hunger", [c for c in hunger if c["method"] != "CNN"]), ("shift", shift)]  # fmt: skip
    return [{"table": table, **config} for table, configs in runs for config in configs]


def _sorted(table: str, rows: list[dict]) -> list[dict]:
    """The rows of a table in a reader's order (the plan's order is the workers')."""
    if table == "hunger":
        return sorted(rows, key=lambda r: (HUNGER_METHODS.index(r["method"]), r["per_class"],
                                           r["seed"]))  # fmt: skip
    if table == "training":
        return sorted(rows, key=lambda r: (list(TRAININGS).index(r["training"]), r["seed"]))
    return rows


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=SEEDS)
    parser.add_argument("--jobs", type=int, default=1, help="worker processes (-1: all cores)")
    parser.add_argument("--out", type=Path, default=OUT, help="folder of the four CSV files")
    parser.add_argument("--quick", action="store_true", help="a tiny version, for a smoke test")
    args = parser.parse_args(argv)
    configs = plan(args.seeds, args.quick)
    start = time.perf_counter()
    results = run_grid(run_cell, configs, jobs=args.jobs, desc="chapter 13 runs")
    wall = time.perf_counter() - start
    command = "python scripts/challenges_experiment.py " + shlex.join(argv)
    data = ("data: dlcv.data.load_mnist_splits() (3,500 training / 500 validation / 1,000 "
            "test MNIST digits)")  # fmt: skip
    settings = {
        "hunger": f"{data}; budgets {list(BUDGETS)} per class (350 = the whole training "
        f"part), seeds {args.seeds}; pixels and HOG: dlcv.transfer.linear_probe (C on "
        f"validation); CNN: chapter 06's LeNet from scratch, Adam, {STEPS} steps with the "
        f"recipe's decay in steps, learning rate from {list(CNN_LRS)} on validation",
        "shift": f"{data}; model: dlcv.models.load_lenet_mnist(), not retrained; "
        "corruptions: dlcv.corruptions.SEVERITIES sweeps (noise with seeds 0-2); digits: "
        "sklearn.datasets.load_digits() via dlcv.transfer.digits_as_mnist (all 1,797); "
        "ECE with 15 bins",
        "adversarial": f"{data}; models: dlcv.models.load_lenet_mnist() and logistic "
        f"regression on pixels (C = 1, chapter 06's choice); {ADV_PER_CLASS} test digits "
        f"per class; FGSM, and PGD with {PGD_STEPS} steps of 2.5 eps / {PGD_STEPS} from a "
        "random start (seed 0)",
        "training": f"{data}; LeNet (channels 16, 32) from scratch, Adam 5e-3 x0.7 per "
        f"epoch, {STEPS} steps of 32 on the whole training part; mini-batches clean, FGSM "
        f"or 3-step PGD at epsilon {TRAIN_EPSILON} (warm-up: epsilon rising linearly over "
        f"the first {STEPS // 5} steps); seeds {args.seeds}; attacked on the "
        f"test part with FGSM and {PGD_STEPS}-step PGD at the same epsilon",
    }
    for table, (name, columns) in FILES.items():
        rows = _sorted(table, [r for c, r in zip(configs, results, strict=True)
                               if c["table"] == table])  # fmt: skip
        comments = [*provenance(command, args.jobs, wall), settings[table]]
        if args.quick:
            comments.append(
                "quick: a tiny version of each table (a smoke test), not these settings"
            )
        write_csv(args.out / name, rows, columns, comments)
    print(f"wrote {len(results)} rows in {len(FILES)} files to {args.out} in {wall:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
