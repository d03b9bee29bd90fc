"""Chapter 11's traffic lights: a colour rule in HSV against a tiny CNN, by lighting.

Usage::

    .venv/bin/python scripts/train_light_cnn.py           # writes the two files below
    .venv/bin/python scripts/train_light_cnn.py --quick --out /tmp/lights   # a smoke run

Every traffic light of the road scenes of :func:`dlcv.scenes.random_scene` is cut out
with :func:`dlcv.scenes.light_crops` (24 x 12 pixels) and its state read two ways,
:func:`dlcv.lights.hsv_rule` and :func:`dlcv.lights.light_cnn`. The protocol:

1. **Training part**: scenes 0-4999 of the "train" split, the training mix
   (``condition=None``: day 60 %, dusk 20 %, glare 20 %; fog and rain 15 % each); about
   half of the scenes hold a light. Only the CNN learns from it.
2. **Validation part**: scenes 0-1499 of the "validation" split, same mix. The HSV
   rule's thresholds are chosen on it (:func:`dlcv.lights.fit_hsv_rule`, a grid of
   1,350 settings); so are the CNN's learning rate and number of epochs (Adam,
   mini-batches of 32, constant rate; 3 rates x 3 epoch counts, each trained with seeds
   0, 1 and 2; the setting with the best mean validation accuracy wins, ties to fewer
   epochs). The epoch counts are read from one run of the longest per rate and seed
   (the first 5 epochs of a 20-epoch run are a 5-epoch run, bit for bit), then the
   chosen setting is trained again for each seed and checked against that reading.
3. **Test part, read once, at the end**: scenes 0-1999 of the "test" split (the mix),
   and scenes 0-999 of the "test" split under each single condition "clean", "dusk",
   "glare", "fog" and "rain" (:data:`dlcv.scenes.CONDITIONS`: the same roads and lights
   as mix scenes 0-999, rendered under that one condition, so the conditions compare
   the same lights). The fitted rule and the chosen CNN of each seed are scored there,
   overall and per lighting (:func:`dlcv.lights.accuracy_by_condition`).

Writes ``lib/dlcv/assets/light_cnn.npz`` (the seed-0 network; its metadata holds the
recipe, the scenes, the validation and test accuracy, the fitted rule and the commit)
and ``lib/dlcv/assets/light_results.csv`` (one row per split, condition, method,
setting, seed and lighting; the header says the command, date, commit and machine).
"""

from __future__ import annotations

import argparse
import itertools
import sys
import time
from pathlib import Path

import numpy as np
from tqdm import tqdm

from dlcv.grid import library_version, provenance, write_csv
from dlcv.lights import (
    accuracy_by_condition,
    as_cnn_input,
    fit_hsv_rule,
    hsv_rule,
    light_cnn,
    predict_states,
)
from dlcv.models import save
from dlcv.optim import Adam
from dlcv.scenes import light_crops, random_scene
from dlcv.train import fit

ROOT = Path(__file__).resolve().parents[1]
ASSETS = ROOT / "lib" / "dlcv" / "assets"
SCENES = {"train": 5000, "validation": 1500, "test": 2000, "test_condition": 1000}
TEST_CONDITIONS = ("clean", "dusk", "glare", "fog", "rain")
RECIPE = {"batch_size": 32, "optimizer": "Adam", "lr_decay": 1.0}
LRS = (1e-3, 3e-3, 1e-2)
EPOCHS = (5, 10, 20)
SEEDS = (0, 1, 2)
COLUMNS = ["split", "condition", "method", "lr", "epochs", "seed", "chosen", "lighting", "n"]
COLUMNS += ["correct", "accuracy"]


def crops_of(split: str, n: int, condition: str | None = None):
    """(crops, states, lightings) of every light in scenes 0..n-1 of ``split``."""
    desc = f"{split} scenes" + (f" ({condition})" if condition else "")
    frames = [random_scene(s, split, condition) for s in tqdm(range(n), desc=desc, leave=False)]
    return light_crops(frames)


def score_rows(predicted, states, lightings, **fields) -> list[dict]:
    """One CSV row per lighting group (and "all") of :func:`accuracy_by_condition`."""
    rows = []
    for group, r in accuracy_by_condition(predicted, states, lightings).items():
        correct = int(round(r["accuracy"] * r["n"]))
        rows.append(
            {
                **fields,
                "lighting": group,
                "n": r["n"],
                "correct": correct,
                "accuracy": round(r["accuracy"], 4),
            }  # fmt: skip
        )
    return rows


def train(x, y, validation, lr: float, epochs: int, seed: int):
    model = light_cnn(rng=seed)
    history = fit(
        model,
        x,
        y,
        epochs=epochs,
        batch_size=RECIPE["batch_size"],
        optimizer=Adam(lr),
        lr_decay=RECIPE["lr_decay"],
        validation=validation,
        seed=seed,
        verbose=False,
        progress=False,
    )
    return model, history


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ASSETS, help="folder for the two files")
    parser.add_argument("--quick", action="store_true", help="few scenes and epochs (a smoke run)")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    scenes = {k: v // 10 for k, v in SCENES.items()} if args.quick else SCENES
    epoch_options = (1, 2) if args.quick else EPOCHS

    # 1-2. training and validation parts; the test part is not made until the end
    x_c, y, light_train = crops_of("train", scenes["train"])
    v_c, yv, light_val = crops_of("validation", scenes["validation"])
    x, xv = as_cnn_input(x_c), as_cnn_input(v_c)
    print(f"{len(y):,} training lights, {len(yv):,} validation lights")
    rows = []
    val = {"split": "validation", "condition": "mix"}
    rule = fit_hsv_rule(v_c, yv)
    rows += score_rows(hsv_rule(v_c), yv, light_val, **val, method="hsv rule (defaults)")
    rows += score_rows(hsv_rule(v_c, **rule), yv, light_val, **val, method="hsv rule (fitted)")
    print(f"HSV rule fitted on validation: {rule}")

    # the CNN's setting: every rate and seed trained for the longest count, read at each
    val_acc = {}
    runs = list(itertools.product(LRS, SEEDS))
    for lr, seed in tqdm(runs, desc="selection runs", leave=False):
        _, history = train(x, y, (xv, yv), lr, max(epoch_options), seed)
        for epochs in epoch_options:
            val_acc[lr, epochs, seed] = history.val_accuracy[epochs - 1]
    mean = {
        (lr, e): np.mean([val_acc[lr, e, s] for s in SEEDS])
        for e, lr in itertools.product(epoch_options, LRS)  # fewer epochs first: they win ties
    }
    lr, epochs = max(mean, key=mean.get)
    print(f"chosen on validation: lr {lr:g}, {epochs} epochs (mean {mean[lr, epochs]:.2%})")
    for (lr_, e, seed), acc in val_acc.items():
        correct = int(round(acc * len(yv)))
        rows.append(
            {
                **val,
                "method": "cnn",
                "lr": lr_,
                "epochs": e,
                "seed": seed,
                "chosen": int((lr_, e) == (lr, epochs)),
                "lighting": "all",
                "n": len(yv),
                "correct": correct,
                "accuracy": round(acc, 4),
            }  # fmt: skip
        )
    models = {}
    for seed in tqdm(SEEDS, desc="chosen setting", leave=False):
        model, history = train(x, y, (xv, yv), lr, epochs, seed)
        if history.val_accuracy[-1] != val_acc[lr, epochs, seed]:
            raise RuntimeError("retraining did not reproduce the selection run")
        models[seed] = model
        cnn = {**val, "method": "cnn", "lr": lr, "epochs": epochs, "seed": seed, "chosen": 1}
        by_lighting = score_rows(predict_states(model, v_c), yv, light_val, **cnn)
        rows += [r for r in by_lighting if r["lighting"] != "all"]  # "all" is a row above

    # 3. the test part, read once
    parts = [("mix", crops_of("test", scenes["test"]))]
    parts += [(c, crops_of("test", scenes["test_condition"], c)) for c in TEST_CONDITIONS]
    for condition, (t_c, yt, light_test) in parts:
        test = {"split": "test", "condition": condition}
        rows += score_rows(
            hsv_rule(t_c, **rule), yt, light_test, **test, method="hsv rule (fitted)"
        )
        for seed, model in models.items():
            cnn = {**test, "method": "cnn", "lr": lr, "epochs": epochs, "seed": seed, "chosen": 1}
            rows += score_rows(predict_states(model, t_c), yt, light_test, **cnn)

    def accuracy(split, condition, method, seed=None, lighting="all"):
        for r in rows:
            if (r["split"], r["condition"], r["method"], r["lighting"]) == (
                split, condition, method, lighting,
            ) and r.get("seed") == seed and r.get("chosen", 1) == 1:  # fmt: skip
                return r["accuracy"]
        return None

    metadata = {
        "what": "traffic-light state CNN for chapter 11 (red, amber, green, off)",
        "made_by": "python scripts/train_light_cnn.py" + (" --quick" if args.quick else ""),
        "recipe": {
            **RECIPE,
            "architecture": "dlcv.lights.light_cnn",
            "lr": lr,
            "epochs": epochs,
            "seed": 0,
        },  # fmt: skip
        "selection": {
            "lr": list(LRS),
            "epochs": list(epoch_options),
            "seeds": list(SEEDS),
            "rule": "best mean validation accuracy over the seeds",
        },  # fmt: skip
        "data": f"dlcv.scenes.light_crops (24x12) of random_scene seeds 0-{scenes['train'] - 1}"
        f" of 'train' ({len(y):,} lights); validation seeds 0-{scenes['validation'] - 1} of "
        f"'validation' ({len(yv):,} lights); training mix (condition=None)",
        "validation_accuracy": accuracy("validation", "mix", "cnn", 0),
        "validation_by_lighting": {
            g: accuracy("validation", "mix", "cnn", 0, g) for g in ("day", "dusk", "glare")
        },
        "test_accuracy": accuracy("test", "mix", "cnn", 0),
        "hsv_rule": rule,
        "library": f"dlcv at {library_version()}",
    }
    path = save(models[0], args.out / "light_cnn.npz", metadata)
    wall = time.perf_counter() - start
    command = "python scripts/train_light_cnn.py " + " ".join(argv)
    notes = provenance(command, 1, wall)
    notes.append(f"hsv rule fitted on validation: {rule}")
    notes.append(f"cnn chosen on validation: lr {lr:g}, {epochs} epochs, batch 32, Adam")
    write_csv(args.out / "light_results.csv", rows, COLUMNS, notes)

    print(f"\n{'part':<16}{'lighting':<10}{'HSV rule':>10}{'CNN (mean ± std, 3 seeds)':>30}")
    for condition, _ in parts:
        for group in ("all", "day", "dusk", "glare"):
            rule_acc = accuracy("test", condition, "hsv rule (fitted)", None, group)
            cnn_acc = [accuracy("test", condition, "cnn", s, group) for s in SEEDS]
            if rule_acc is None:
                continue
            print(
                f"test {condition:<11}{group:<10}{rule_acc:>10.1%}"
                f"{np.mean(cnn_acc):>20.1%} ± {np.std(cnn_acc, ddof=1):.1%}"
                f" ({min(cnn_acc):.1%}-{max(cnn_acc):.1%})"
            )
    print(f"\n{wall:.0f} s -> {path}, {args.out / 'light_results.csv'}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
