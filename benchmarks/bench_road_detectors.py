"""Time chapter 11's object detectors: inference per frame and a training epoch.

Usage::

    .venv/bin/python benchmarks/bench_road_detectors.py              # 5 rounds
    .venv/bin/python benchmarks/bench_road_detectors.py --rounds 3   # quicker
    .venv/bin/python benchmarks/bench_road_detectors.py --clock cpu  # CPU time, busy machine

Two tables, printed as Markdown.

1. **Inference per 96 x 128 frame**, a new test frame at every call (seeds 0, 1, ... of the
   test split, rendered beforehand): the shipped grid CNN one frame at a time and in batches
   of 64 (time per frame), and the course's HOG + SVM detector (three classes over one
   pyramid). ``detect_objects``' default batch of 4 against one of 128: small batches are
   faster on a CPU. The reference, timed in the same interleaved rounds, is OpenCV's C++ HOG
   pedestrian detector (``cv2.HOGDescriptor`` with its default people SVM,
   ``detectMultiScale``) on the same frame enlarged 4x (its window is 64 x 128, taller
   than the frame): what a compiled sliding-window HOG costs on the pixels our pyramid's
   first level has.
2. **One training epoch** of the grid detector (Adam, batch 32, the recipe of
   ``scripts/road_detector.py``) on 500 training frames, against one inference pass over
   the same frames: how much backward and update cost over forward. The script's epoch
   is on 3,000 frames, six times this.

Rounds are interleaved (``bench_kernels.interleaved_medians``); the tables show medians.
"""

from __future__ import annotations

import argparse
import itertools
import sys
from pathlib import Path

import cv2
import numpy as np
from threadpoolctl import threadpool_limits

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_kernels  # noqa: E402
from bench_kernels import CLOCKS, interleaved_medians, machine_report, ms, table  # noqa: E402

from dlcv.grid_detector import (  # noqa: E402
    detect_objects,
    grid_detector_net,
    load_road_detector,
    train_grid_detector,
)
from dlcv.hog_detector import load_hog_detector  # noqa: E402
from dlcv.optim import Adam  # noqa: E402
from dlcv.scenes import CLASSES, scene_batch  # noqa: E402

N_FRAMES, BATCH, EPOCH_FRAMES = 64, 128, 500


def cycling(items):
    """A function returning the next of ``items`` (round and round) at each call."""
    it = itertools.cycle(items)
    return lambda: next(it)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds (default 5)")
    parser.add_argument("--clock", choices=CLOCKS, default="wall", help="wall (default) or cpu")
    args = parser.parse_args(argv)
    bench_kernels.clock = CLOCKS[args.clock]
    _ = threadpool_limits(1)  # one BLAS thread, as the chapter and the scripts run
    cv2.setNumThreads(1)
    machine_report()

    images, frames = scene_batch(range(N_FRAMES), "test")
    cnn, hog = load_road_detector(), load_hog_detector()
    people = cv2.HOGDescriptor()
    people.setSVMDetector(cv2.HOGDescriptor_getDefaultPeopleDetector())
    enlarged = [
        cv2.resize((f.image * 255).astype(np.uint8), None, fx=4, fy=4,
                   interpolation=cv2.INTER_LINEAR)
        for f in frames
    ]  # fmt: skip
    next_image, next_frame, next_big = cycling(images), cycling(frames), cycling(enlarged)
    batches = cycling([images[np.arange(i, i + BATCH) % N_FRAMES] for i in range(0, N_FRAMES, 16)])
    batches4 = cycling([images[i : i + 4] for i in range(0, N_FRAMES, 4)])
    functions = {
        "grid CNN, one frame at a time": lambda: detect_objects(cnn, next_image()[None], 0.5),
        "grid CNN, batches of 4 (per frame)": lambda: detect_objects(cnn, batches4(), 0.5),
        f"grid CNN, batches of {BATCH} (per frame)": lambda: detect_objects(
            cnn, batches(), 0.5, batch_size=BATCH
        ),
        "HOG + SVM of the course (3 classes)": lambda: hog.detect(next_frame().image, 0.0),
        "reference: OpenCV HOG people detector, 4x frame": lambda: people.detectMultiScale(
            next_big()
        ),
    }
    times = interleaved_medians(functions, args.rounds)
    times[f"grid CNN, batches of {BATCH} (per frame)"] /= BATCH
    times["grid CNN, batches of 4 (per frame)"] /= 4
    reference = times["reference: OpenCV HOG people detector, 4x frame"]
    rows = [[name, ms(t), f"{1 / t:,.1f}", f"{t / reference:.2f}"] for name, t in times.items()]
    print(f"#### Inference on 96 x 128 test frames, 1 thread (median of {args.rounds} "
          f"interleaved rounds, {args.clock} clock)\n")  # fmt: skip
    table(["detector", "time per frame", "frames per second", "x OpenCV HOG"], rows)

    x_train, f_train = scene_batch(range(EPOCH_FRAMES), "train")
    boxes, classes = [f.boxes for f in f_train], [f.classes for f in f_train]
    model = grid_detector_net(len(CLASSES), rng=0)
    optimizer = Adam(3e-3)
    epochs = itertools.count()

    def epoch():
        train_grid_detector(model, x_train, boxes, classes, epochs=1, optimizer=optimizer,
                            seed=next(epochs), pos_weight=20.0)  # fmt: skip

    def forward():
        detect_objects(model, x_train, 0.5)  # batches of 4

    epoch_rounds = max(2, args.rounds // 2)
    times = interleaved_medians({"epoch": epoch, "inference": forward}, epoch_rounds)
    print(f"#### Grid detector on {EPOCH_FRAMES} training frames, Adam, batch 32, 1 thread "
          f"(median of {epoch_rounds} interleaved rounds, {args.clock} clock)\n")  # fmt: skip
    table(
        ["pass", "time", "per frame", "x inference"],
        [
            ["one training epoch", ms(times["epoch"]), ms(times["epoch"] / EPOCH_FRAMES),
             f"{times['epoch'] / times['inference']:.1f}"],
            ["inference (forward + decode)", ms(times["inference"]),
             ms(times["inference"] / EPOCH_FRAMES), "1.0"],
        ],
    )  # fmt: skip
    print(f"An epoch of scripts/road_detector.py (3,000 frames): about "
          f"{ms(6 * times['epoch'])}")  # fmt: skip


if __name__ == "__main__":
    main()
