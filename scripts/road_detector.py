"""Chapter 11's object detector: the course's grid detector trained on generated road frames.

Usage::

    .venv/bin/python scripts/road_detector.py            # writes the files below
    .venv/bin/python scripts/road_detector.py --quick    # small numbers: a smoke run

Protocol (DESIGN.md), on three parts of generated frames with separate random streams
(:data:`dlcv.scenes.SPLITS`), the training mix of conditions:

1. **Validation choices.** The weight of positive cells in the objectness loss
   (``pos_weight``: about 1.5 % of cells hold an object's centre, so unweighted the
   network learns to say "nothing" everywhere) is chosen among ``POS_WEIGHTS`` by the
   mean AP@0.5 over the classes on the validation frames, after a short run each
   (``SHORT_EPOCHS``).
2. **Training.** With that weight, ``EPOCHS`` epochs on ``N_TRAIN`` frames, for each of
   3 seeds; the seed-0 network is shipped (``road_detector.npz``).
3. **Test**, read once: AP@0.5 and AP@[.5:.95] per class (:mod:`dlcv.detect`) on
   ``N_TEST`` test frames, per seed. -> ``road_detector.csv``; per-epoch losses ->
   ``road_detector_training.csv``.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
from tqdm import tqdm

from dlcv.detect import average_precision, average_precision_range
from dlcv.grid import provenance, write_csv
from dlcv.grid_detector import decode, grid_detector_net, train_grid_detector
from dlcv.models import save
from dlcv.optim import Adam
from dlcv.scenes import CLASSES, scene_batch

ROOT = Path(__file__).resolve().parents[1]
ASSETS = ROOT / "lib" / "dlcv" / "assets"
POS_WEIGHTS = (1.0, 5.0, 20.0)
SEEDS = (0, 1, 2)
LR = 3e-3


def labels(frames):
    return [f.boxes for f in frames], [f.classes for f in frames]


def per_class_ap(model, images, frames) -> dict:
    """AP@0.5 and AP@[.5:.95] per class over every candidate (score threshold 0)."""
    model.eval()
    output = np.concatenate(
        [model.forward(images[i : i + 128]) for i in range(0, len(images), 128)]
    )
    found = decode(output, score_threshold=0.0, image_shape=images.shape[2:])
    out = {}
    for k, name in enumerate(CLASSES):
        boxes = [d.boxes[d.classes == k] for d in found]
        scores = [d.scores[d.classes == k] for d in found]
        truth = [f.boxes[f.classes == k] for f in frames]
        out[name] = (
            average_precision(boxes, scores, truth, 0.5),
            average_precision_range(boxes, scores, truth),
        )
    return out


def train(seed, images, frames, epochs, pos_weight, validation=None):
    model = grid_detector_net(len(CLASSES), rng=seed)
    history = train_grid_detector(model, images, *labels(frames), epochs=epochs,
                                  optimizer=Adam(LR), seed=seed, pos_weight=pos_weight,
                                  validation=validation, progress=True)  # fmt: skip
    return model, history


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="small numbers: a smoke run")
    parser.add_argument("--out", type=Path, default=ASSETS)
    args = parser.parse_args(argv)
    n_train, n_val, n_test, short, epochs = (
        (200, 40, 40, 1, 2) if args.quick else (3000, 300, 300, 4, 20)
    )
    start = time.perf_counter()
    x_train, f_train = scene_batch(range(n_train), "train", progress=True)
    x_val, f_val = scene_batch(range(n_val), "validation", progress=True)

    choice = {}
    for weight in tqdm(POS_WEIGHTS, desc="pos_weight on validation", unit="weight"):
        model, _ = train(0, x_train, f_train, short, weight)
        aps = per_class_ap(model, x_val, f_val)
        choice[weight] = float(np.mean([ap50 for ap50, _ in aps.values()]))
    pos_weight = max(choice, key=choice.get)
    print(
        f"validation mean AP@0.5 by pos_weight after {short} epochs: {choice}; chosen {pos_weight}"
    )

    models, history_rows = {}, []
    for seed in SEEDS:
        validation = (x_val, *labels(f_val)) if seed == 0 else None
        models[seed], history = train(seed, x_train, f_train, epochs, pos_weight, validation)
        history_rows += [
            {"seed": seed, **{k: round(float(v), 5) for k, v in h.items()}} for h in history
        ]

    x_test, f_test = scene_batch(range(n_test), "test", progress=True)  # read once
    rows = []
    for seed, model in models.items():
        for name, (ap50, ap_range) in per_class_ap(model, x_test, f_test).items():
            count = sum(int((f.classes == CLASSES.index(name)).sum()) for f in f_test)
            rows.append({"method": "grid CNN", "seed": seed, "class": name, "objects": count,
                         "AP50": round(ap50, 4), "AP50_95": round(ap_range, 4)})  # fmt: skip
    wall = time.perf_counter() - start
    command = "python scripts/road_detector.py" + (" --quick" if args.quick else "")
    notes = provenance(command, 1, wall) + [
        f"frames: {n_train} train, {n_val} validation, {n_test} test (training mix); Adam {LR}",
        f"validation mean AP@0.5 by pos_weight after {short} epochs: {choice}; chosen {pos_weight}",
        f"{epochs} epochs per seed",
    ]
    write_csv(args.out / "road_detector.csv", rows, list(rows[0]), notes)
    write_csv(args.out / "road_detector_training.csv", history_rows, list(history_rows[0]), notes)
    save(models[0], args.out / "road_detector.npz", metadata={
        "made_by": command, "pos_weight": pos_weight, "epochs": epochs, "lr": LR,
        "train_frames": n_train, "library": notes[2],
    })  # fmt: skip
    print(f"wrote road_detector.csv, road_detector_training.csv, road_detector.npz in {wall:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
