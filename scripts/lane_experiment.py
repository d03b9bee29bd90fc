"""Chapter 11's lane experiment: the classical Hough pipeline against the course's lane CNN.

Usage::

    .venv/bin/python scripts/lane_experiment.py            # writes the files below
    .venv/bin/python scripts/lane_experiment.py --quick    # small numbers: a smoke run

The protocol (DESIGN.md): three parts of generated road scenes, drawn from separate random
streams (:data:`dlcv.scenes.SPLITS`), fixed once.

1. **Training** (``train`` split, the training mix of conditions): the CNN
   (:func:`dlcv.lanes.lane_cnn`) learns the boundary columns at 5-30 m from
   ``N_TRAIN`` frames, Adam, masked squared error (:func:`dlcv.lanes.lane_loss`).
2. **Validation** (``validation`` split, the same mix): the CNN's number of epochs
   (the best of 1..``MAX_EPOCHS`` for seed 0, then used for every seed), and the classical
   pipeline's settings (a grid over Canny thresholds, Hough votes, segment length and
   gap, :class:`dlcv.lanes.HoughSettings`), each by its share of boundary points within
   0.5 m. Both methods are tuned on the same frames.
3. **Test** (``test`` split), read once at the end: ``N_TEST`` frames of each of
   :data:`dlcv.scenes.CONDITIONS`; for each method (the CNN: each of 3 seeds) the share
   of boundary points within 0.5 m sideways and the median error in pixels and metres, by
   distance. -> ``lane_results.csv``; the seed-0 network -> ``lane_cnn.npz``.
"""

from __future__ import annotations

import argparse
import itertools
import sys
import time
from pathlib import Path

import numpy as np
from tqdm import tqdm

from dlcv.grid import provenance, write_csv
from dlcv.lanes import (
    HoughSettings,
    cnn_input,
    cnn_lanes,
    hough_lanes,
    lane_cnn,
    lane_errors,
    lane_loss,
    lane_targets,
)
from dlcv.models import save
from dlcv.optim import Adam
from dlcv.scenes import CONDITIONS, LANE_DISTANCES, scene_batch
from dlcv.train import minimise

ROOT = Path(__file__).resolve().parents[1]
ASSETS = ROOT / "lib" / "dlcv" / "assets"
TOLERANCE = 0.5  # metres sideways: a boundary point is right when this close
SEEDS = (0, 1, 2)
RECIPE = {"lr": 2e-3, "batch_size": 32, "lr_decay": 0.9}


def correct(metres: np.ndarray, frames) -> np.ndarray:
    """Per point: within TOLERANCE (a missing answer is wrong); NaN where no label."""
    truth = np.stack([f.lane_points() for f in frames])
    ok = np.where(np.isnan(metres), 0.0, (metres <= TOLERANCE).astype(float))
    return np.where(np.isfinite(truth), ok, np.nan)


def score(predicted, frames) -> float:
    return float(np.nanmean(correct(lane_errors(predicted, frames)[1], frames)))


def hough_all(frames, settings) -> np.ndarray:
    return np.stack([hough_lanes(f.image, f.camera, settings) for f in frames])


def tune_hough(frames, quick: bool) -> tuple[HoughSettings, list[dict]]:
    grid = {
        "canny": [(30, 90), (50, 150), (80, 200)],
        "votes": [8, 12, 20],
        "min_length": [6, 10],
        "max_gap": [3, 6],
    }
    if quick:
        grid = {k: v[:1] for k, v in grid.items()}
    rows, best = [], (-1.0, None)
    combos = list(itertools.product(*grid.values()))
    for values in tqdm(combos, desc="Hough settings on validation", unit="setting"):
        settings = HoughSettings(**dict(zip(grid, values, strict=True)))
        acc = score(hough_all(frames, settings), frames)
        rows.append(
            {**dict(zip(grid, map(str, values), strict=True)), "validation_within": round(acc, 4)}
        )
        if acc > best[0]:
            best = (acc, settings)
    return best[1], rows


def train_cnn(seed, x, y, x_val, frames_val, epochs, pick: bool):
    """Train one network; with ``pick``, score validation after every epoch and keep the
    count that scored best (returned with the per-epoch scores)."""
    model = lane_cnn(rng=seed)
    optimizer = Adam(RECIPE["lr"])
    scores = []
    for epoch in range(epochs):
        batch = RECIPE["batch_size"]
        minimise(model, x, y, lane_loss, epochs=1, batch_size=batch, optimizer=optimizer,
                 seed=seed * 1000 + epoch)  # fmt: skip
        optimizer.lr *= RECIPE["lr_decay"]
        if pick:
            scores.append(score(cnn_lanes(model, x_val), frames_val))
    return model, scores


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="small numbers: a smoke run")
    parser.add_argument("--out", type=Path, default=ASSETS)
    args = parser.parse_args(argv)
    n_train, n_val, n_test, max_epochs = (300, 60, 20, 2) if args.quick else (5000, 500, 200, 15)
    start = time.perf_counter()

    x_train, frames_train = scene_batch(range(n_train), "train", progress=True)

    x_half = cnn_input(x_train)
    y_train = lane_targets(frames_train).astype(np.float32)
    del frames_train
    x_val, frames_val = scene_batch(range(n_val), "validation", progress=True)

    settings, hough_rows = tune_hough(frames_val, args.quick)
    print(f"Hough settings chosen on validation: {settings}", flush=True)

    model0, curve = train_cnn(0, x_half, y_train, x_val, frames_val, max_epochs, pick=True)
    epochs = int(np.argmax(curve)) + 1
    print(f"CNN validation share within {TOLERANCE} m by epoch: {np.round(curve, 3).tolist()}; "
          f"chosen: {epochs} epochs", flush=True)  # fmt: skip
    models = {0: train_cnn(0, x_half, y_train, None, None, epochs, pick=False)[0]}
    for seed in tqdm(SEEDS[1:], desc="CNN seeds", unit="seed"):
        models[seed] = train_cnn(seed, x_half, y_train, None, None, epochs, pick=False)[0]
    val_cnn = {s: score(cnn_lanes(m, x_val), frames_val) for s, m in models.items()}

    # the test part, read once
    rows = []
    for condition in tqdm(CONDITIONS, desc="test conditions", unit="condition"):
        x_test, frames = scene_batch(range(n_test), "test", condition)
        methods = {"Hough": hough_all(frames, settings)}
        methods.update({f"CNN seed {s}": cnn_lanes(m, x_test) for s, m in models.items()})
        for method, predicted in methods.items():
            pixels, metres = lane_errors(predicted, frames)
            right = correct(metres, frames)
            for d, distance in enumerate(LANE_DISTANCES):
                labelled = np.isfinite(right[:, :, d])
                rows.append({
                    "condition": condition, "method": method, "distance_m": distance,
                    "points": int(labelled.sum()),
                    "within_0.5m": round(float(np.nanmean(right[:, :, d])), 4),
                    "missed": int((np.isnan(predicted[:, :, d]) & labelled).sum()),
                    "median_error_px": round(float(np.nanmedian(pixels[:, :, d])), 3),
                    "median_error_m": round(float(np.nanmedian(metres[:, :, d])), 4),
                })  # fmt: skip
    wall = time.perf_counter() - start
    command = "python scripts/lane_experiment.py" + (" --quick" if args.quick else "")
    notes = provenance(command, 1, wall) + [
        f"frames: {n_train} train, {n_val} validation, {n_test} test per condition; 96x128",
        f"Hough settings chosen on validation: {settings}",
        f"CNN: {RECIPE}, {epochs} epochs chosen on validation (seed 0 curve "
        f"{np.round(curve, 3).tolist()}); validation share within {TOLERANCE} m by seed: "
        f"{ {s: round(v, 4) for s, v in val_cnn.items()} }",
    ]
    write_csv(args.out / "lane_results.csv", rows, list(rows[0]), notes)
    write_csv(args.out / "lane_hough_grid.csv", hough_rows, list(hough_rows[0]), notes[:4])
    save(models[0], args.out / "lane_cnn.npz", metadata={
        "made_by": command, "recipe": RECIPE, "epochs": epochs, "train_frames": n_train,
        "validation_within_0.5m": round(val_cnn[0], 4), "library": notes[2],
    })  # fmt: skip
    print(f"wrote lane_results.csv, lane_hough_grid.csv, lane_cnn.npz in {wall:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
