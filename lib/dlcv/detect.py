"""Object detection with boxes: overlap (IoU), non-maximum suppression, average precision,
and a sliding-window detector over an image pyramid.

A box is ``(x1, y1, x2, y2)`` in pixels, continuous: it covers ``x1 <= x < x2`` and
``y1 <= y < y2``, so its area is ``(x2 - x1) * (y2 - y1)``. A set of boxes is an array of
shape ``(N, 4)``; ``N`` may be 0. Average precision is COCO's and agrees with pycocotools'
``COCOeval`` (``tests/test_detect.py`` checks it on random scenes, ties included).

>>> box_iou([[0, 0, 2, 2]], [[1, 0, 3, 2], [5, 5, 6, 6]])
array([[0.33333333, 0.        ]])
>>> nms([[0, 0, 2, 2], [0, 0, 2, 1.9], [5, 5, 6, 6]], [0.9, 0.8, 0.7])
array([0, 2])
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from skimage.transform import resize

from dlcv.validate import as_float_array, int_pair

__all__ = [
    "IOU_THRESHOLDS",
    "Detections",
    "PrecisionRecall",
    "average_precision",
    "average_precision_by_class",
    "average_precision_range",
    "box_iou",
    "check_boxes",
    "check_scores",
    "check_threshold",
    "detect_multiscale",
    "interpolated_precision",
    "match_detections",
    "nms",
    "precision_recall",
    "pyramid",
    "recall_at",
    "sliding_windows",
]

# COCO's IoU thresholds 0.50, 0.55, ..., 0.95 and recall points 0.00, 0.01, ..., 1.00, bit
# for bit (np.arange(0.5, 0.96, 0.05) differs from them in the last digits).
IOU_THRESHOLDS = tuple(np.linspace(0.5, 0.95, 10).tolist())
RECALL_POINTS = np.linspace(0.0, 1.0, 101)


# --- checks: each message names the argument and the shape or value it got ----------------


def _real_array(a, name: str) -> np.ndarray:
    try:
        arr = np.asarray(a)
    except (TypeError, ValueError) as err:  # ragged nested lists
        raise TypeError(f"{name} must be an array of real numbers; {err}") from None
    if arr.dtype.kind not in "iuf":  # bool, complex, strings, objects: not coordinates
        raise TypeError(f"{name} must hold real numbers, got dtype {arr.dtype} shape {arr.shape}")
    return arr.astype(np.float64)


def check_boxes(boxes, name: str) -> np.ndarray:
    """``boxes`` as float64 ``(N, 4)`` after checking them; errors name ``name``."""
    arr = _real_array(boxes, name)
    arr = arr.reshape(0, 4) if arr.shape == (0,) else arr  # [] is an image without boxes
    if arr.ndim != 2 or arr.shape[1] != 4:
        raise ValueError(f"{name} must have shape (N, 4), got {arr.shape}")
    bad = ~np.isfinite(arr).all(axis=1) | (arr[:, 2] < arr[:, 0]) | (arr[:, 3] < arr[:, 1])
    if bad.any():
        row = int(np.argmax(bad))
        raise ValueError(
            f"{name}[{row}] = {arr[row].tolist()} is not a box (x1, y1, x2, y2) with finite "
            "x1 <= x2 and y1 <= y2"
        )
    return arr


def check_scores(scores, name: str, boxes: np.ndarray, boxes_name: str) -> np.ndarray:
    """``scores`` as float64 ``(N,)``, one finite score per box of ``boxes``."""
    arr = _real_array(scores, name)
    if arr.shape != (len(boxes),):
        raise ValueError(
            f"{name} must have shape ({len(boxes)},), one score per box of {boxes_name} "
            f"{boxes.shape}, got {arr.shape}"
        )
    if not np.isfinite(arr).all():
        raise ValueError(f"{name}[{int(np.argmax(~np.isfinite(arr)))}] is not finite")
    return arr


def _check_number(value, name: str, low=-np.inf, high=np.inf, low_open=False) -> float:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a number, got {value!r}")
    if not (low < value <= high if low_open else low <= value <= high):
        bracket = "(" if low_open else "["
        raise ValueError(f"{name} must be in {bracket}{low}, {high}], got {value!r}")
    return float(value)


def check_threshold(value, name: str = "iou_threshold") -> float:
    """``value`` as a float after checking it is a number in (0, 1]."""
    return _check_number(value, name, 0.0, 1.0, low_open=True)


def _check_images(pred_boxes, pred_scores, gt_boxes) -> list:
    """The three per-image lists as one list of checked ``(boxes, scores, gt)`` triples."""
    lists = {"pred_boxes": pred_boxes, "pred_scores": pred_scores, "gt_boxes": gt_boxes}
    for name, value in lists.items():
        if not isinstance(value, (list, tuple)):
            raise TypeError(
                f"{name} must be a list of one array per image, got {type(value).__name__}"
            )
    lengths = {name: len(value) for name, value in lists.items()}
    if len(set(lengths.values())) > 1:
        raise ValueError(f"the three lists must have one entry per image, got lengths {lengths}")
    checked = []
    for i, (boxes, scores, gt) in enumerate(zip(pred_boxes, pred_scores, gt_boxes, strict=True)):
        boxes = check_boxes(boxes, f"pred_boxes[{i}]")
        scores = check_scores(scores, f"pred_scores[{i}]", boxes, f"pred_boxes[{i}]")
        checked.append((boxes, scores, check_boxes(gt, f"gt_boxes[{i}]")))
    return checked


# --- overlap and suppression ---------------------------------------------------------------


def _iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU of every box of ``a`` (N, 4) with every box of ``b`` (M, 4), unchecked."""
    a, b = a[:, None, :], b[None, :, :]
    width = np.maximum(np.minimum(a[..., 2], b[..., 2]) - np.maximum(a[..., 0], b[..., 0]), 0)
    height = np.maximum(np.minimum(a[..., 3], b[..., 3]) - np.maximum(a[..., 1], b[..., 1]), 0)
    intersection = width * height
    area_a = (a[..., 2] - a[..., 0]) * (a[..., 3] - a[..., 1])
    area_b = (b[..., 2] - b[..., 0]) * (b[..., 3] - b[..., 1])
    union = area_a + area_b - intersection
    # Two boxes of zero area have a union of 0: their IoU is defined as 0, not 0/0.
    return np.divide(intersection, union, out=np.zeros_like(union), where=union > 0)


def box_iou(boxes_a, boxes_b) -> np.ndarray:
    """Intersection over union of every box of ``boxes_a`` with every box of ``boxes_b``.

    ``IoU(A, B) = area(A ∩ B) / area(A ∪ B)`` with ``area(A ∪ B) = area(A) + area(B) -
    area(A ∩ B)``: 1 for identical boxes, 0 for boxes that do not overlap (or only touch).
    When both boxes have zero area, the union is 0 and the IoU is defined as 0.

    Parameters
    ----------
    boxes_a : array_like, shape (N, 4)
    boxes_b : array_like, shape (M, 4)
        Boxes ``(x1, y1, x2, y2)`` with ``x1 <= x2`` and ``y1 <= y2``.

    Returns
    -------
    numpy.ndarray, shape (N, M), float64
        ``iou[i, j]`` is the IoU of ``boxes_a[i]`` with ``boxes_b[j]``.
    """
    return _iou(check_boxes(boxes_a, "boxes_a"), check_boxes(boxes_b, "boxes_b"))


def nms(boxes, scores, iou_threshold=0.5) -> np.ndarray:
    """Greedy non-maximum suppression: keep the best box, drop the boxes it overlaps, repeat.

    Going down the boxes by falling score, a box is kept unless its IoU with a box already
    kept is ``> iou_threshold``. Equal scores keep their input order (earlier index first).
    ``iou_threshold=1`` keeps every box, as no IoU exceeds 1.

    Parameters
    ----------
    boxes : array_like, shape (N, 4)
    scores : array_like, shape (N,)
    iou_threshold : float in (0, 1]

    Returns
    -------
    numpy.ndarray of int64
        Indices of the kept boxes, by falling score (empty when ``N == 0``).
    """
    boxes = check_boxes(boxes, "boxes")
    threshold = check_threshold(iou_threshold)
    order = np.argsort(-check_scores(scores, "scores", boxes, "boxes"), kind="stable")
    x1, y1, x2, y2 = boxes[order].T.copy()  # best box first, one contiguous array per side
    area = (x2 - x1) * (y2 - y1)
    remaining, keep = np.arange(len(order)), []  # ranks still in the running
    while remaining.size:
        i, remaining = remaining[0], remaining[1:]
        keep.append(i)
        # box_iou's formula, one box against all the candidates left: O(N * kept) in all.
        width = np.maximum(np.minimum(x2[i], x2[remaining]) - np.maximum(x1[i], x1[remaining]), 0)
        height = np.maximum(np.minimum(y2[i], y2[remaining]) - np.maximum(y1[i], y1[remaining]), 0)
        intersection = width * height
        union = area[i] + area[remaining] - intersection
        iou = np.divide(intersection, union, out=np.zeros_like(union), where=union > 0)
        remaining = remaining[iou <= threshold]
    return order[np.array(keep, dtype=np.int64)]


# --- matching detections to ground truth, precision and recall ----------------------------


def _match(boxes, scores, gt, threshold) -> np.ndarray:
    matched = np.full(len(boxes), -1, dtype=np.int64)
    iou, taken = _iou(boxes, gt).tolist(), [False] * len(gt)  # Python lists: small loops
    for d in np.argsort(-scores, kind="stable").tolist():
        best, match = threshold, -1
        for g, value in enumerate(iou[d]):
            if value >= best and not taken[g]:  # >=: equal IoU goes to the later box
                best, match = value, g
        if match >= 0:
            matched[d], taken[match] = match, True  # a ground-truth box is found only once
    return matched


def match_detections(boxes, scores, gt_boxes, iou_threshold=0.5) -> np.ndarray:
    """Match one image's detections to its ground-truth boxes, greedily by falling score.

    Each detection, best score first (equal scores: earlier index first), takes the
    unmatched ground-truth box of highest IoU ``>= iou_threshold`` with it (equal IoU: the
    later box, as pycocotools does); without one it is a false positive. This is COCO's rule.
    Returns, for each detection in input order, the index of its ground-truth box or -1.
    """
    boxes = check_boxes(boxes, "boxes")
    scores = check_scores(scores, "scores", boxes, "boxes")
    gt_boxes, threshold = check_boxes(gt_boxes, "gt_boxes"), check_threshold(iou_threshold)
    return _match(boxes, scores, gt_boxes, threshold)


@dataclass(frozen=True, eq=False)
class PrecisionRecall:
    """All detections of a data set ranked by score, as :func:`precision_recall` gives them."""

    precision: np.ndarray  # (D,) [k]: true positives among the first k+1 detections / (k+1)
    recall: np.ndarray  # (D,) [k]: true positives among the first k+1 / n_ground_truth
    scores: np.ndarray  # (D,) score of each ranked detection, falling: the thresholds
    true_positive: np.ndarray  # (D,) bool: did this detection find a ground-truth box?
    n_ground_truth: int


def precision_recall(pred_boxes, pred_scores, gt_boxes, iou_threshold=0.5) -> PrecisionRecall:
    """Precision and recall after each detection, all images ranked together by score.

    Detections are matched per image by :func:`match_detections` (on an image without
    ground truth they are all false positives), then ranked by falling score (equal scores:
    earlier image, then earlier detection, first, as in COCO). Keeping the first ``k``
    detections gives ``precision = TP / k`` and ``recall = TP / n_ground_truth``.

    Parameters
    ----------
    pred_boxes, pred_scores, gt_boxes : lists of array_like, one entry per image
        Detected boxes ``(N_i, 4)``, their scores ``(N_i,)``, true boxes ``(G_i, 4)``.
    iou_threshold : float in (0, 1]

    Raises
    ------
    ValueError
        If there is no ground-truth box at all: recall (and AP) is then undefined.
    """
    images = _check_images(pred_boxes, pred_scores, gt_boxes)
    return _curve(images, check_threshold(iou_threshold))


def _curve(images, threshold) -> PrecisionRecall:
    n_ground_truth = sum(len(gt) for _, _, gt in images)
    if n_ground_truth == 0:
        raise ValueError("no ground-truth boxes in gt_boxes: recall and AP are undefined")
    found = [_match(boxes, scores, gt, threshold) >= 0 for boxes, scores, gt in images]
    scores = np.concatenate([np.empty(0)] + [scores for _, scores, _ in images])
    order = np.argsort(-scores, kind="stable")
    true_positive = np.concatenate([np.empty(0, dtype=bool)] + found)[order]
    tp = np.cumsum(true_positive)
    precision, recall = tp / np.arange(1, len(tp) + 1), tp / n_ground_truth
    return PrecisionRecall(precision, recall, scores[order], true_positive, n_ground_truth)


def recall_at(pred_boxes, pred_scores, gt_boxes, score_threshold, iou_threshold=0.5) -> float:
    """The fraction of ground-truth boxes found by the detections scoring ``>= score_threshold``.

    Matching goes by falling score, so these detections are matched as in
    :func:`precision_recall` (arguments as there).
    """
    threshold = _check_number(score_threshold, "score_threshold")
    curve = precision_recall(pred_boxes, pred_scores, gt_boxes, iou_threshold)
    return float(curve.true_positive[curve.scores >= threshold].sum() / curve.n_ground_truth)


def average_precision(pred_boxes, pred_scores, gt_boxes, iou_threshold=0.5) -> float:
    """Average precision of one class, COCO's 101-point definition.

    The precision is made monotone, ``p_interp(r) = max over r' >= r of p(r')`` (the best
    precision at this recall or a higher one), then averaged over the recall points
    ``r = 0, 0.01, ..., 1``; a recall never reached counts as precision 0::

        AP = 1/101 * sum over r of p_interp(r)

    Arguments as in :func:`precision_recall` (``ValueError`` without any ground truth).
    """
    return _average(precision_recall(pred_boxes, pred_scores, gt_boxes, iou_threshold))


def interpolated_precision(curve: PrecisionRecall) -> np.ndarray:
    """COCO's interpolated precision at the 101 recall points ``0, 0.01, ..., 1``: at each
    ``r``, the best precision at recall ``r`` or higher; 0 where ``r`` is never reached.
    Its mean is :func:`average_precision`; plotted against the recall points, it is the
    monotone precision-recall curve."""
    if not isinstance(curve, PrecisionRecall):
        raise TypeError(f"curve must be a PrecisionRecall (from precision_recall), got "
                        f"{type(curve).__name__}")  # fmt: skip
    precision = np.maximum.accumulate(curve.precision[::-1])[::-1]  # running max from the end
    first = np.searchsorted(curve.recall, RECALL_POINTS, side="left")  # first rank reaching r
    reached = first < len(precision)
    values = np.zeros(len(RECALL_POINTS))
    values[reached] = precision[first[reached]]
    return values


def _average(curve: PrecisionRecall) -> float:
    return float(interpolated_precision(curve).mean())


def average_precision_range(pred_boxes, pred_scores, gt_boxes, thresholds=IOU_THRESHOLDS):
    """COCO's AP@[.5:.95]: the mean of :func:`average_precision` over IoU ``thresholds``.

    By default COCO's ten thresholds 0.50, 0.55, ..., 0.95: boxes must be placed precisely.
    """
    values = np.asarray(thresholds)
    if values.ndim != 1 or values.size == 0:
        raise ValueError(f"thresholds must be a non-empty 1-D sequence, got shape {values.shape}")
    values = [check_threshold(t, "thresholds") for t in values.tolist()]
    images = _check_images(pred_boxes, pred_scores, gt_boxes)  # once for all thresholds
    return float(np.mean([_average(_curve(images, t)) for t in values]))


def average_precision_by_class(found, gt_boxes, gt_classes, classes, thresholds=(0.5, 0.75)):
    """AP of each class of a multi-class detector, at single IoU thresholds and COCO's range.

    Parameters
    ----------
    found : list, one entry per image
        Each with attributes ``boxes (K, 4)``, ``scores (K,)`` and ``classes (K,)`` (integer
        indices into ``classes``), as the course's detectors return them.
    gt_boxes, gt_classes : lists, one entry per image
        True boxes ``(G_i, 4)`` and their class indices ``(G_i,)``.
    classes : sequence of str
        The class names; index ``k`` names class ``k``.
    thresholds : sequence of float in (0, 1]
        Single IoU thresholds to report besides AP@[.5:.95].

    Returns
    -------
    dict
        ``{name: {"objects": G, "AP50": ..., "AP75": ..., "AP50_95": ...}}`` (keys ``AP`` and
        the threshold in hundredths); a class without any true box is left out (its AP is
        undefined).
    """
    for name, value in (("found", found), ("gt_boxes", gt_boxes), ("gt_classes", gt_classes)):
        if not isinstance(value, (list, tuple)):
            raise TypeError(f"{name} must be a list of one entry per image, got "
                            f"{type(value).__name__}")  # fmt: skip
    lengths = {"found": len(found), "gt_boxes": len(gt_boxes), "gt_classes": len(gt_classes)}
    if len(set(lengths.values())) > 1:
        raise ValueError(f"the three lists must have one entry per image, got lengths {lengths}")
    for i, f in enumerate(found):
        if not all(hasattr(f, a) for a in ("boxes", "scores", "classes")):
            raise TypeError(f"found[{i}] must have boxes, scores and classes, got "
                            f"{type(f).__name__}")  # fmt: skip
    labels = []
    for i, (boxes, kinds) in enumerate(zip(gt_boxes, gt_classes, strict=True)):
        boxes, kinds = check_boxes(boxes, f"gt_boxes[{i}]"), np.asarray(kinds)
        if kinds.shape != (len(boxes),):
            raise ValueError(f"gt_classes[{i}] must have one class per box of gt_boxes[{i}] "
                             f"{boxes.shape}, got shape {kinds.shape}")  # fmt: skip
        labels.append((boxes, kinds))
    singles = [check_threshold(t, "thresholds") for t in np.atleast_1d(thresholds).tolist()]
    out = {}
    for k, name in enumerate(classes):
        truth = [b[kinds == k] for b, kinds in labels]
        n = sum(len(t) for t in truth)
        if n == 0:
            continue
        keep = [np.asarray(f.classes) == k for f in found]
        boxes = [np.asarray(f.boxes)[m] for f, m in zip(found, keep, strict=True)]
        scores = [np.asarray(f.scores)[m] for f, m in zip(found, keep, strict=True)]
        images = _check_images(boxes, scores, truth)
        row = {"objects": n}
        row |= {f"AP{round(t * 100)}": _average(_curve(images, t)) for t in singles}
        row["AP50_95"] = float(np.mean([_average(_curve(images, t)) for t in IOU_THRESHOLDS]))
        out[name] = row
    return out


# --- a sliding-window detector -------------------------------------------------------------


def pyramid(image, scale=1.25, min_size=(32, 32)):
    """Yield ``(factor, level)``: the 2-D image made ``factor`` times smaller, factor growing.

    Level 0 is the image itself (factor 1); level k is resized from the original, with
    anti-aliasing, to ``round(H / scale**k) x round(W / scale**k)``. It stops before the first
    level smaller than ``min_size`` ``(h, w)``. Level coordinates times ``image.shape /
    level.shape`` (per axis; rounding makes it differ slightly from ``factor``) give
    coordinates in the image.
    """
    image = as_float_array(image, "image", (2,), "(H, W), a greyscale image")
    scale = _check_number(scale, "scale", 1.0, np.inf, low_open=True)
    min_h, min_w = int_pair(min_size, "min_size", 1)

    def levels():
        factor, level = 1.0, image
        while level.shape[0] >= min_h and level.shape[1] >= min_w:
            yield factor, level
            factor *= scale
            shape = (round(image.shape[0] / factor), round(image.shape[1] / factor))
            if shape[0] < min_h or shape[1] < min_w:
                return
            level = resize(image, shape, anti_aliasing=True)

    return levels()  # a generator made after the checks, so bad arguments fail at once


def sliding_windows(image, window, step=1):
    """Every ``window`` ``(h, w)`` of a 2-D image, ``step`` ``(sy, sx)`` pixels apart.

    There are ``((H - h) // sy + 1) * ((W - w) // sx + 1)`` windows, row by row. Returns
    ``windows`` (K, h, w) and ``boxes`` (K, 4) float64, with ``windows[k]`` equal to
    ``image[y1:y2, x1:x2]`` for ``boxes[k] = (x1, y1, x2, y2)``.
    """
    image = as_float_array(image, "image", (2,), "(H, W), a greyscale image")
    (h, w), (sy, sx) = int_pair(window, "window", 1), int_pair(step, "step", 1)
    if h > image.shape[0] or w > image.shape[1]:
        raise ValueError(f"window {(h, w)} is larger than the image {image.shape}")
    views = sliding_window_view(image, (h, w))[::sy, ::sx]  # (rows, cols, h, w), no copy yet
    rows, cols = np.arange(views.shape[0]) * sy, np.arange(views.shape[1]) * sx
    ys, xs = (a.ravel() for a in np.meshgrid(rows, cols, indexing="ij"))  # top-left corners
    boxes = np.stack([xs, ys, xs + w, ys + h], axis=1).astype(np.float64)
    return views.reshape(-1, h, w), boxes


@dataclass(frozen=True, eq=False)
class Detections:
    """What :func:`detect_multiscale` found, after and before non-maximum suppression."""

    boxes: np.ndarray  # (K, 4) after NMS, by falling score, in image pixels
    scores: np.ndarray  # (K,)
    raw_boxes: np.ndarray  # (R, 4) every window scoring >= score_threshold, before NMS
    raw_scores: np.ndarray  # (R,)


def detect_multiscale(
    image, score_fn, window, step=4, scale=1.25, score_threshold=0.5, iou_threshold=0.3
) -> Detections:
    """Run a window classifier over every level of an image pyramid, then apply NMS.

    ``score_fn`` maps a stack of windows ``(K, h, w)`` to ``(K,)`` scores. On each level of
    :func:`pyramid` (down to the window's size) the windows of :func:`sliding_windows`
    scoring ``>= score_threshold`` are kept, their boxes mapped back to the image; then
    :func:`nms` with ``iou_threshold`` removes duplicates. Small objects are found on the
    first levels, large ones on the later, smaller levels.
    """
    image = as_float_array(image, "image", (2,), "(H, W), a greyscale image")
    window = int_pair(window, "window", 1)
    if not callable(score_fn):
        raise TypeError(f"score_fn must be a function of a (K, h, w) stack, got {score_fn!r}")
    if window[0] > image.shape[0] or window[1] > image.shape[1]:
        raise ValueError(f"window {window} is larger than the image {image.shape}")
    score_threshold = _check_number(score_threshold, "score_threshold")
    check_threshold(iou_threshold)
    raw_boxes, raw_scores = [np.empty((0, 4))], [np.empty(0)]
    for _, level in pyramid(image, scale, min_size=window):
        windows, boxes = sliding_windows(level, window, step)
        scores = _real_array(score_fn(windows), "score_fn's result")
        if scores.shape != (len(windows),) or not np.isfinite(scores).all():
            raise ValueError(
                f"score_fn must return one finite score per window: shape ({len(windows)},) "
                f"for windows {windows.shape}, got {scores.shape}"
            )
        fy, fx = image.shape[0] / level.shape[0], image.shape[1] / level.shape[1]
        hit = scores >= score_threshold
        raw_boxes.append(boxes[hit] * np.array([fx, fy, fx, fy]))
        raw_scores.append(scores[hit])
    raw_boxes, raw_scores = np.concatenate(raw_boxes), np.concatenate(raw_scores)
    keep = nms(raw_boxes, raw_scores, iou_threshold)
    return Detections(raw_boxes[keep], raw_scores[keep], raw_boxes, raw_scores)
