"""dlcv.detect: IoU against a per-pair formula and pycocotools, NMS against a plain greedy
double loop, average precision against pycocotools' COCOeval on random scenes, the
sliding-window detector on synthetic images, and every error message."""

import contextlib
import io

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pycocotools import mask as mask_utils
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval
from skimage.transform import resize

from dlcv.detect import (
    IOU_THRESHOLDS,
    average_precision,
    average_precision_by_class,
    average_precision_range,
    box_iou,
    detect_multiscale,
    match_detections,
    nms,
    precision_recall,
    pyramid,
    recall_at,
    sliding_windows,
)

seeds = st.integers(0, 2**32 - 1)


def random_boxes(rng, n, integer=False, size=60.0):
    """``n`` boxes in a ``size`` square, some of zero width or height; on a coarse integer grid
    (so that exact ties in IoU, and IoU exactly at a threshold, happen) when ``integer``."""
    corner = rng.uniform(0, size, (n, 2))
    extent = rng.uniform(0, size / 3, (n, 2)) * (rng.random((n, 2)) > 0.05)
    boxes = np.concatenate([corner, corner + extent], axis=1)
    return np.round(boxes / 5) if integer else boxes


def pair_iou(a, b):
    """IoU of two boxes, straight from the definition, in Python floats."""
    inter_w = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    inter_h = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = inter_w * inter_h
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def greedy_nms(boxes, scores, threshold):
    """The definition of NMS as a double loop: by falling score (Python's sort is stable, so
    equal scores keep index order), keep a box unless it overlaps a kept one > threshold."""
    keep = []
    for i in sorted(range(len(boxes)), key=lambda i: -scores[i]):
        if all(pair_iou(boxes[i], boxes[k]) <= threshold for k in keep):
            keep.append(i)
    return keep


def xywh(box):
    return [float(box[0]), float(box[1]), float(box[2] - box[0]), float(box[3] - box[1])]


def coco_aps(pred_boxes, pred_scores, gt_boxes, thresholds):
    """COCOeval's AP of one class at each IoU threshold, every detection counted, one area
    range: the mean of its precision over the 101 recall points, for each threshold."""
    images = [{"id": i + 1} for i in range(len(gt_boxes))]
    annotations = [
        {"image_id": i + 1, "category_id": 1, "bbox": xywh(b), "iscrowd": 0}
        for i, gt in enumerate(gt_boxes)
        for b in gt
    ]
    for k, a in enumerate(annotations):  # ids from 1: COCOeval stores a match as its id, 0 = none
        a.update(id=k + 1, area=a["bbox"][2] * a["bbox"][3])
    results = [
        {"image_id": i + 1, "category_id": 1, "bbox": xywh(b), "score": float(s)}
        for i, (boxes, scores) in enumerate(zip(pred_boxes, pred_scores, strict=True))
        for b, s in zip(boxes, scores, strict=True)
    ]
    with contextlib.redirect_stdout(io.StringIO()):  # pycocotools prints its progress
        gt = COCO()
        gt.dataset = {"images": images, "annotations": annotations, "categories": [{"id": 1}]}
        gt.createIndex()
        evaluation = COCOeval(gt, gt.loadRes(results), "bbox")
        evaluation.params.iouThrs = np.array(thresholds, dtype=float)
        evaluation.params.maxDets = [10**6]  # COCO keeps 100 detections per image by default
        evaluation.params.areaRng, evaluation.params.areaRngLbl = [[0, 1e10]], ["all"]
        evaluation.evaluate()
        evaluation.accumulate()
    precision = evaluation.eval["precision"][:, :, 0, 0, 0]  # (T, 101 recall points)
    assert (precision > -1).all()
    return precision.mean(axis=1)


def random_scene(rng, ties=False, integer=False):
    """A few images: ground truth (some images without), detections near it with noise, some
    duplicated, plus false positives (some images without detections)."""
    pred_boxes, pred_scores, gt_boxes = [], [], []
    for _ in range(rng.integers(1, 7)):
        gt = random_boxes(rng, rng.integers(0, 6), integer)
        near = gt[rng.random(len(gt)) < 0.8]
        near = np.concatenate([near, near[rng.random(len(near)) < 0.3]])  # duplicates
        size = np.maximum(near[:, 2:] - near[:, :2], 1.0)
        noisy = near + rng.normal(0, 0.15, near.shape) * np.tile(size, 2)
        noisy = np.concatenate([np.minimum(noisy[:, :2], noisy[:, 2:]), noisy[:, 2:]], axis=1)
        noisy[:, 2:] = np.maximum(noisy[:, 2:], noisy[:, :2])
        boxes = np.concatenate([noisy, random_boxes(rng, rng.integers(0, 4))])
        if integer:
            boxes = np.round(boxes)
        if rng.random() < 0.15:
            boxes = boxes[:0]
        scores = rng.choice([0.3, 0.6, 0.9], len(boxes)) if ties else rng.random(len(boxes))
        pred_boxes.append(boxes)
        pred_scores.append(scores)
        gt_boxes.append(gt)
    return pred_boxes, pred_scores, gt_boxes


# --- box_iou -------------------------------------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(seed=seeds, n=st.integers(1, 12), m=st.integers(1, 12), integer=st.booleans())
def test_box_iou_matches_the_formula_and_pycocotools(seed, n, m, integer):
    rng = np.random.default_rng(seed)
    a, b = random_boxes(rng, n, integer), random_boxes(rng, m, integer)
    b[: min(n, m) // 2] = a[: min(n, m) // 2]  # some identical pairs
    iou = box_iou(a, b)
    assert iou.shape == (n, m) and iou.dtype == np.float64
    expected = [[pair_iou(p, q) for q in b] for p in a]
    np.testing.assert_allclose(iou, expected, rtol=0, atol=1e-12)
    coco = mask_utils.iou([xywh(p) for p in a], [xywh(q) for q in b], [0] * m)
    np.testing.assert_allclose(iou, coco, rtol=0, atol=1e-9)
    assert ((iou >= 0) & (iou <= 1)).all()


def test_box_iou_known_values_and_conventions():
    iou = box_iou([[0, 0, 2, 2]], [[1, 0, 3, 2], [2, 0, 4, 2], [0, 0, 2, 2], [0, 0, 1, 1]])
    np.testing.assert_array_equal(iou, [[1 / 3, 0.0, 1.0, 0.25]])  # touching boxes: 0
    point, line = [[1, 1, 1, 1]], [[0, 1, 5, 1]]
    assert box_iou(point, point)[0, 0] == 0.0  # zero union: defined as 0, not nan
    assert box_iou(line, line)[0, 0] == 0.0 and box_iou(point, [[0, 0, 2, 2]])[0, 0] == 0.0
    assert box_iou(np.zeros((0, 4)), [[0, 0, 1, 1]]).shape == (0, 1)
    assert box_iou([[0, 0, 1, 1]], []).shape == (1, 0)


# --- nms -----------------------------------------------------------------------------------


@settings(max_examples=150, deadline=None)
@given(
    seed=seeds,
    n=st.integers(0, 40),
    integer=st.booleans(),
    ties=st.booleans(),
    threshold=st.one_of(st.sampled_from([0.1, 0.25, 0.5, 1 / 3, 0.7, 1.0]), st.floats(0.01, 1)),
)
def test_nms_matches_the_greedy_double_loop(seed, n, integer, ties, threshold):
    rng = np.random.default_rng(seed)
    boxes = random_boxes(rng, n, integer, size=30.0)
    boxes[rng.random(n) < 0.2] = boxes[0] if n else boxes[:0]  # exact duplicates
    scores = rng.integers(0, 3, n) / 2 if ties else rng.normal(size=n)
    keep = nms(boxes, scores, threshold)
    assert keep.dtype == np.int64
    assert keep.tolist() == greedy_nms(boxes, scores, threshold)
    # Its properties: by falling score; kept boxes do not overlap above the threshold; every
    # dropped box overlaps a kept box with a higher score (or an equal one earlier).
    assert (np.diff(scores[keep]) <= 0).all()
    iou = box_iou(boxes, boxes)
    kept_pairs = iou[np.ix_(keep, keep)]
    assert (kept_pairs[~np.eye(len(keep), dtype=bool)] <= threshold).all()
    rank = np.empty(n, int)
    rank[np.argsort(-scores, kind="stable")] = np.arange(n)
    for dropped in set(range(n)) - set(keep.tolist()):
        assert any(iou[dropped, k] > threshold and rank[k] < rank[dropped] for k in keep)


def test_nms_edge_cases():
    empty = nms(np.zeros((0, 4)), np.zeros(0))
    assert empty.dtype == np.int64 and empty.shape == (0,)
    assert nms([], []).tolist() == []
    boxes = np.array([[0, 0, 10, 10]] * 3 + [[0, 0, 10, 9]])
    # Threshold 1: IoU is never > 1, so even exact duplicates are kept, by falling score.
    assert nms(boxes, [0.1, 0.5, 0.5, 0.9], 1.0).tolist() == [3, 1, 2, 0]
    assert nms(boxes, [0.1, 0.5, 0.5, 0.9], 0.95).tolist() == [3, 1]  # 3 and 1: IoU 0.9
    assert nms(boxes, [0.1, 0.5, 0.5, 0.9], 0.85).tolist() == [3]
    assert nms(boxes, [0.1, 0.5, 0.5, 0.2], 0.9).tolist() == [1, 3]  # 0.9 is not > 0.9
    # Two zero-area boxes have IoU 0 (zero union), so neither suppresses the other.
    assert nms([[1, 1, 1, 1], [1, 1, 1, 1]], [0.5, 0.6]).tolist() == [1, 0]


# --- matching, precision and recall, average precision ------------------------------------


@settings(max_examples=60, deadline=None)
@given(seed=seeds, threshold=st.sampled_from([0.1, 0.3, 0.5, 0.75, 0.9]), ties=st.booleans())
def test_average_precision_matches_cocoeval(seed, threshold, ties):
    rng = np.random.default_rng(seed)
    pred_boxes, pred_scores, gt_boxes = random_scene(rng, ties, integer=ties)
    if sum(len(gt) for gt in gt_boxes) == 0:
        with pytest.raises(ValueError, match="no ground-truth boxes"):
            average_precision(pred_boxes, pred_scores, gt_boxes, threshold)
    elif sum(len(b) for b in pred_boxes) == 0:  # COCO's loadRes refuses an empty list
        assert average_precision(pred_boxes, pred_scores, gt_boxes, threshold) == 0.0
    else:
        ap = average_precision(pred_boxes, pred_scores, gt_boxes, threshold)
        (expected,) = coco_aps(pred_boxes, pred_scores, gt_boxes, [threshold])
        assert abs(ap - expected) < 1e-9


@settings(max_examples=25, deadline=None)
@given(seed=seeds, ties=st.booleans())
def test_average_precision_range_matches_cocoeval(seed, ties):
    rng = np.random.default_rng(seed)
    pred_boxes, pred_scores, gt_boxes = random_scene(rng, ties, integer=ties)
    if sum(len(g) for g in gt_boxes) == 0 or sum(len(b) for b in pred_boxes) == 0:
        return  # both cases are covered by the test above
    expected = coco_aps(pred_boxes, pred_scores, gt_boxes, IOU_THRESHOLDS)
    ap = average_precision_range(pred_boxes, pred_scores, gt_boxes)
    assert abs(ap - expected.mean()) < 1e-9
    assert len(IOU_THRESHOLDS) == 10 and IOU_THRESHOLDS[0] == 0.5 and IOU_THRESHOLDS[-1] == 0.95
    explicit = average_precision_range(pred_boxes, pred_scores, gt_boxes, [0.5, 0.75])
    assert abs(explicit - expected[[0, 5]].mean()) < 1e-9


def test_average_precision_by_hand():
    gt = [np.array([[0, 0, 10, 10]])]
    assert average_precision([gt[0]], [[0.7]], gt) == 1.0  # one perfect detection
    assert average_precision([[]], [[]], gt) == 0.0  # nothing detected
    # A false positive ranked above the true one: precision 0 then 1/2 at recall 1. Made
    # monotone, it is 1/2 at every recall point.
    assert average_precision([[[50, 50, 60, 60], [0, 0, 10, 10]]], [[0.9, 0.8]], gt) == 0.5
    # Two objects; ranked TP, FP (a duplicate), TP: precision 1, 1/2, 2/3 at recall 1/2, 1/2,
    # 1. Monotone: 1, 2/3, 2/3. Recall points 0 .. 0.50 (51 of them) get 1, the other 50 2/3.
    two = [np.array([[0, 0, 10, 10], [20, 0, 30, 10]])]
    boxes = [np.array([[0, 0, 10, 10], [1, 0, 10, 10], [20, 0, 30, 10]])]
    ap = average_precision(boxes, [[0.9, 0.8, 0.7]], two)
    assert abs(ap - (51 + 50 * 2 / 3) / 101) < 1e-12
    # Detections on an image without ground truth are false positives.
    ap = average_precision([[[0, 0, 10, 10]], [[0, 0, 5, 5]]], [[0.5], [0.9]], [gt[0], []])
    assert ap == 0.5
    # IoU exactly at the threshold matches (>=): IoU([0,0,4,4], [0,0,4,2]) = 1/2.
    assert average_precision([[[0, 0, 4, 2]]], [[1.0]], [[[0, 0, 4, 4]]], 0.5) == 1.0
    assert average_precision([[[0, 0, 4, 2]]], [[1.0]], [[[0, 0, 4, 4]]], 0.51) == 0.0


def test_no_ground_truth_anywhere_is_an_error():
    with pytest.raises(ValueError, match="no ground-truth boxes in gt_boxes: .*undefined"):
        average_precision([[[0, 0, 1, 1]]], [[0.5]], [[]])
    with pytest.raises(ValueError, match="no ground-truth boxes"):
        precision_recall([], [], [])


def test_matching_ties_agree_with_cocoeval():
    # The first detection has IoU 1/3 with both objects; COCO gives it the later one, so the
    # second detection (on the first object) is a true positive too: AP 1. Taking the first
    # object instead would make the second detection a false positive.
    gt = [np.array([[0, 0, 10, 10], [10, 0, 20, 10]])]
    boxes = [np.array([[5, 0, 15, 10], [0, 0, 10, 10]])]
    assert match_detections(boxes[0], [0.9, 0.8], gt[0], 0.3).tolist() == [1, 0]
    assert average_precision(boxes, [[0.9, 0.8]], gt, 0.3) == 1.0
    assert coco_aps(boxes, [[0.9, 0.8]], gt, [0.3])[0] == pytest.approx(1.0, abs=1e-9)
    # Equal scores: the earlier detection is matched first (here the duplicate loses).
    assert match_detections([[0, 0, 10, 10], [0, 0, 10, 10]], [0.5, 0.5], gt[0]).tolist() == [
        0,
        -1,
    ]


def test_precision_recall_and_recall_at():
    gt = [np.array([[0, 0, 10, 10], [20, 0, 30, 10]]), np.array([[0, 0, 10, 10]])]
    boxes = [np.array([[0, 0, 10, 10], [50, 50, 60, 60]]), np.array([[1, 1, 10, 10]])]
    scores = [np.array([0.9, 0.8]), np.array([0.4])]
    curve = precision_recall(boxes, scores, gt)
    np.testing.assert_array_equal(curve.scores, [0.9, 0.8, 0.4])
    np.testing.assert_array_equal(curve.true_positive, [True, False, True])
    np.testing.assert_allclose(curve.precision, [1, 1 / 2, 2 / 3])
    np.testing.assert_allclose(curve.recall, [1 / 3, 1 / 3, 2 / 3])
    assert curve.n_ground_truth == 3
    assert recall_at(boxes, scores, gt, 0.5) == pytest.approx(1 / 3)
    assert recall_at(boxes, scores, gt, 0.4) == pytest.approx(2 / 3)  # >= the threshold
    assert recall_at(boxes, scores, gt, 0.95) == 0.0
    with pytest.raises(AttributeError):
        curve.n_ground_truth = 4  # frozen


# --- pyramid, sliding windows, the multiscale detector ------------------------------------


def test_pyramid_levels():
    image = np.random.default_rng(0).random((100, 80))
    levels = list(pyramid(image, scale=1.5, min_size=(20, 30)))
    factors = [f for f, _ in levels]
    np.testing.assert_allclose(factors, 1.5 ** np.arange(len(levels)))
    assert [lv.shape for _, lv in levels] == [(100, 80), (67, 53), (44, 36)]  # next: (30, 24)
    assert levels[0][1] is image or np.array_equal(levels[0][1], image)
    np.testing.assert_allclose(levels[2][1], resize(image, (44, 36), anti_aliasing=True))
    assert list(pyramid(image, min_size=(101, 1))) == []


@settings(max_examples=40, deadline=None)
@given(
    h=st.integers(1, 20),
    w=st.integers(1, 20),
    wh=st.integers(1, 8),
    ww=st.integers(1, 8),
    step=st.one_of(st.integers(1, 5), st.tuples(st.integers(1, 5), st.integers(1, 5))),
)
def test_sliding_windows_count_and_boxes(h, w, wh, ww, step):
    image = np.arange(h * w, dtype=float).reshape(h, w)
    if wh > h or ww > w:
        with pytest.raises(ValueError, match="window"):
            sliding_windows(image, (wh, ww), step)
        return
    windows, boxes = sliding_windows(image, (wh, ww), step)
    sy, sx = (step, step) if isinstance(step, int) else step
    assert len(windows) == len(boxes) == ((h - wh) // sy + 1) * ((w - ww) // sx + 1)
    assert windows.shape[1:] == (wh, ww) and boxes.dtype == np.float64
    for window, (x1, y1, x2, y2) in zip(windows, boxes.astype(int), strict=True):
        np.testing.assert_array_equal(window, image[y1:y2, x1:x2])


def square_score(windows):
    """Mean brightness of the window's centre minus that of its 2-pixel border."""
    inner = windows[:, 2:-2, 2:-2]
    border_sum = windows.sum(axis=(1, 2)) - inner.sum(axis=(1, 2))
    return inner.mean(axis=(1, 2)) - border_sum / (windows[0].size - inner[0].size)


def test_detect_multiscale_finds_a_square_at_its_scale():
    image = np.zeros((64, 64))
    image[20:44, 12:36] = 1.0  # a 24x24 square: 12x12 on the level made 2 times smaller
    found = detect_multiscale(image, square_score, (16, 16), 2, 2.0, 0.55, 0.3)
    np.testing.assert_array_equal(found.boxes, [[8, 16, 40, 48]])  # the square + 4 px around
    assert found.scores[0] > 0.9 and len(found.raw_boxes) > 1  # NMS removed the neighbours
    assert (found.raw_scores >= 0.55).all() and len(found.raw_scores) == len(found.raw_boxes)


def test_detect_multiscale_maps_every_window_back():
    image = np.zeros((50, 70))
    found = detect_multiscale(image, lambda w: np.ones(len(w)), (10, 20), 3, 1.3, 0.5, 1.0)
    expected = []
    for factor, level in pyramid(image, 1.3, (10, 20)):
        _, boxes = sliding_windows(level, (10, 20), 3)
        rows, cols = (level.shape[0] - 10) // 3 + 1, (level.shape[1] - 20) // 3 + 1
        assert len(boxes) == rows * cols
        fy, fx = 50 / level.shape[0], 70 / level.shape[1]  # within rounding of factor
        assert abs(fy / factor - 1) < 0.1 and abs(fx / factor - 1) < 0.1
        expected.append(boxes * np.array([fx, fy, fx, fy]))
    assert len(expected) == 5  # 50x70, 38x54, 30x41, 23x32, 18x25 (next: 14x19, too narrow)
    np.testing.assert_allclose(found.raw_boxes, np.concatenate(expected), rtol=1e-12)
    # Equal scores and threshold 1: NMS keeps every box, in their order.
    np.testing.assert_array_equal(found.boxes, found.raw_boxes)
    assert found.raw_boxes.min() >= 0 and found.raw_boxes[:, 2].max() <= 70 + 1e-9
    assert found.raw_boxes[:, 3].max() <= 50 + 1e-9
    assert len(detect_multiscale(image, lambda w: np.zeros(len(w)), (10, 20)).raw_boxes) == 0


# --- errors --------------------------------------------------------------------------------

ok = np.array([[0, 0, 1, 1], [0, 0, 2, 2], [1, 1, 3, 3]], dtype=float)


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (
            lambda: box_iou(np.ones((3, 3)), ok),
            ValueError,
            r"boxes_a must have shape \(N, 4\), got \(3, 3\)",
        ),
        (
            lambda: box_iou(ok, np.ones(4)),
            ValueError,
            r"boxes_b must have shape \(N, 4\), got \(4,\)",
        ),
        (lambda: box_iou([["a", "b", "c", "d"]], ok), TypeError, "boxes_a must hold real numbers"),
        (lambda: box_iou(ok, np.ones((2, 4), bool)), TypeError, "boxes_b must hold real numbers"),
        (lambda: box_iou(ok, [[0, 0, 1], [1, 2]]), TypeError, "boxes_b must be an array"),
        (
            lambda: box_iou(ok, [[0, 0, 1, 1], [2, 0, 1, 1]]),
            ValueError,
            r"boxes_b\[1\] = \[2.0, 0.0, 1.0, 1.0\]",
        ),
        (lambda: box_iou([[0, 0, 1, np.nan]], ok), ValueError, r"boxes_a\[0\].*finite"),
        (
            lambda: nms(ok, [1, 2]),
            ValueError,
            r"scores must have shape \(3,\).* boxes \(3, 4\), got \(2,\)",
        ),
        (lambda: nms(ok, [1, np.inf, 2]), ValueError, r"scores\[1\] is not finite"),
        (lambda: nms(ok, ["1", "2", "3"]), TypeError, "scores must hold real numbers"),
        (
            lambda: nms(ok, [1, 2, 3], 0),
            ValueError,
            r"iou_threshold must be in \(0.0, 1.0\], got 0",
        ),
        (lambda: nms(ok, [1, 2, 3], 1.5), ValueError, "iou_threshold must be in"),
        (lambda: nms(ok, [1, 2, 3], np.nan), ValueError, "iou_threshold must be in"),
        (lambda: nms(ok, [1, 2, 3], True), TypeError, "iou_threshold must be a number, got True"),
        (lambda: nms(ok, [1, 2, 3], "0.5"), TypeError, "iou_threshold must be a number"),
        (
            lambda: match_detections(ok, [1, 2, 3], np.ones((1, 5))),
            ValueError,
            "gt_boxes must have",
        ),
        (lambda: average_precision(ok, [1, 2, 3], [ok]), TypeError, "pred_boxes must be a list"),
        (
            lambda: average_precision([ok], [[1, 2, 3]], [ok, ok]),
            ValueError,
            r"lengths \{'pred_boxes': 1, 'pred_scores': 1, 'gt_boxes': 2\}",
        ),
        (
            lambda: average_precision([ok] * 3 + [np.ones((5, 3))], [[1, 2, 3]] * 4, [ok] * 4),
            ValueError,
            r"pred_boxes\[3\] must have shape \(N, 4\), got \(5, 3\)",
        ),
        (
            lambda: average_precision([ok, ok], [[1, 2, 3], [1, 2]], [ok, ok]),
            ValueError,
            r"pred_scores\[1\] must have shape \(3,\), one score per box of "
            r"pred_boxes\[1\] \(3, 4\), got \(2,\)",
        ),
        (
            lambda: average_precision([ok], [[1, 2, 3]], [[[0, 5, 1, 4]]]),
            ValueError,
            r"gt_boxes\[0\]\[0\]",
        ),
        (lambda: average_precision([ok], [[1, 2, 3]], [ok], -0.5), ValueError, "iou_threshold"),
        (
            lambda: average_precision_range([ok], [[1, 2, 3]], [ok], []),
            ValueError,
            "thresholds must be a non-empty",
        ),
        (
            lambda: average_precision_range([ok], [[1, 2, 3]], [ok], [0.5, 1.2]),
            ValueError,
            "thresholds must be in",
        ),
        (
            lambda: recall_at([ok], [[1, 2, 3]], [ok], "high"),
            TypeError,
            "score_threshold must be a number",
        ),
        (lambda: pyramid(np.ones((4, 4, 3))), ValueError, r"image must have shape \(H, W\)"),
        (lambda: pyramid(np.ones((4, 4)), scale=1.0), ValueError, "scale must be in"),
        (lambda: pyramid(np.ones((4, 4)), min_size=0), ValueError, "min_size must be at least 1"),
        (
            lambda: sliding_windows(np.ones((4, 4)), (5, 2)),
            ValueError,
            r"window \(5, 2\) is larger than the image \(4, 4\)",
        ),
        (
            lambda: sliding_windows(np.ones((4, 4)), 2, step=0),
            ValueError,
            "step must be at least 1",
        ),
        (lambda: sliding_windows(np.ones(4), 2), ValueError, "image must have shape"),
        (
            lambda: detect_multiscale(np.ones((8, 8)), None, 4),
            TypeError,
            "score_fn must be a function",
        ),
        (
            lambda: detect_multiscale(np.ones((8, 8)), lambda w: w.mean(axis=2), 4),
            ValueError,
            r"score_fn must return one finite score per window: shape \(4,\) for windows "
            r"\(4, 4, 4\), got \(4, 4\)",
        ),
        (
            lambda: detect_multiscale(np.ones((8, 8)), lambda w: np.full(len(w), np.nan), 4),
            ValueError,
            "score_fn must return one finite score",
        ),
        (
            lambda: detect_multiscale(np.ones((8, 8)), lambda w: np.ones(len(w)), 9),
            ValueError,
            "window",
        ),
        (
            lambda: detect_multiscale(
                np.ones((8, 8)), lambda w: np.ones(len(w)), 4, iou_threshold=2
            ),
            ValueError,
            "iou_threshold",
        ),
    ],
)
def test_bad_input_errors_name_the_argument(call, error, match):
    with pytest.raises(error, match=match):
        call()


# --- several classes -------------------------------------------------------------------------


class _Found:
    def __init__(self, boxes, scores, classes):
        self.boxes, self.scores, self.classes = boxes, scores, classes


@settings(max_examples=30, deadline=None)
@given(seed=seeds)
def test_average_precision_by_class_is_per_class_average_precision(seed):
    rng = np.random.default_rng(seed)
    pred_boxes, pred_scores, gt_boxes = random_scene(rng)
    found = [_Found(b, s, rng.integers(0, 3, len(b))) for b, s in zip(pred_boxes, pred_scores,
                                                                       strict=True)]  # fmt: skip
    gt_classes = [rng.integers(0, 3, len(g)) for g in gt_boxes]
    names = ("a", "b", "c")
    result = average_precision_by_class(found, gt_boxes, gt_classes, names, (0.5, 0.75))
    for k, name in enumerate(names):
        truth = [g[c == k] for g, c in zip(gt_boxes, gt_classes, strict=True)]
        if sum(len(t) for t in truth) == 0:
            assert name not in result  # AP undefined: the class is left out
            continue
        boxes = [f.boxes[f.classes == k] for f in found]
        scores = [f.scores[f.classes == k] for f in found]
        row = result[name]
        assert row["objects"] == sum(len(t) for t in truth)
        assert row["AP50"] == average_precision(boxes, scores, truth, 0.5)
        assert row["AP75"] == average_precision(boxes, scores, truth, 0.75)
        assert row["AP50_95"] == pytest.approx(average_precision_range(boxes, scores, truth))


def test_average_precision_by_class_errors_name_the_argument():
    ok = [_Found(np.array([[0, 0, 2, 2.0]]), np.array([0.9]), np.array([0]))]
    gt, kinds = [np.array([[0, 0, 2, 2.0]])], [np.array([0])]
    assert average_precision_by_class(ok, gt, kinds, ("x",))["x"]["AP50"] == 1.0
    with pytest.raises(TypeError, match="found must be a list"):
        average_precision_by_class(ok[0], gt, kinds, ("x",))
    with pytest.raises(ValueError, match="one entry per image"):
        average_precision_by_class(ok, gt * 2, kinds, ("x",))
    with pytest.raises(TypeError, match=r"found\[0\] must have boxes, scores and classes"):
        average_precision_by_class([(1, 2)], gt, kinds, ("x",))
    with pytest.raises(ValueError, match=r"gt_classes\[0\] must have one class per box"):
        average_precision_by_class(ok, gt, [np.array([0, 1])], ("x",))
    with pytest.raises(ValueError, match="thresholds must be in"):
        average_precision_by_class(ok, gt, kinds, ("x",), thresholds=(1.5,))


def test_interpolated_precision_is_monotone_and_averages_to_ap():
    from dlcv.detect import interpolated_precision

    rng = np.random.default_rng(3)
    boxes, scores, truth = random_scene(rng)
    while sum(len(t) for t in truth) == 0:
        boxes, scores, truth = random_scene(rng)
    values = interpolated_precision(precision_recall(boxes, scores, truth))
    assert values.shape == (101,) and np.all(np.diff(values) <= 0)
    assert values.mean() == average_precision(boxes, scores, truth)
    with pytest.raises(TypeError, match="curve must be a PrecisionRecall"):
        interpolated_precision([1.0, 0.5])
