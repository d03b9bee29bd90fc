"""Chapter 14's experiments: few-shot learning of unseen digits, self-supervised pretraining.

Data: the course's MNIST parts (:func:`dlcv.data.load_mnist_splits`: 3,500 training,
500 validation and 1,000 test digits, all from MNIST's *training* set). The runs live in
:mod:`dlcv.future`; this script only lists them, runs them and writes three files:

1. ``future_fewshot.csv``: 5-way 1-shot and 5-shot episodes (15 queries per class) of
   the test digits 5-9, 600 of each, classified by the nearest prototype in the raw
   pixels, in HOG features, in the hidden units of a LeNet classifier of digits 0-4 and
   in the embedding of a prototypical network trained on episodes of digits 0-4
   (:func:`dlcv.future.fewshot_run`; learning rate, and the number of episodes, chosen on
   validation episodes of digits 0-4; seeds 0-2 for the two learnt spaces).
2. ``future_selfsupervised.csv``: a logistic regression (``C`` on validation) on the
   frozen hidden units of a LeNet trunk that is random, pretrained contrastively without
   labels (SimCLR-style, NT-Xent) or pretrained with all training labels, with 10, 30 and
   100 labels per class, seeds 0-2 (:func:`dlcv.future.selfsupervised_run`).
3. ``future_protonet.npz``: the prototypical network of seed 0, with its record
   (:func:`dlcv.future.load_protonet`).

Usage::

    python scripts/future_experiment.py --jobs 2                 # the full tables
    python scripts/future_experiment.py --quick --out /tmp/ch14  # seconds: a smoke test

Measured: the full run (17 runs, 43 rows) took 1,004 s, 17 minutes, of wall time with
``--jobs 2`` on the course's 2-core machine while other engineers' jobs shared it (load
average 4 to 5 during the long runs); each file's header records its own wall time. The
longest runs are the three SimCLR pretrainings and the three prototypical networks
(260-310 s each); the pixel and HOG baselines take a second or two.

The script imports nothing but the installed ``dlcv``. Each run depends on its arguments
alone (seeded, one BLAS thread), so the files are the same whatever ``--jobs`` is, apart
from the seconds columns. Comment lines at the top of each file record the command, the
date, the library's commit and the machine; ``dlcv.future.load_future_results`` reads
them back.
"""

from __future__ import annotations

import argparse
import shlex
import sys
import time
from pathlib import Path

from dlcv.future import (
    EPISODE_CHOICES,
    EPISODE_SEED,
    FEWSHOT_METHODS,
    FILES,
    LRS,
    N_EPISODES,
    N_QUERY,
    PRETRAININGS,
    PROBE_BUDGETS,
    PROTONET_FILE,
    SHOTS,
    SIMCLR_AUGMENTATIONS,
    SIMCLR_BATCH,
    SIMCLR_LR,
    SIMCLR_STEPS,
    SIMCLR_TEMPERATURE,
    run_cell,
)
from dlcv.grid import provenance, run_grid, write_csv

OUT = Path(__file__).resolve().parents[1] / "lib" / "dlcv" / "assets"
SEEDS = [0, 1, 2]


def plan(seeds: list[int], out: Path, quick: bool = False) -> list[dict]:
    """Every run, as keyword arguments of :func:`dlcv.future.run_cell`, the longest first
    (so that two workers finish together). ``quick``: tiny versions, the first seed only."""
    if quick:
        seeds = seeds[:1]
    fast = {"n_episodes": 20} if quick else {}
    learnt = {"lrs": [LRS[0]], "episode_choices": [3], "steps": 3, **fast} if quick else {}
    pretrain = {"steps": 3, "budgets": [1]} if quick else {}
    runs = [("selfsupervised", {"pretraining": "SimCLR", "seed": s, **pretrain}) for s in seeds]
    runs += [("fewshot", {"method": "prototypical", "seed": s, **learnt,
                          **({"save_to": str(out / PROTONET_FILE)} if s == 0 else {})})
             for s in seeds]  # fmt: skip
    runs += [("fewshot", {"method": "classifier", "seed": s, **learnt}) for s in seeds]
    runs += [("selfsupervised", {"pretraining": p, "seed": s, **pretrain})
             for p in ("supervised", "random") for s in seeds]  # fmt: skip
    runs += [("fewshot", {"method": m, "seed": 0, **fast}) for m in ("HOG", "pixels")]
    return [{"table": table, **config} for table, config in runs]


def _sorted(table: str, rows: list[dict]) -> list[dict]:
    """The rows of a table in a reader's order (the plan's order is the workers')."""
    if table == "fewshot":
        return sorted(rows, key=lambda r: (FEWSHOT_METHODS.index(r["method"]), r["shots"],
                                           r["seed"]))  # fmt: skip
    return sorted(rows, key=lambda r: (PRETRAININGS.index(r["pretraining"]), r["per_class"],
                                       r["seed"]))  # fmt: skip


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=SEEDS)
    parser.add_argument("--jobs", type=int, default=1, help="worker processes (-1: all cores)")
    parser.add_argument("--out", type=Path, default=OUT, help="folder of the output files")
    parser.add_argument("--quick", action="store_true", help="a tiny version, for a smoke test")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    configs = plan(args.seeds, args.out, args.quick)
    start = time.perf_counter()
    results = run_grid(run_cell, configs, jobs=args.jobs, desc="chapter 14 runs")
    wall = time.perf_counter() - start
    command = "python scripts/future_experiment.py " + shlex.join(argv)
    data = ("data: dlcv.data.load_mnist_splits() (3,500 training / 500 validation / 1,000 "
            "test MNIST digits)")  # fmt: skip
    augmentations = "; ".join(SIMCLR_AUGMENTATIONS.values())
    settings = {
        "fewshot": f"{data}; test: {N_EPISODES} 5-way episodes per number of shots "
        f"{list(SHOTS)} of test digits 5-9, {N_QUERY} queries per class, episode seed "
        f"{EPISODE_SEED}, the same for every method; nearest prototype (squared Euclidean) "
        "in pixels, HOG (dlcv.transfer.hog_features), the 64 hidden units of a LeNet "
        "(16, 32) classifier of training digits 0-4 (recipe in steps, 550 steps) or a "
        f"prototypical network (LeNet, 64-d output) trained on 5-way 5-shot episodes of "
        f"training digits 0-4; Adam learning rate from {list(LRS)} and episodes from "
        f"{list(EPISODE_CHOICES)} chosen on 200 5-shot episodes of validation digits 0-4; "
        f"seeds {args.seeds} (pixels and HOG: no training, seed 0); ci95: half-width of "
        "the normal 95 % interval over episodes",
        "selfsupervised": f"{data}; trunk: LeNet (16, 32), 64 hidden units; random (as "
        f"initialised), SimCLR-style ({SIMCLR_STEPS} steps of {SIMCLR_BATCH} unlabelled "
        f"training digits, two views each by: {augmentations}; projection head Dense(64, "
        f"64)-ReLU-Dense(64, 32); NT-Xent, temperature {SIMCLR_TEMPERATURE}; Adam "
        f"{SIMCLR_LR}), or supervised (dlcv.models.train_lenet_mnist with the seed, all "
        f"3,500 labels); frozen; linear probe (dlcv.transfer.linear_probe, C on the whole "
        f"validation part) on {list(PROBE_BUDGETS)} labels per class; seeds {args.seeds}",
    }
    for table, (name, columns) in FILES.items():
        rows = [row for c, rs in zip(configs, results, strict=True) if c["table"] == table
                for row in rs]  # fmt: skip
        comments = [*provenance(command, args.jobs, wall), settings[table]]
        if args.quick:
            comments.append(
                "quick: a tiny version of each table (a smoke test), not these settings"
            )
        write_csv(args.out / name, _sorted(table, rows), columns, comments)
    print(
        f"wrote {sum(map(len, results))} rows of {len(results)} runs to {args.out} in {wall:.0f} s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
