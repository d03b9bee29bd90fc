"""Chapter 12's perception: object proposals from RGB and depth, and two namers of kinds.

Renders the seeded table tops of :data:`dlcv.perception.SCENE_SEEDS` (train 6000-6499,
validation 7000-7149, test 8000-8199: disjoint from each other and from grounding's
scenes), and for every scene

* finds object proposals in RGB and depth alone (:func:`dlcv.perception.propose`) and
  scores them against the segmentation mask (:func:`dlcv.perception.match_proposals`):
  objects found, missed, split, merged, spurious proposals, grasp-point error in ``x, y``
  for both grasp rules (the rule is chosen on validation by the median error);
* crops every object by its mask (:func:`dlcv.grounding.scene_candidates`, perfect
  perception) and keeps the proposals' crops with the kind of the object each stands for.

Then it trains the kind CNN (:func:`dlcv.perception.kind_cnn`) on the training scenes'
mask crops for each setting of a small grid (width x epochs), chooses on validation
mask-crop accuracy, trains the chosen setting with two more seeds (the spread), and fits
the colour-histogram baseline (:class:`dlcv.perception.HistogramNamer`: a
scikit-learn logistic regression, its ``C`` chosen on validation). A third namer, the
"colour" rule, names a crop's colour (:func:`dlcv.grounding.crop_colour`) and answers the
kind seen most often with that colour in training: since colours are drawn independently
of kinds it should be near chance. The test scenes are read once, at the end.

Writes ``lib/dlcv/assets/perception_cnn.npz``, ``perception_histogram.npz``,
``perception_naming.csv`` and ``perception_proposals.csv`` (comment lines with the
command, date, commit and machine).

Usage::

    python scripts/train_perception.py                          # a few minutes, one core
    python scripts/train_perception.py --scenes 40 --quick --out /tmp/p    # a quick try
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys
import time
import warnings
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402

from dlcv.grid import provenance, write_csv  # noqa: E402
from dlcv.grounding import crop_colour, scene_candidates  # noqa: E402
from dlcv.models import save  # noqa: E402
from dlcv.optim import Adam  # noqa: E402
from dlcv.perception import (  # noqa: E402
    CNN_FILE,
    GRASP_METHODS,
    HISTOGRAM_FILE,
    MIN_HEIGHT,
    MIN_PIXELS,
    NAMING_COLUMNS,
    NAMING_FILE,
    PROPOSALS_COLUMNS,
    PROPOSALS_FILE,
    SCENE_SEEDS,
    HistogramNamer,
    colour_histogram,
    crop_inputs,
    kind_cnn,
    load_histogram_namer,
    load_kind_cnn,
    load_naming_results,
    load_proposal_results,
    match_proposals,
    name_kinds,
    propose,
)
from dlcv.tabletop import KINDS, Camera, make_scene, render  # noqa: E402
from dlcv.train import fit  # noqa: E402

OUT = Path(__file__).resolve().parents[1] / "lib" / "dlcv" / "assets"
NAMES = list(KINDS)
GRID = [(8, 10), (8, 20), (16, 10), (16, 20)]  # (width, epochs) of the kind CNN
QUICK_GRID = [(8, 2)]
CS = (0.01, 0.1, 1.0, 10.0, 100.0)  # the baseline's inverse regularisation strengths


def render_part(seeds) -> dict:
    """Mask crops, proposal crops and proposal scores of every scene of ``seeds``."""
    camera = Camera()
    part = {"mask": [], "mask_kinds": [], "proposal": [], "proposal_kinds": [],
            "scenes": 0, "objects": 0, "found": 0, "missed": 0, "split": 0, "merged": 0,
            "spurious": 0, "errors": {g: [] for g in GRASP_METHODS}}  # fmt: skip
    for seed in seeds:
        with make_scene(seed) as scene:
            frame = render(scene, camera)
            cands = scene_candidates(scene, camera)
            bodies = [o.body for o in scene.objects]
            positions = [o.position for o in scene.objects]
            kind_of = {o.body: o.kind for o in scene.objects}
        part["mask"].append(cands.crops)
        part["mask_kinds"] += [NAMES.index(k) for k in cands.kinds]
        for grasp in GRASP_METHODS:
            found = propose(frame.rgb, frame.depth, camera, grasp=grasp)
            match = match_proposals(found, frame.segmentation, bodies, positions)
            part["errors"][grasp] += list(match.errors)
        keep = match.assigned >= 0
        part["proposal"].append(found.crops[keep])
        part["proposal_kinds"] += [NAMES.index(kind_of[b]) for b in match.assigned[keep]]
        part["scenes"] += 1
        part["objects"] += len(bodies)
        for key in ("found", "missed", "split", "merged"):
            part[key] += int(getattr(match, key).sum())
        part["spurious"] += match.spurious
    for key in ("mask", "proposal"):
        part[key] = np.concatenate(part[key])
        part[f"{key}_kinds"] = np.array(part[f"{key}_kinds"], dtype=np.int64)
    return part


def proposal_row(name: str, part: dict, grasp: str) -> dict:
    e = np.array(part["errors"][grasp]) * 100
    row = {"part": name, "grasp": grasp}
    row.update({k: part[k] for k in ("scenes", "objects", "found", "missed", "split",
                                     "merged", "spurious")})  # fmt: skip
    row.update(median_cm=round(float(np.median(e)), 3),
               p90_cm=round(float(np.percentile(e, 90)), 3),
               max_cm=round(float(e.max()), 3))  # fmt: skip
    return row


def naming_rows(name: str, crops: str, namer: str, truth, predicted) -> list[dict]:
    """One row for all crops and one per true kind, each with its confusion counts."""
    truth, predicted = np.asarray(truth), np.asarray(predicted)
    rows = []
    for kind in ["all", *NAMES]:
        sel = np.ones(len(truth), bool) if kind == "all" else truth == NAMES.index(kind)
        row = {"part": name, "crops": crops, "namer": namer, "kind": kind, "n": int(sel.sum()),
               "accuracy": round(float((truth[sel] == predicted[sel]).mean()), 4)
               if sel.any() else 0.0}  # fmt: skip
        row.update({f"as_{k}": int((predicted[sel] == i).sum()) for i, k in enumerate(NAMES)})
        rows.append(row)
    return rows


def fit_histogram(train: dict, validation: dict, bins: int = 4):
    """The baseline with ``C`` chosen on validation mask crops: (namer, C, accuracy)."""
    from sklearn.linear_model import LogisticRegression

    x = colour_histogram(train["mask"], bins)
    mean, scale = x.mean(axis=0), x.std(axis=0)
    scale[scale == 0] = 1.0
    xv = colour_histogram(validation["mask"], bins)
    best = None
    for c in CS:
        clf = LogisticRegression(C=c, max_iter=2000)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # a non-converged fit is still a fair candidate
            clf.fit((x - mean) / scale, train["mask_kinds"])
        acc = float((clf.predict((xv - mean) / scale) == validation["mask_kinds"]).mean())
        print(f"histogram baseline C={c:g}: validation accuracy {acc:.3f}", flush=True)
        if best is None or acc > best[2]:
            best = (HistogramNamer(clf.coef_, clf.intercept_, mean, scale, bins), c, acc)
    return best


def colour_rule(train: dict):
    """The kind seen most often with each colour name in training."""
    colours = [crop_colour(c) for c in train["mask"]]
    table = {}
    for name in set(colours):
        kinds = train["mask_kinds"][[c == name for c in colours]]
        table[name] = int(np.bincount(kinds, minlength=len(NAMES)).argmax())
    return lambda crops: np.array([table.get(crop_colour(c), 0) for c in crops])


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenes", type=int, default=500, help="training scenes (of 500)")
    parser.add_argument("--quick", action="store_true", help="one tiny setting, for trying")
    parser.add_argument("--lr", type=float, default=2e-3)
    parser.add_argument("--out", type=Path, default=OUT, help="folder of the output files")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    seeds = {part: list(r) for part, r in SCENE_SEEDS.items()}
    seeds["train"] = seeds["train"][: args.scenes]
    if args.quick:
        seeds = {part: s[: max(len(s) // 10, 5)] for part, s in seeds.items()}
    parts = {name: render_part(seeds[name]) for name in ("train", "validation")}
    print(f"rendered {sum(p['scenes'] for p in parts.values())} scenes in "
          f"{time.perf_counter() - start:.0f} s; {len(parts['train']['mask'])} training crops",
          flush=True)  # fmt: skip
    val = parts["validation"]
    grasp = min(GRASP_METHODS, key=lambda g: np.median(val["errors"][g]))
    for g in GRASP_METHODS:
        print(f"validation grasp '{g}': median error "
              f"{np.median(val['errors'][g]) * 100:.2f} cm", flush=True)  # fmt: skip

    train = parts["train"]
    x, y = crop_inputs(train["mask"]), train["mask_kinds"]
    yv = val["mask_kinds"]
    trials = []
    for width, epochs in QUICK_GRID if args.quick else GRID:
        model = kind_cnn(width, rng=0)
        fit(model, x, y, epochs=epochs, optimizer=Adam(args.lr), seed=0, verbose=False)
        acc = float((np.array([NAMES.index(k) for k in name_kinds(model, val["mask"])[0]])
                     == yv).mean())  # fmt: skip
        trials.append((acc, width, epochs, model))
        print(f"CNN width {width}, {epochs} epochs: validation accuracy {acc:.3f} "
              f"({time.perf_counter() - start:.0f} s)", flush=True)  # fmt: skip
    acc, width, epochs, model = max(trials, key=lambda t: t[0])
    spread = {0: model}
    for seed in (1, 2):
        other = kind_cnn(width, rng=seed)
        fit(other, x, y, epochs=epochs, optimizer=Adam(args.lr), seed=seed, verbose=False)
        spread[seed] = other
    histogram, c, hist_acc = fit_histogram(train, val)
    colour = colour_rule(train)

    # The test scenes, read once.
    parts["test"] = render_part(seeds["test"])
    rows, proposals = [], []
    for name in ("validation", "test"):
        part = parts[name]
        proposals += [proposal_row(name, part, g) for g in GRASP_METHODS]
        for crops in ("mask", "proposal"):
            images, truth = part[crops], part[f"{crops}_kinds"]
            namers = {
                "cnn": np.array([NAMES.index(k) for k in name_kinds(model, images)[0]]),
                "histogram": np.array([NAMES.index(k) for k in histogram.predict(images)]),
                "colour": colour(images),
            }
            for namer, predicted in namers.items():
                rows += naming_rows(name, crops, namer, truth, predicted)
    test_spread = [
        float((np.array([NAMES.index(k) for k in name_kinds(m, parts["test"]["mask"])[0]])
               == parts["test"]["mask_kinds"]).mean())
        for m in spread.values()
    ]  # fmt: skip
    wall = time.perf_counter() - start
    metadata = {"kinds": NAMES, "width": width, "epochs": epochs, "lr": args.lr, "grasp": grasp,
                "validation_accuracy": acc, "train_seeds": [seeds["train"][0],
                                                            seeds["train"][-1]]}  # fmt: skip
    args.out.mkdir(parents=True, exist_ok=True)
    save(model, args.out / CNN_FILE, metadata)
    histogram.save(args.out / HISTOGRAM_FILE)
    command = "python scripts/train_perception.py " + shlex.join(argv)
    settings = (
        f"scenes: train seeds {seeds['train'][0]}-{seeds['train'][-1]}, validation "
        f"{seeds['validation'][0]}-{seeds['validation'][-1]}, test {seeds['test'][0]}-"
        f"{seeds['test'][-1]}; proposals: height > {MIN_HEIGHT} m, >= {MIN_PIXELS} pixels; "
        f"grasp rule chosen on validation: {grasp}; CNN width {width}, {epochs} epochs, "
        f"Adam {args.lr} (validation {acc:.4f}; grid "
        f"{[(w, e, round(a, 4)) for a, w, e, _ in trials]}); "
        f"test mask-crop accuracy over CNN seeds 0, 1, 2: {[round(a, 4) for a in test_spread]}; "
        f"histogram baseline C={c} (validation {hist_acc:.4f}); trained on mask crops"
    )  # fmt: skip
    comments = [*provenance(command, 1, wall), settings]
    write_csv(args.out / NAMING_FILE, rows, NAMING_COLUMNS, comments)
    write_csv(args.out / PROPOSALS_FILE, proposals, PROPOSALS_COLUMNS, comments)
    load_kind_cnn(args.out / CNN_FILE)  # refuse what could not be read back
    load_histogram_namer(args.out / HISTOGRAM_FILE)
    load_naming_results(args.out)
    load_proposal_results(args.out)
    print(settings)
    for row in proposals:
        print({k: row[k] for k in PROPOSALS_COLUMNS})
    for row in rows:
        if row["part"] == "test":
            counts = [row[f"as_{k}"] for k in NAMES]
            print(f"test {row['crops']:8} {row['namer']:9} {row['kind']:5} n={row['n']:4} "
                  f"accuracy {row['accuracy']:.3f} as {counts}")  # fmt: skip
    print(f"wrote {args.out} files in {wall:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
