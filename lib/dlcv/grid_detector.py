"""A one-stage grid detector: one CNN pass predicts, for every cell of a coarse grid,
whether an object's centre lies in it, where its box is, and what it is (in the spirit of
YOLO v1 :cite:p:`redmon2016you`).

The network maps images ``(N, 3, H, W)`` to a grid ``(N, 5 + n_classes, Gh, Gw)`` whose
cells are ``sy = H / Gh`` by ``sx = W / Gw`` pixels (8 by 8 for :func:`grid_detector_net`).
Per cell: channel 0 is the objectness logit, channels 1-4 the box ``(tx, ty, tw, th)``,
channels 5.. the class logits. The box of a cell in row ``i``, column ``j`` is

    centre = ((j + sigmoid(tx)) * sx, (i + sigmoid(ty)) * sy),
    size = (exp(tw) * sx, exp(th) * sy),

so :func:`encode_targets` stores ``sigmoid(tx)`` (the centre's offset in its cell, in
``[0, 1)``) and ``tw = log(width / sx)``. Boxes are ``(x1, y1, x2, y2)`` in pixels, as in
:mod:`dlcv.detect`.

>>> t = encode_targets([[[4, 4, 20, 12]]], [[0]], (2, 4), (16, 32))
>>> t.objectness[0].tolist()  # 8x8-pixel cells: the centre (12, 8) is in row 1, column 1
[[0.0, 0.0, 0.0, 0.0], [0.0, 1.0, 0.0, 0.0]]
>>> t.box[0, :, 1, 1].round(3).tolist()  # offsets in the cell, log(16 / 8), log(8 / 8)
[0.5, 0.0, 0.693, 0.0]
"""

from __future__ import annotations

import functools
import numbers
import time
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from dlcv.detect import check_boxes, check_threshold, nms
from dlcv.layers import Conv2D, MaxPool2D, ReLU, Sequential, evaluation_mode
from dlcv.optim import Adam
from dlcv.train import TrainingDivergedError, minimise
from dlcv.validate import check_int, generator, int_pair

__all__ = [
    "GridDetections",
    "GridTargets",
    "decode",
    "decode_raw",
    "detect_objects",
    "detection_loss",
    "encode_targets",
    "grid_detector_net",
    "load_road_detector",
    "target_output",
    "train_grid_detector",
]

OBJECTNESS_PRIOR = 0.01  # initial sigmoid of the objectness logit (most cells are empty)
_MAX_LOG_SIZE = 30.0  # tw, th are clipped to +-30 before exp: a wild output cannot overflow


def grid_detector_net(n_classes: int, width: int = 16, rng=0) -> Sequential:
    """The course's small grid detector: four 3x3 convolutions, three 2x2 max-pools.

    conv(3->w) ReLU pool, conv(w->2w) ReLU pool, conv(2w->2w) ReLU pool, conv(2w->2w)
    ReLU, then a 1x1 conv to ``5 + n_classes`` channels: stride 8, receptive field 38
    pixels. H and W should be multiples of 8 (each pool halves them, rounding down).
    The objectness bias starts at ``logit(0.01)``, so the first steps are not spent
    learning that most cells are empty. With ``width=16`` and 3 classes: 23,848 parameters.
    """
    n_classes, width = check_int(n_classes, "n_classes", 1), check_int(width, "width", 1)
    rng = generator(rng)
    layers = []
    for c_in, c_out in ((3, width), (width, 2 * width), (2 * width, 2 * width)):
        layers += [Conv2D(c_in, c_out, 3, padding=1, rng=rng), ReLU(), MaxPool2D(2)]
    head = Conv2D(2 * width, 5 + n_classes, 1, rng=rng)
    head.params["bias"][0] = np.log(OBJECTNESS_PRIOR / (1 - OBJECTNESS_PRIOR))
    return Sequential([*layers, Conv2D(2 * width, 2 * width, 3, padding=1, rng=rng), ReLU(), head])


@dataclass(frozen=True, eq=False)
class GridTargets:
    """The training targets of every grid cell, made by :func:`encode_targets`.

    Attributes
    ----------
    objectness : ndarray, (N, Gh, Gw), float64
        1.0 where an object's centre lies in the cell, else 0.0.
    box : ndarray, (N, 4, Gh, Gw), float64
        ``(sigmoid(tx), sigmoid(ty), tw, th)`` of each positive cell (0 elsewhere).
    classes : ndarray, (N, Gh, Gw), int64
        The class of each positive cell, -1 elsewhere.
    dropped : ndarray, (N,), int64
        Objects of each image not encoded: a smaller one sharing a cell, or a centre
        outside the image (those are also counted in ``outside``).
    outside : ndarray, (N,), int64
    image_shape : (int, int)
    """

    objectness: np.ndarray
    box: np.ndarray
    classes: np.ndarray
    dropped: np.ndarray
    outside: np.ndarray
    image_shape: tuple[int, int]

    def __len__(self) -> int:
        return len(self.objectness)

    def __getitem__(self, index) -> GridTargets:
        """The targets of the images ``index`` (an int, an index array or a slice)."""
        index = [index] if isinstance(index, numbers.Integral) else index
        take = (self.objectness, self.box, self.classes, self.dropped, self.outside)
        return GridTargets(*(a[index] for a in take), self.image_shape)


class GridDetections(NamedTuple):
    """One image's detections: ``boxes`` (K, 4), ``scores`` (K,), ``classes`` (K,) int64."""

    boxes: np.ndarray
    scores: np.ndarray
    classes: np.ndarray


def _number(value, name: str, low: float, high: float = np.inf, low_open=False) -> float:
    """``value`` as a float after checking it is a real number in [low, high] ((low, high])."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a number, got {value!r}")
    if not (low < value <= high if low_open else low <= value <= high):
        raise ValueError(
            f"{name} must be in {'(' if low_open else '['}{low}, {high}], got {value!r}"
        )
    return float(value)


def encode_targets(boxes_list, classes_list, grid_shape, image_shape, n_classes=None):
    """Assign every object to the grid cell containing its box centre.

    When several centres fall in one cell, the cell keeps the largest box (by area; the
    first of equal ones) and the others are counted in ``dropped``: a grid detector finds
    at most one object per cell. An object whose centre lies outside the image (its box
    may stick out) is dropped and counted in ``dropped`` and ``outside``.

    Parameters
    ----------
    boxes_list : list of array_like, each (K_n, 4)
        Boxes ``(x1, y1, x2, y2)`` in pixels of each image, with positive width and height.
    classes_list : list of array_like of int, each (K_n,)
    grid_shape : (int, int)
        ``(Gh, Gw)``, the network's output grid.
    image_shape : (int, int)
        ``(H, W)`` of the images.
    n_classes : int, optional
        When given, classes must be below it.

    Returns
    -------
    GridTargets
    """
    gh, gw = int_pair(grid_shape, "grid_shape", 1)
    h, w = int_pair(image_shape, "image_shape", 1)
    for name, value in (("boxes_list", boxes_list), ("classes_list", classes_list)):
        if not isinstance(value, (list, tuple)):
            raise TypeError(f"{name} must be a list of one array per image, got {type(value)}")
    if len(boxes_list) != len(classes_list) or not boxes_list:
        raise ValueError(
            "boxes_list and classes_list must have one (same) non-zero number of entries, "
            f"got {len(boxes_list)} and {len(classes_list)}"
        )
    high = np.inf if n_classes is None else check_int(n_classes, "n_classes", 1)
    n = len(boxes_list)
    sy, sx = h / gh, w / gw
    objectness, box = np.zeros((n, gh, gw)), np.zeros((n, 4, gh, gw))
    classes = np.full((n, gh, gw), -1, dtype=np.int64)
    dropped, outside = np.zeros(n, np.int64), np.zeros(n, np.int64)
    for i, (boxes, labels) in enumerate(zip(boxes_list, classes_list, strict=True)):
        boxes = check_boxes(boxes, f"boxes_list[{i}]")
        labels = np.asarray(labels)
        labels = np.zeros(0, np.int64) if labels.size == 0 else labels  # [] has dtype float
        if labels.dtype.kind not in "iu":
            raise TypeError(f"classes_list[{i}] must hold integers, got dtype {labels.dtype}")
        if labels.shape != (len(boxes),):
            raise ValueError(
                f"classes_list[{i}] must have shape ({len(boxes)},), one class per box of "
                f"boxes_list[{i}] {boxes.shape}; got shape {labels.shape}"
            )
        if len(labels) and (labels.min() < 0 or labels.max() >= high):
            raise ValueError(
                f"classes_list[{i}] must be in [0, {high}), got values {labels.tolist()}"
            )
        size = boxes[:, 2:] - boxes[:, :2]
        if len(boxes) and (size <= 0).any():
            row = int(np.argmax((size <= 0).any(axis=1)))
            raise ValueError(f"boxes_list[{i}][{row}] = {boxes[row].tolist()} has zero size")
        cx, cy = (boxes[:, 0] + boxes[:, 2]) / 2, (boxes[:, 1] + boxes[:, 3]) / 2
        inside = (cx >= 0) & (cx < w) & (cy >= 0) & (cy < h)
        outside[i] = dropped[i] = int((~inside).sum())
        best = np.zeros((gh, gw))  # area of the box each cell holds so far
        for k in np.argsort(-(size[:, 0] * size[:, 1]), kind="stable"):  # largest first
            if not inside[k]:
                continue
            col, row = min(int(cx[k] / sx), gw - 1), min(int(cy[k] / sy), gh - 1)
            if best[row, col]:
                dropped[i] += 1
                continue
            best[row, col] = size[k, 0] * size[k, 1]
            objectness[i, row, col], classes[i, row, col] = 1.0, labels[k]
            box[i, :, row, col] = (
                cx[k] / sx - col,
                cy[k] / sy - row,
                np.log(size[k, 0] / sx),
                np.log(size[k, 1] / sy),
            )
    return GridTargets(objectness, box, classes, dropped, outside, (h, w))


def target_output(targets: GridTargets, n_classes: int, logit: float = 30.0) -> np.ndarray:
    """The output ``(N, 5 + n_classes, Gh, Gw)`` of a perfect network for ``targets``.

    Objectness and the true class get ``+logit`` (``-logit`` elsewhere), the offsets their
    inverse sigmoid: :func:`decode` of it gives back the encoded boxes.
    """
    n_classes = check_int(n_classes, "n_classes", 1)
    if targets.classes.max(initial=-1) >= n_classes:
        raise ValueError(
            f"targets hold classes up to {targets.classes.max()}, n_classes={n_classes}"
        )
    n, gh, gw = targets.objectness.shape
    out = np.full((n, 5 + n_classes, gh, gw), -float(logit))
    out[:, 0] = np.where(targets.objectness > 0, logit, -logit)
    offset = np.clip(targets.box[:, :2], 1e-12, 1 - 1e-12)
    out[:, 1:3] = np.log(offset) - np.log1p(-offset)
    out[:, 3:5] = targets.box[:, 2:]
    ni, ri, ci = np.nonzero(targets.classes >= 0)
    out[ni, 5 + targets.classes[ni, ri, ci], ri, ci] = logit
    return out


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return np.exp(-np.logaddexp(0.0, -z))  # 1 / (1 + exp(-z)) without overflow


def _check_output(output, name: str = "output") -> np.ndarray:
    if not isinstance(output, np.ndarray) or output.dtype.kind != "f":
        raise TypeError(f"{name} must be a floating-point NumPy array, got {type(output)}")
    if output.ndim != 4 or output.shape[1] < 6:
        raise ValueError(
            f"{name} must have shape (N, 5 + n_classes, Gh, Gw) with n_classes >= 1, "
            f"got {output.shape}"
        )
    return output


def detection_loss(output, targets: GridTargets, weights=(1.0, 5.0, 1.0), pos_weight=1.0):
    """The detector's loss, its gradient for the output, and its three parts.

    * objectness: binary cross-entropy of every cell's logit ``z`` with its target ``y``,
      ``pos_weight * y * softplus(-z) + (1 - y) * softplus(z)``, mean over all cells
      (``softplus(z) = log(1 + e^z)``, stable for any ``z``). A ``pos_weight`` above 1
      counts positive cells more, at the price of scores biased upwards: on road frames
      (about 1.5 % of cells positive) the objectness barely moves from the prior in a few
      epochs with 1, and learns with about 10 (choose it on validation data);
    * box: over the positive cells, the squared errors of ``sigmoid(tx)``, ``sigmoid(ty)``,
      ``tw``, ``th`` summed, then averaged over the positive cells (0 when there is none);
    * class: softmax cross-entropy of the positive cells, mean over them (0 when none).

    Parameters
    ----------
    output : ndarray, (N, 5 + n_classes, Gh, Gw)
    targets : GridTargets
        For the same N images and grid.
    weights : (float, float, float)
        Of the objectness, box and class parts in the total.
    pos_weight : float

    Returns
    -------
    loss : float
        ``weights[0] * objectness + weights[1] * box + weights[2] * class``.
    doutput : ndarray, shape and dtype of ``output``
    parts : dict
        ``{"objectness", "box", "class"}``, unweighted.
    """
    output = _check_output(output)
    if not isinstance(targets, GridTargets):
        raise TypeError(f"targets must be GridTargets (encode_targets), got {type(targets)}")
    n, c, gh, gw = output.shape
    if targets.objectness.shape != (n, gh, gw):
        raise ValueError(
            f"output {output.shape} and targets (N, Gh, Gw) {targets.objectness.shape} "
            "must have the same N, Gh and Gw"
        )
    if targets.classes.max(initial=-1) >= c - 5:
        raise ValueError(f"targets hold class {targets.classes.max()}; output has {c - 5}")
    values = np.asarray(weights, dtype=float)
    if values.shape != (3,) or not (np.isfinite(values).all() and (values >= 0).all()):
        raise ValueError(f"weights must be 3 non-negative numbers, got {weights!r}")
    pos_weight = _number(pos_weight, "pos_weight", 0.0, low_open=True)
    x, y = output.astype(np.float64), targets.objectness
    grad = np.zeros_like(x)
    z, m = x[:, 0], y.size
    objectness = float(
        (pos_weight * y * np.logaddexp(0, -z) + (1 - y) * np.logaddexp(0, z)).sum() / m
    )
    grad[:, 0] = (-pos_weight * y * _sigmoid(-z) + (1 - y) * _sigmoid(z)) / m
    ni, ri, ci = np.nonzero(y > 0)
    p = max(len(ni), 1)
    cell = x[ni, :, ri, ci]  # (P, C): the outputs of the positive cells
    pred = np.concatenate([_sigmoid(cell[:, 1:3]), cell[:, 3:5]], axis=1)
    error = pred - targets.box[ni, :, ri, ci]
    box = float((error**2).sum() / p)
    dbox = 2 * error / p
    dbox[:, :2] *= pred[:, :2] * (1 - pred[:, :2])
    logits = cell[:, 5:] - cell[:, 5:].max(axis=1, keepdims=True, initial=-np.inf)
    log_probs = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
    labels = targets.classes[ni, ri, ci]
    classes = float(-log_probs[np.arange(len(ni)), labels].sum() / p)
    dclass = np.exp(log_probs)
    dclass[np.arange(len(ni)), labels] -= 1
    w_obj, w_box, w_cls = values
    grad[:, 0] *= w_obj
    grad[ni, 1:5, ri, ci] = w_box * dbox
    grad[ni, 5:, ri, ci] = w_cls * dclass / p
    loss = w_obj * objectness + w_box * box + w_cls * classes
    parts = {"objectness": objectness, "box": box, "class": classes}
    return float(loss), grad.astype(output.dtype), parts


def _image_shape(output, stride, image_shape) -> tuple[int, int]:
    grid = output.shape[2:]
    if image_shape is None:
        sy, sx = int_pair(8 if stride is None else stride, "stride", 1)
        return grid[0] * sy, grid[1] * sx
    h, w = int_pair(image_shape, "image_shape", 1)
    if stride is not None and int_pair(stride, "stride", 1) != (h / grid[0], w / grid[1]):
        raise ValueError(f"stride {stride} and image_shape {image_shape} disagree for grid {grid}")
    return h, w


def decode_raw(output, score_threshold=0.5, stride=None, image_shape=None) -> list:
    """Every cell's detection scoring ``>= score_threshold``, before non-maximum suppression.

    A cell's score is ``sigmoid(objectness) * max softmax(class logits)`` (the chance that
    an object is there times the chance of its most likely class), its class the argmax.

    Parameters
    ----------
    output : ndarray, (N, 5 + n_classes, Gh, Gw)
    score_threshold : float in [0, 1]
    stride : int or (int, int), optional
        Cell size in pixels; 8 (as in :func:`grid_detector_net`) when neither it nor
        ``image_shape`` is given.
    image_shape : (int, int), optional
        ``(H, W)``; the cell size is then ``H / Gh`` by ``W / Gw``. Boxes are clipped to it.

    Returns
    -------
    list of GridDetections, one per image, by falling score
    """
    output = _check_output(output)
    score_threshold = _number(score_threshold, "score_threshold", 0.0, 1.0)
    if not np.isfinite(output).all():
        raise ValueError(f"output {output.shape} contains NaN or infinite values")
    h, w = _image_shape(output, stride, image_shape)
    x = output.astype(np.float64)
    sy, sx = h / x.shape[2], w / x.shape[3]
    logits = x[:, 5:] - x[:, 5:].max(axis=1, keepdims=True)
    probs = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    scores, classes = _sigmoid(x[:, 0]) * probs.max(axis=1), probs.argmax(axis=1)
    result = []
    for i in range(len(x)):
        rows, cols = np.nonzero(scores[i] >= score_threshold)
        t = x[i, 1:5, rows, cols]  # (K, 4)
        cx, cy = (cols + _sigmoid(t[:, 0])) * sx, (rows + _sigmoid(t[:, 1])) * sy
        half = np.exp(np.clip(t[:, 2:], -_MAX_LOG_SIZE, _MAX_LOG_SIZE)) * [sx, sy] / 2
        boxes = np.stack([cx - half[:, 0], cy - half[:, 1], cx + half[:, 0], cy + half[:, 1]], 1)
        boxes = np.clip(boxes.reshape(-1, 4), 0, [w, h, w, h])
        order = np.argsort(-scores[i, rows, cols], kind="stable")
        result.append(
            GridDetections(
                boxes[order],
                scores[i, rows, cols][order],
                classes[i, rows, cols][order].astype(np.int64),
            )
        )
    return result


def decode(
    output,
    score_threshold=0.5,
    iou_threshold=0.5,
    stride=None,
    image_shape=None,
    class_agnostic_nms=False,
) -> list:
    """Detections of each image: :func:`decode_raw`, then non-maximum suppression.

    :func:`dlcv.detect.nms` with ``iou_threshold`` runs separately for each class (a car
    does not suppress the pedestrian in front of it), or over all boxes together when
    ``class_agnostic_nms``. Other arguments as in :func:`decode_raw`; returns a list of
    :class:`GridDetections`, one per image, by falling score.
    """
    iou_threshold = check_threshold(iou_threshold, "iou_threshold")
    result = []
    for det in decode_raw(output, score_threshold, stride, image_shape):
        groups = (
            [det.classes >= 0]
            if class_agnostic_nms
            else [det.classes == c for c in np.unique(det.classes)]
        )
        keep = [np.nonzero(g)[0][nms(det.boxes[g], det.scores[g], iou_threshold)] for g in groups]
        keep = np.sort(np.concatenate([np.empty(0, np.int64), *keep]))  # falling score
        result.append(GridDetections(det.boxes[keep], det.scores[keep], det.classes[keep]))
    return result


def _check_images(model, images, boxes_list, classes_list, name: str):
    """``images`` in the model's dtype and their targets on the model's grid."""
    if not isinstance(images, np.ndarray) or images.ndim != 4 or images.dtype.kind not in "fiu":
        got = getattr(images, "shape", type(images).__name__)
        raise TypeError(f"{name}: images must be a numeric NumPy array (N, 3, H, W), got {got}")
    images = images.astype(model.dtype, copy=False)
    if not np.isfinite(images).all():
        raise ValueError(f"{name}: images contains NaN or infinite values")
    try:
        with evaluation_mode(model):
            out = _check_output(model.forward(images[:1]), "the model's output")
    except ValueError as err:
        raise ValueError(f"{name}: images {images.shape} do not fit the model: {err}") from err
    targets = encode_targets(
        boxes_list, classes_list, out.shape[2:], images.shape[2:], n_classes=out.shape[1] - 5
    )
    if len(images) != len(targets):
        raise ValueError(f"{name}: images has {len(images)} entries, boxes_list {len(targets)}")
    return images, targets


def _evaluate(model, images, targets, batch_size, weights, pos_weight) -> dict:
    totals = dict.fromkeys(("loss", "objectness", "box", "class"), 0.0)
    with evaluation_mode(model):
        for first in range(0, len(images), batch_size):
            part = slice(first, first + batch_size)
            out = model.forward(images[part])
            loss, _, parts = detection_loss(out, targets[part], weights, pos_weight)
            for key, value in {"loss": loss, **parts}.items():
                totals[key] += value * len(out) / len(images)
    return totals


def train_grid_detector(
    model,
    images,
    boxes_list,
    classes_list,
    *,
    epochs,
    batch_size=32,
    optimizer=None,
    seed=0,
    validation=None,
    progress=False,
    weights=(1.0, 5.0, 1.0),
    pos_weight=1.0,
    threads=1,
) -> list:
    """Train a grid detector in shuffled mini-batches on :func:`detection_loss`.

    Each step: ``out = model.forward(x)``; ``loss, dout, parts = detection_loss(out, t)``;
    ``model.backward(dout, input_grad=False)``; ``optimizer.step(model)``.

    Parameters
    ----------
    model : Sequential
        Outputs ``(N, 5 + n_classes, Gh, Gw)``, e.g. :func:`grid_detector_net`.
    images : ndarray, (N, 3, H, W)
    boxes_list, classes_list : lists, one entry per image
        As in :func:`encode_targets`.
    epochs, batch_size : int
    optimizer : optional
        ``dlcv.optim.Adam(1e-3)`` by default.
    seed : int
        Seeds the shuffling.
    validation : (images, boxes_list, classes_list), optional
        Its loss is measured after every epoch, in evaluation mode.
    progress : bool
        A ``tqdm`` bar over the images of each epoch.
    weights, pos_weight
        As in :func:`detection_loss`.
    threads : int or None
        BLAS threads (one is fastest for a network this small; None: BLAS's setting).

    Returns
    -------
    list of dict
        Per epoch: ``epoch``, ``loss``, ``objectness``, ``box``, ``class`` (means over the
        epoch's batches, weighted by batch size), ``seconds``, and with ``validation``
        the same four figures prefixed ``val_``. The model is left in evaluation mode.

    Raises
    ------
    dlcv.train.TrainingDivergedError
        When a batch's loss is not finite.
    """
    epochs, batch_size = check_int(epochs, "epochs", 1), check_int(batch_size, "batch_size", 1)
    optimizer = Adam(1e-3) if optimizer is None else optimizer
    if not hasattr(optimizer, "step"):
        raise TypeError(f"optimizer must have a step(model) method, got {type(optimizer)}")
    images, targets = _check_images(model, images, boxes_list, classes_list, "training data")
    if validation is not None:
        if not (isinstance(validation, tuple) and len(validation) == 3):
            raise TypeError("validation must be a tuple (images, boxes_list, classes_list)")
        validation = _check_images(model, *validation, "validation data")
    history, totals, start = [], {}, [time.perf_counter()]

    def loss(out, batch_targets):
        if not np.isfinite(out).all():  # NaN weights: the output's NaN is the news
            return np.nan, out
        value, dout, parts = detection_loss(out, batch_targets, weights, pos_weight)
        for key, part in {"loss": value, **parts}.items():
            totals[key] = totals.get(key, 0.0) + part * len(out) / len(images)
        return value, dout

    def record(epoch, _):
        row = {"epoch": epoch, **totals}
        if validation is not None:
            val = _evaluate(model, *validation, batch_size, weights, pos_weight)
            row.update({f"val_{key}": value for key, value in val.items()})
        history.append({**row, "seconds": time.perf_counter() - start[0]})
        totals.clear()
        start[0] = time.perf_counter()

    try:
        minimise(model, images, targets, loss, epochs=epochs, batch_size=batch_size,
                 optimizer=optimizer, seed=seed, progress=progress, threads=threads,
                 on_epoch=record)  # fmt: skip
    except TrainingDivergedError as error:
        error.history = history
        raise
    return history


def detect_objects(model: Sequential, images, score_threshold=0.5, iou_threshold=0.5,
                   class_agnostic_nms=False, batch_size=4) -> list:  # fmt: skip
    """Run a grid detector on ``images`` (N, 3, H, W) in batches and :func:`decode` them.

    Returns one :class:`GridDetections` per image, boxes in image pixels. The model is put
    in evaluation mode for the run and left as it was. Small batches are fastest on a CPU
    (the im2col buffers of large ones spill out of the cache): measured on 96 x 128 frames
    with one thread, 3.3 ms per frame in batches of 4, 3.5 ms one by one, 6.4 ms in batches
    of 128 (``benchmarks/bench_road_detectors.py``).
    """
    arr = np.asarray(images)
    if arr.ndim != 4 or arr.shape[1] != 3 or arr.dtype.kind != "f" or len(arr) == 0:
        raise ValueError(f"images must be float RGB images of shape (N, 3, H, W), N >= 1, got "
                         f"{arr.dtype} {arr.shape}")  # fmt: skip
    check_int(batch_size, "batch_size", 1)
    with evaluation_mode(model):
        output = np.concatenate(
            [model.forward(arr[i : i + batch_size]) for i in range(0, len(arr), batch_size)]
        )
    return decode(output, score_threshold, iou_threshold, image_shape=arr.shape[2:],
                  class_agnostic_nms=class_agnostic_nms)  # fmt: skip


@functools.cache
def _load_road_detector() -> Sequential:
    from importlib.resources import files

    from dlcv.models import load

    return load(files("dlcv") / "assets" / "road_detector.npz")


def load_road_detector() -> Sequential:
    """The grid detector trained by ``scripts/road_detector.py`` on generated road frames
    (classes :data:`dlcv.scenes.CLASSES`; cached, evaluation mode; ``.metadata`` records how
    it was made)."""
    return _load_road_detector().eval()
