"""Time dlcv.detect against naive loops and pycocotools, side by side in one process.

Usage::

    .venv/bin/python benchmarks/bench_detect.py                 # 7 rounds
    .venv/bin/python benchmarks/bench_detect.py --rounds 3      # quicker
    .venv/bin/python benchmarks/bench_detect.py --naive-rounds 0   # skip the naive loops

Three tables, printed as Markdown:

1. ``dlcv.detect.nms`` against ``dlcv.naive.nms`` (the greedy double loop in Python: each
   kept box suppresses the later boxes it overlaps) at N = 100, 1,000 and 10,000 boxes.
   "Clustered" boxes are what a sliding-window detector gives: about 10 jittered boxes
   around each of N / 10 objects, so most boxes overlap another; "scattered" boxes, uniform
   over the image, rarely overlap, so almost every box is kept: the worst case of an
   O(N x kept) suppression.
2. ``dlcv.detect.box_iou`` (broadcast NumPy) against ``dlcv.naive.box_iou`` (a Python loop
   over the pairs) for N = M = 100 and 1,000 boxes.
3. ``dlcv.detect.average_precision`` (IoU 0.5) and ``average_precision_range``
   (AP@[.5:.95]) against pycocotools' ``COCOeval`` (``evaluate`` + ``accumulate``, one class,
   every detection counted) on the same random 100-image scene. ``COCOeval`` is timed with
   the ``COCO`` objects built beforehand, and again including building them from the lists.

Every method of a row is timed in the same interleaved rounds (each round calibrated to
at least 50 ms, see ``bench_kernels.interleaved_medians``), and the tables show medians.
The naive loops take seconds at the large sizes, so they get ``--naive-rounds`` rounds
(default 3; 1 for the 10,000 scattered boxes, where one call takes about 30 s) of one
call each, interleaved with rounds of the fast version. All results
are checked against each other before timing: the same kept indices, the same IoU to
1e-12, the same AP to 1e-9.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import sys
from pathlib import Path

import numpy as np
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_kernels import interleaved_medians, machine_report, ms, table  # noqa: E402

from dlcv import naive  # noqa: E402
from dlcv.detect import (  # noqa: E402
    IOU_THRESHOLDS,
    average_precision,
    average_precision_range,
    box_iou,
    nms,
)

SIZE = 1000.0  # the boxes lie in a 1000 x 1000 image


def clustered_boxes(rng, n):
    """About 10 jittered boxes around each of n / 10 objects (sides 20 to 80 pixels)."""
    objects = max(1, n // 10)
    corner = rng.uniform(0, SIZE - 80, (objects, 2))
    side = rng.uniform(20, 80, (objects, 1))
    which = rng.integers(objects, size=n)
    jitter = rng.normal(0, 0.1, (n, 4)) * side[which]
    boxes = np.concatenate([corner, corner + side], axis=1)[which] + jitter
    return np.concatenate(
        [np.minimum(boxes[:, :2], boxes[:, 2:]), np.maximum(boxes[:, :2], boxes[:, 2:])], axis=1
    )


def scattered_boxes(rng, n):
    """Boxes uniform over the image, sides 10 to 40 pixels: few overlap."""
    corner = rng.uniform(0, SIZE - 40, (n, 2))
    return np.concatenate([corner, corner + rng.uniform(10, 40, (n, 2))], axis=1)


def naive_and_fast(slow, fast, rounds, check):
    """Median seconds of ``slow`` and ``fast`` in the same rounds, after ``check``."""
    if not rounds:
        return None
    check(slow(), fast())
    times = interleaved_medians({"naive": slow, "dlcv": fast}, rounds)
    return times["naive"], times["dlcv"]


def same_indices(a, b):
    assert np.array_equal(a, b), "naive and dlcv NMS keep different boxes"


def nms_table(rounds, naive_rounds):
    rows = []
    cases = [("clustered", n) for n in (100, 1_000, 10_000)] + [("scattered", 10_000)]
    for kind, n in cases:
        rng = np.random.default_rng(n)
        boxes = (clustered_boxes if kind == "clustered" else scattered_boxes)(rng, n)
        scores = rng.random(n)
        kept = len(nms(boxes, scores, 0.5))
        fast_time = interleaved_medians({"dlcv": lambda b=boxes, s=scores: nms(b, s, 0.5)}, rounds)
        times = naive_and_fast(
            lambda b=boxes, s=scores: naive.nms(b, s, 0.5),
            lambda b=boxes, s=scores: nms(b, s, 0.5),
            min(naive_rounds, 1) if kind == "scattered" else naive_rounds,  # 30 s a call
            same_indices,
        )
        row = [f"{kind}, {n:,}", f"{kept:,}", ms(fast_time["dlcv"])]
        row += [ms(times[0]), f"{times[0] / times[1]:.0f}x"] if times else ["skipped"] * 2
        rows.append(row)
    print(
        f"#### nms, IoU threshold 0.5 (median of {rounds} rounds; naive loop: "
        f"{naive_rounds} rounds, 1 for the scattered boxes, interleaved with dlcv)\n"
    )
    header = ["boxes", "kept", "dlcv.detect.nms", "naive double loop", "naive / dlcv"]
    table(header, rows)


def close_iou(a, b):
    np.testing.assert_allclose(a, b, rtol=0, atol=1e-12)


def iou_table(rounds, naive_rounds):
    rows = []
    for n in (100, 1_000):
        rng = np.random.default_rng(n)
        a, b = clustered_boxes(rng, n), clustered_boxes(rng, n)
        fast_time = interleaved_medians({"dlcv": lambda a=a, b=b: box_iou(a, b)}, rounds)
        times = naive_and_fast(
            lambda a=a, b=b: naive.box_iou(a, b),
            lambda a=a, b=b: box_iou(a, b),
            naive_rounds,
            close_iou,
        )
        row = [f"{n:,} x {n:,}", ms(fast_time["dlcv"])]
        row += [ms(times[0]), f"{times[0] / times[1]:.0f}x"] if times else ["skipped"] * 2
        rows.append(row)
    print(
        f"#### box_iou, N x M pairs (median of {rounds} rounds; per-pair loop: "
        f"{naive_rounds} rounds, interleaved with dlcv)\n"
    )
    table(["pairs", "dlcv.detect.box_iou", "per-pair Python loop", "naive / dlcv"], rows)


def random_scene(rng, n_images):
    """Ground truth (0 to 10 boxes per image), detections near 80 % of it with noise, some
    duplicated, plus 0 to 5 false positives per image; uniform random scores."""
    pred_boxes, pred_scores, gt_boxes = [], [], []
    for _ in range(n_images):
        gt = scattered_boxes(rng, rng.integers(0, 11))
        near = gt[rng.random(len(gt)) < 0.8]
        near = np.concatenate([near, near[rng.random(len(near)) < 0.3]])
        side = np.tile(near[:, 2:] - near[:, :2], 2)
        noisy = near + rng.normal(0, 0.1, near.shape) * side
        noisy[:, 2:] = np.maximum(noisy[:, 2:], noisy[:, :2])
        boxes = np.concatenate([noisy, scattered_boxes(rng, rng.integers(0, 6))])
        pred_boxes.append(boxes)
        pred_scores.append(rng.random(len(boxes)))
        gt_boxes.append(gt)
    return pred_boxes, pred_scores, gt_boxes


def coco_objects(pred_boxes, pred_scores, gt_boxes):
    """pycocotools' ground truth and results, built in memory from the per-image lists."""

    def xywh(b):
        return [float(b[0]), float(b[1]), float(b[2] - b[0]), float(b[3] - b[1])]

    annotations = [
        {"image_id": i + 1, "category_id": 1, "bbox": xywh(b), "iscrowd": 0}
        for i, gt in enumerate(gt_boxes)
        for b in gt
    ]
    for k, a in enumerate(annotations):
        a.update(id=k + 1, area=a["bbox"][2] * a["bbox"][3])
    results = [
        {"image_id": i + 1, "category_id": 1, "bbox": xywh(b), "score": float(s)}
        for i, (boxes, scores) in enumerate(zip(pred_boxes, pred_scores, strict=True))
        for b, s in zip(boxes, scores, strict=True)
    ]
    with contextlib.redirect_stdout(io.StringIO()):  # pycocotools prints its progress
        gt = COCO()
        images = [{"id": i + 1} for i in range(len(gt_boxes))]
        gt.dataset = {"images": images, "annotations": annotations, "categories": [{"id": 1}]}
        gt.createIndex()
        return gt, gt.loadRes(results)


def coco_ap(gt, dt, thresholds):
    """COCOeval's AP (mean precision over the 101 recall points and the thresholds)."""
    with contextlib.redirect_stdout(io.StringIO()):
        evaluation = COCOeval(gt, dt, "bbox")
        evaluation.params.iouThrs = np.array(thresholds, dtype=float)
        evaluation.params.maxDets = [10**6]  # every detection, as dlcv counts them
        evaluation.params.areaRng, evaluation.params.areaRngLbl = [[0, 1e10]], ["all"]
        evaluation.evaluate()
        evaluation.accumulate()
    precision = evaluation.eval["precision"]
    return float(precision[precision > -1].mean())


def ap_table(rounds):
    scene = random_scene(np.random.default_rng(0), 100)
    n_gt, n_dt = sum(len(g) for g in scene[2]), sum(len(b) for b in scene[0])
    gt, dt = coco_objects(*scene)
    rows = []
    for label, thresholds, ours in [
        ("AP, IoU 0.5", [0.5], lambda: average_precision(*scene, 0.5)),
        ("AP@[.5:.95]", IOU_THRESHOLDS, lambda: average_precision_range(*scene)),
    ]:
        value = ours()
        assert abs(value - coco_ap(gt, dt, thresholds)) < 1e-9, label
        times = interleaved_medians(
            {
                "dlcv": ours,
                "coco": lambda t=thresholds: coco_ap(gt, dt, t),
                "coco+build": lambda t=thresholds: coco_ap(*coco_objects(*scene), t),
            },
            rounds,
        )
        rows.append(
            [
                label,
                f"{value:.4f}",
                ms(times["dlcv"]),
                ms(times["coco"]),
                ms(times["coco+build"]),
                f"{times['coco'] / times['dlcv']:.1f}",
            ]
        )
    print(
        f"#### Average precision, 100 images, {n_gt} ground-truth boxes, {n_dt} detections "
        f"(median of {rounds} rounds)\n"
    )
    header = ["metric", "value (both)", "dlcv.detect", "COCOeval", "COCOeval + building COCO"]
    table(header + ["COCOeval / dlcv"], rows)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7, help="interleaved rounds (default 7)")
    parser.add_argument(
        "--naive-rounds", type=int, default=3, help="rounds of the naive loops (default 3)"
    )
    args = parser.parse_args(argv)
    machine_report()
    nms_table(args.rounds, args.naive_rounds)
    iou_table(args.rounds, args.naive_rounds)
    ap_table(args.rounds)


if __name__ == "__main__":
    main()
