"""Chapter 15's experiments: the digit network by subgroup, under-representation, membership.

Data: the course's MNIST parts (:func:`dlcv.data.load_mnist_splits`: 3,500 training,
500 validation and 1,000 test digits, all from MNIST's *training* set). The runs live in
:mod:`dlcv.fairness` and :mod:`dlcv.privacy`; this script only lists them, runs them and
writes four files:

1. ``ethics_subgroups.csv``: the shipped network (:func:`dlcv.models.load_lenet_mnist`)
   on the validation and test parts by stroke thickness and by slant (three groups each,
   cut at the training part's terciles): count, accuracy, error, bootstrap interval per
   group and the largest gap (:func:`dlcv.fairness.subgroup_run`).
2. ``ethics_representation.csv``: LeNet trained on four mixes of the training part
   (balanced, one group cut to 5 % of its digits, that cut reweighted by resampling, that
   cut with targeted augmentation) for the thick, the thin and the right-leaning digits,
   seeds 0-2, scored by group on validation and test
   (:func:`dlcv.fairness.representation_run`).
3. ``ethics_membership.csv``: the loss-threshold membership attack (threshold from a
   shadow model) on small LeNets trained on 10, 30 and 80 digits per class until they
   fit them, seeds 0-2, and on the shipped network (:mod:`dlcv.privacy`).
4. ``ethics_underrepresented.npz``: the network of seed 0 with the right-leaning digits
   cut (:data:`dlcv.fairness.LIVE_CONFIG`), for the chapter's live check.

Usage::

    python scripts/ethics_experiment.py                     # the full tables
    python scripts/ethics_experiment.py --quick --out /tmp/ch15  # seconds: a smoke test

Measured: the full run (52 runs, 60 rows) took 916 s, 15 minutes, of wall time with one
process on the course's 2-core machine while other engineers' jobs shared it; the
trainings take 12-24 s each (36 under-representation runs; 18 small networks for the
membership attack, two per row), the rest a few seconds.

The script imports nothing but the installed ``dlcv``. Each run depends on its arguments
alone (seeded, one BLAS thread), so the files are the same whatever ``--jobs`` is, apart
from the seconds columns. Comment lines at the top of each file record the command, the
date, the library's commit and the machine; ``dlcv.fairness.load_ethics_results`` reads
them back.
"""

from __future__ import annotations

import argparse
import shlex
import sys
import time
from pathlib import Path

from dlcv.fairness import (
    ATTRIBUTES,
    CONDITIONS,
    FILES,
    INK,
    LIVE_CONFIG,
    LIVE_MODEL_FILE,
    N_BOOT,
    RARE_FRACTION,
    REPRESENTATION_CELLS,
    STEPS,
    run_cell,
)
from dlcv.grid import provenance, run_grid, write_csv
from dlcv.privacy import MI_LR, MI_PER_CLASS, MI_STEPS

OUT = Path(__file__).resolve().parents[1] / "lib" / "dlcv" / "assets"
SEEDS = [0, 1, 2]


def plan(seeds: list[int], out: Path, quick: bool = False) -> list[dict]:
    """Every run, as keyword arguments of :func:`dlcv.fairness.run_cell`, the longest
    first. ``quick``: tiny versions, the first seed only."""
    if quick:
        seeds = seeds[:1]
    boot = {"n_boot": 50} if quick else {}
    runs = []
    for attribute, rare in REPRESENTATION_CELLS:
        for condition in CONDITIONS:
            for s in seeds:
                config = {"attribute": attribute, "rare": rare, "condition": condition, "seed": s}
                live = config == LIVE_CONFIG
                extra = {"save_to": str(out / LIVE_MODEL_FILE)} if live else {}
                runs.append(("representation", {**config, **boot, **extra,
                                                **({"steps": 5} if quick else {})}))  # fmt: skip
    runs += [("membership", {"per_class": n, "seed": s, **({"steps": 5} if quick else {})})
             for n in (MI_PER_CLASS[:1] if quick else MI_PER_CLASS) for s in seeds]  # fmt: skip
    runs += [("shipped_membership", {"seed": s}) for s in seeds]
    runs += [("subgroups", {"attribute": a, "part": p, **boot})
             for a in ATTRIBUTES for p in ("val", "test")]  # fmt: skip
    return [{"table": table, **config} for table, config in runs]


def _sorted(table: str, rows: list[dict]) -> list[dict]:
    if table == "representation":
        cells = list(REPRESENTATION_CELLS)

        def key(r):
            return cells.index((r["attribute"], r["rare"])), CONDITIONS.index(r["condition"])

        return sorted(rows, key=lambda r: (*key(r), r["seed"]))
    if table == "membership":
        return sorted(rows, key=lambda r: (r["model"] != "small LeNet", r["per_class"], r["seed"]))
    return rows


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
    results = run_grid(run_cell, configs, jobs=args.jobs, desc="chapter 15 runs")
    wall = time.perf_counter() - start
    command = "python scripts/ethics_experiment.py " + shlex.join(argv)
    data = ("data: dlcv.data.load_mnist_splits() (3,500 training / 500 validation / 1,000 "
            "test MNIST digits)")  # fmt: skip
    groups = (f"groups: stroke thickness (ink pixels >= {INK} over skeleton pixels) and slant "
              "(degrees from -mu11/mu02, positive leaning right), each cut at its terciles on "
              "the training part")  # fmt: skip
    settings = {
        "subgroups": f"{data}; {groups}; the shipped network dlcv.models.load_lenet_mnist() "
        "on the validation and the test part; accuracy, error and count by "
        f"fairlearn.metrics.MetricFrame; low/high: percentile bootstrap 95 % interval "
        f"({N_BOOT} resamples of each group, seed 0); gap: largest accuracy difference "
        "between groups, with its bootstrap interval (the max-min of noisy accuracies is "
        "biased upwards: its interval excludes 0 even for equal groups)",
        "representation": f"{data}; {groups}; LeNet (16, 32) from random weights (the seed), "
        f"Adam 5e-3 with the recipe's decay in steps, about {STEPS} steps of 32; mixes: "
        f"under-represented = every digit of the other groups and {RARE_FRACTION:.0%} of the "
        "rare group's (drawn by the seed); balanced = the natural mix cut at random to the "
        "same size; reweighted = the cut with the rare digits resampled up to the group's "
        "natural count; augmented = the cut plus other groups' digits changed towards the "
        "rare group (grey dilation 2x2 / erosion 2x2 / shear 0.3) that land in it, up to the "
        f"natural count; seeds {args.seeds}; rare/others: accuracy of the rare group / of "
        "the other two; gap: largest difference between the three groups; "
        f"test_rare_low/high: bootstrap 95 % interval ({N_BOOT} resamples)",
        "membership": f"{data}; loss-threshold attack (Yeom et al., 2018): member when the "
        "cross-entropy is <= the threshold, chosen for the largest TPR - FPR on a shadow "
        "split; small LeNet (16, 32): four disjoint sets of per_class digits of each class "
        f"from the training part (target in/out, shadow in/out), about {MI_STEPS} steps of "
        f"32 with Adam {MI_LR}, the shadow model trained the same way (seed + 1000), "
        f"seeds {args.seeds}; shipped LeNet: threshold from 500 of its training digits "
        "(drawn by the seed) against the validation part, scored on 1,000 other training "
        "digits against the test part; auc: ROC AUC of minus the loss",
    }
    for table, (name, columns) in FILES.items():
        names = ("membership", "shipped_membership") if table == "membership" else (table,)
        rows = [row for c, rs in zip(configs, results, strict=True) if c["table"] in names
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
