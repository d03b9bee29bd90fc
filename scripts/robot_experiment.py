"""Chapter 12 end to end: every perception x grounding combination on the same commands.

For each scene of :data:`dlcv.robot.SCENE_SEEDS` (seeds 10000-10199, which no model was
trained or chosen on) two commands are drawn (:func:`dlcv.robot.commands_for`): one naming
exactly one object, one naming nothing on the table, both in phrasings no grounder was
trained on. Each of the 3 x 2 combinations of :data:`dlcv.robot.PERCEPTIONS` and
:data:`dlcv.robot.GROUNDERS` carries out both in a fresh scene
(:func:`dlcv.robot.run_row`): render, perceive, ground, pick, judge by where the objects
ended up. Nothing is chosen here: the models and their settings were fixed on validation
by ``scripts/train_perception.py`` and ``scripts/train_grounding.py``, so this is a
test, read once.

Writes ``lib/dlcv/assets/robot_results.csv`` (one row per attempt, comment lines with the
command, date, commit and machine), read back by :func:`dlcv.robot.load_results`.

Usage::

    python scripts/robot_experiment.py                       # about 10 minutes, one core
    python scripts/robot_experiment.py --scenes 5 --out /tmp/r     # a quick try
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

from tqdm import tqdm  # noqa: E402

from dlcv.grid import provenance, write_csv  # noqa: E402
from dlcv.robot import (  # noqa: E402
    GROUNDERS,
    PERCEPTIONS,
    RESULTS_COLUMNS,
    RESULTS_FILE,
    SCENE_SEEDS,
    load_models,
    load_results,
    paired_test,
    run_row,
    success_table,
)

OUT = Path(__file__).resolve().parents[1] / "lib" / "dlcv" / "assets"


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenes", type=int, default=len(SCENE_SEEDS), help="scenes to run")
    parser.add_argument("--out", type=Path, default=OUT, help="folder of the output file")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    models = load_models()
    seeds = list(SCENE_SEEDS)[: args.scenes]
    plan = [(s, p, g, w) for s in seeds for p in PERCEPTIONS for g in GROUNDERS for w in (0, 1)]
    rows = [run_row(*job, models=models) for job in tqdm(plan, desc="attempts", mininterval=5)]
    wall = time.perf_counter() - start
    command = "python scripts/robot_experiment.py " + shlex.join(argv)
    settings = (
        f"scenes: seeds {seeds[0]}-{seeds[-1]}; commands: dlcv.robot.commands_for (held-out "
        "phrasings, one naming an object, one naming nothing); models: the shipped "
        "perception_cnn.npz, perception_histogram.npz, grounding_embedding.npz; success: "
        "dlcv.tabletop.judge (lifted >= 0.1 m, no other object moved > 0.02 m)"
    )
    write_csv(args.out / RESULTS_FILE, rows, RESULTS_COLUMNS, [*provenance(command, 1, wall),
                                                                settings])  # fmt: skip
    rows, _ = load_results(args.out)  # refuse what could not be read back
    print(f"wrote {len(rows)} attempts to {args.out / RESULTS_FILE} in {wall:.0f} s")
    for entry in success_table(rows):
        print({k: round(v, 3) if isinstance(v, float) else v for k, v in entry.items()})
    print(paired_test(rows, ("perfect", "keywords"), ("perfect", "embedding")))
    print(paired_test(rows, ("cnn", "keywords"), ("histogram", "keywords")))
    print(paired_test(rows, ("cnn", "keywords"), ("perfect", "keywords")))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
