"""Chapter 11's classical object detector (HOG + linear SVM), and both detectors compared.

Usage::

    .venv/bin/python scripts/hog_detector.py            # writes the files below
    .venv/bin/python scripts/hog_detector.py --quick    # small numbers: a smoke run

Protocol (DESIGN.md), on the same three parts of generated frames as
``scripts/road_detector.py`` (the training mix of conditions), so the baseline is tuned as
fairly as the network:

1. **Validation choice.** The SVM's regularisation ``C`` among ``CS`` (one value for the
   three classes), by the mean AP@0.5 over the classes on ``N_VAL`` validation frames. Each
   candidate is trained on the ``N_TRAIN`` training frames (positives and 10 random
   negatives per frame), with one round of hard-negative mining on the first
   ``N_MINING`` of them (:class:`dlcv.hog_detector.HogSvmDetector`). The winner is shipped
   (``hog_detector.npz``). The linear SVM's training is deterministic; the random
   negatives come from seed 0.
2. **Test**, read once: the HOG + SVM detector and the shipped grid CNN (seed 0 of
   ``road_detector.py``) on the same ``N_TEST`` test frames: AP@0.5, AP@0.75 and
   AP@[.5:.95] per class, the precision-recall curve of each class at IoU 0.5 and 0.75
   (precision made monotone, at COCO's 101 recall points), and the median time per frame
   of each, one frame at a time as a car would see them. -> ``road_detector_comparison.csv``,
   ``road_detector_pr.csv``.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
from tqdm import tqdm

from dlcv.detect import average_precision_by_class, interpolated_precision, precision_recall
from dlcv.grid import provenance, write_csv
from dlcv.grid_detector import detect_objects, load_road_detector
from dlcv.hog_detector import HogSvmDetector
from dlcv.scenes import CLASSES, scene_batch

ROOT = Path(__file__).resolve().parents[1]
ASSETS = ROOT / "lib" / "dlcv" / "assets"
CS = (0.01, 0.1, 1.0)
RECALLS = np.linspace(0.0, 1.0, 101)  # as dlcv.detect's recall points


def hog_found(detector, frames, desc):
    found, seconds = [], []
    for f in tqdm(frames, desc=desc, unit="frame"):
        start = time.perf_counter()
        found.append(detector.detect(f.image, score_threshold=-1.0))
        seconds.append(time.perf_counter() - start)
    return found, seconds


def cnn_found(model, images):
    found, seconds = [], []
    for i in tqdm(range(len(images)), desc="grid CNN on test", unit="frame"):
        start = time.perf_counter()
        found += detect_objects(model, images[i : i + 1], score_threshold=0.0)
        seconds.append(time.perf_counter() - start)
    return found, seconds


def truth(frames):
    return [f.boxes for f in frames], [f.classes for f in frames]


def interpolated(found, frames, k, iou):
    """Monotone precision at the 101 recall points (0 where the recall is never reached)."""
    curve = precision_recall(
        [np.asarray(d.boxes)[d.classes == k] for d in found],
        [np.asarray(d.scores)[d.classes == k] for d in found],
        [f.boxes[f.classes == k] for f in frames],
        iou,
    )
    return interpolated_precision(curve)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="small numbers: a smoke run")
    parser.add_argument("--out", type=Path, default=ASSETS)
    args = parser.parse_args(argv)
    n_train, n_mining, n_val, n_test = (60, 10, 10, 10) if args.quick else (3000, 200, 100, 300)
    start = time.perf_counter()
    _, f_train = scene_batch(range(n_train), "train", progress=True)
    _, f_val = scene_batch(range(n_val), "validation", progress=True)

    candidates, choice = {}, {}
    for c in CS:
        detector = HogSvmDetector(C=c).fit(f_train, mining_frames=f_train[:n_mining], rng=0)
        found, _ = hog_found(detector, f_val, f"C={c} on validation")
        aps = average_precision_by_class(found, *truth(f_val), CLASSES, thresholds=(0.5,))
        candidates[c], choice[c] = (
            detector,
            round(float(np.mean([a["AP50"] for a in aps.values()])), 4),
        )
        print(f"C={c}: validation AP@0.5 { ({k: round(a['AP50'], 3) for k, a in aps.items()}) }")
    best = max(choice, key=choice.get)
    print(f"validation mean AP@0.5 by C: {choice}; chosen C={best}")

    x_test, f_test = scene_batch(range(n_test), "test", progress=True)  # read once
    methods = {
        "HOG + SVM": hog_found(candidates[best], f_test, "HOG + SVM on test"),
        "grid CNN": cnn_found(load_road_detector(), x_test),
    }
    rows, curves = [], []
    for method, (found, seconds) in methods.items():
        per_frame = float(np.median(seconds))
        for name, ap in average_precision_by_class(found, *truth(f_test), CLASSES).items():
            rows.append({"method": method, "class": name, "objects": ap["objects"],
                         "AP50": round(ap["AP50"], 4), "AP75": round(ap["AP75"], 4),
                         "AP50_95": round(ap["AP50_95"], 4),
                         "ms_per_frame": round(1000 * per_frame, 2)})  # fmt: skip
            for iou in (0.5, 0.75):
                p = interpolated(found, f_test, CLASSES.index(name), iou)
                curves += [
                    {"method": method, "class": name, "iou": iou, "recall": round(r, 2),
                     "precision": round(float(v), 4)}
                    for r, v in zip(RECALLS, p, strict=True)
                ]  # fmt: skip
    wall = time.perf_counter() - start
    command = "python scripts/hog_detector.py" + (" --quick" if args.quick else "")
    notes = provenance(command, 1, wall) + [
        f"frames: {n_train} train (hard negatives mined on the first {n_mining}), {n_val} "
        f"validation, {n_test} test (training mix); grid CNN: the shipped road_detector.npz",
        f"validation mean AP@0.5 by C: {choice}; chosen C={best}",
        "ms_per_frame: median over the test frames, one 96x128 frame at a time, 1 process",
    ]
    write_csv(args.out / "road_detector_comparison.csv", rows, list(rows[0]), notes)
    write_csv(args.out / "road_detector_pr.csv", curves, list(curves[0]), notes)
    candidates[best].save(args.out / "hog_detector.npz", metadata={
        "made_by": command, "C": best, "validation_mean_AP50": choice,
        "train_frames": n_train, "mining_frames": n_mining, "library": notes[2],
    })  # fmt: skip
    print(f"wrote road_detector_comparison.csv, road_detector_pr.csv, hog_detector.npz "
          f"in {wall:.0f} s")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
