"""HOG + linear SVM sliding-window detection (Dalal & Triggs 2005): chapter 11's classical
baseline, one detector per class of :data:`dlcv.scenes.CLASSES`.

The recipe, step by step:

1. **Examples.** Each object's box, resized to the class's window (shape from the aspect of
   its boxes, :data:`WINDOWS`), is a positive; random boxes of the same sizes that overlap
   no object of the class (IoU < 0.3) are negatives (:func:`positives_and_negatives`).
2. **Features.** Histograms of oriented gradients (``skimage.feature.hog``, L2-Hys blocks),
   on colour: at each pixel the channel with the strongest gradient votes, as Dalal & Triggs
   did. A window's descriptor holds the blocks *inside* it, but its gradients are taken
   with one cell of the image around it, so the window's own border is not blank: patches
   carry one cell of context on each side (``HogDetector.patch_shape``).
3. **Training.** A linear SVM (``LinearSVC``), then one round of hard-negative mining: the
   first SVM scans the training frames, its best-scoring windows that are not objects are
   added to the negatives and the SVM is trained again (:meth:`HogDetector.fit`).
4. **Detection.** HOG is computed once per level of an image pyramid, on the whole level;
   every window is a slice of that block grid (no HOG per window), its score ``w . x + b``,
   then non-maximum suppression (:meth:`HogDetector.detect`). The objects of the scenes are
   small (cars 4-23 px tall), so the pyramid starts upsampled: the window covers
   ``min_height`` pixels of the frame on the first level.

Measured by ``scripts/hog_detector.py`` (the files ``hog_detector.npz`` and
``road_detector_comparison.csv``): trained on 3,000 training frames, hard negatives mined on
the first 200, C chosen among 0.01, 0.1 and 1 on 100 validation frames (mean AP@0.5 0.630,
0.637, 0.628: a choice within noise), read once on 300 test frames: AP@0.5 0.72 for cars,
0.76 for pedestrians, 0.51 for traffic lights; a 96 x 128 frame takes about 0.6 s (15
pyramid levels, the first 4x upsampled; most of it is ``hog``'s block normalisation, a
Python loop over blocks). Colour HOG and 200 hard negatives per frame were chosen in trials
on validation frames.
"""

from __future__ import annotations

import functools
import itertools
import json
import numbers
from typing import NamedTuple

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from scipy import ndimage
from skimage.color import rgb2gray
from skimage.feature import hog
from skimage.transform import resize
from sklearn.svm import LinearSVC

from dlcv.detect import Detections, box_iou, check_threshold, nms
from dlcv.scenes import CLASSES
from dlcv.validate import as_float_array, check_int, generator, int_pair

__all__ = [
    "MIN_HEIGHTS",
    "WINDOWS",
    "ClassDetections",
    "HogDetector",
    "HogSvmDetector",
    "load_hog_detector",
    "positives_and_negatives",
]

WINDOWS = {"car": (16, 20), "pedestrian": (24, 8), "traffic light": (20, 8)}
"""Window (rows, columns) per class, multiples of 4-pixel cells, from the aspect (height /
width) of the scenes' boxes: cars 0.83, pedestrians 3.0, traffic lights 2.5."""
MIN_HEIGHTS = {"car": 4.0, "pedestrian": 6.0, "traffic light": 6.0}
"""The smallest object each class's detector looks for (pixels tall): the scenes' smallest
boxes (cars 4.0, pedestrians 6.5, traffic lights 6.0 px in 300 training frames)."""
NEGATIVE_IOU = 0.3  # a window overlapping no object of the class more than this is a negative


_PARAMS = ("window", "orientations", "pixels_per_cell", "cells_per_block", "C", "colour",
           "min_height")  # fmt: skip


def _positive(value, name: str) -> float:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.number)):
        raise TypeError(f"{name} must be a number, got {value!r}")
    if not (np.isfinite(value) and value > 0):
        raise ValueError(f"{name} must be a finite number > 0, got {value!r}")
    return float(value)


def _kind(kind) -> int:
    if isinstance(kind, str) and kind in CLASSES:
        return CLASSES.index(kind)
    if isinstance(kind, (int, np.integer)) and not isinstance(kind, bool) and 0 <= kind < 3:
        return int(kind)
    raise ValueError(f"kind must be one of {CLASSES} or its index 0-2, got {kind!r}")


def _image(image, colour: bool, name: str = "image") -> np.ndarray:
    """``image`` (H, W, 3) or (H, W) as float64 (H, W, C): C = 3 for a colour detector given
    colour, else 1 (colour HOG of a grey image is its grey HOG)."""
    arr = as_float_array(image, name, (2, 3), "(H, W, 3) or (H, W)", np.float64)
    if arr.ndim == 3 and arr.shape[2] not in (1, 3):  # (H, W, 1): a level of a grey image
        raise ValueError(f"{name} must have shape (H, W, 3) or (H, W), got {arr.shape}")
    if not np.isfinite(arr).all():
        raise ValueError(f"{name} must hold finite values")
    if arr.ndim == 3 and arr.shape[2] == 3 and not colour:
        arr = rgb2gray(arr)
    return arr[..., None] if arr.ndim == 2 else arr


def _frames(frames) -> list:
    if not isinstance(frames, (list, tuple)) or not frames:
        raise TypeError(f"frames must be a non-empty list of scenes.Frame, got {type(frames)}")
    for i, f in enumerate(frames):
        if not all(hasattr(f, a) for a in ("image", "boxes", "classes")):
            raise TypeError(f"frames[{i}] must have image, boxes and classes, got {type(f)}")
    return list(frames)


def _crop(image, box, inner, context) -> np.ndarray:
    """The ``box`` of ``image`` (H, W, C) resampled to ``inner`` (rows, cols) plus
    ``context`` pixels on each side: smoothed first when shrinking (as ``resize`` does),
    bilinear, edges repeated beyond the image."""
    (rows, cols), (cr, cc), (x1, y1, x2, y2) = inner, context, box
    sy, sx = (y2 - y1) / rows, (x2 - x1) / cols
    smooth = ndimage.gaussian_filter(image, (max(0, (sy - 1) / 2), max(0, (sx - 1) / 2), 0))
    yy = y1 + (np.arange(-cr, rows + cr) + 0.5) * sy - 0.5  # pixel centres, in array indices
    xx = x1 + (np.arange(-cc, cols + cc) + 0.5) * sx - 0.5
    grid = np.meshgrid(yy, xx, indexing="ij")
    return np.stack(
        [ndimage.map_coordinates(smooth[..., c], grid, order=1, mode="nearest")
         for c in range(image.shape[2])], axis=-1)  # fmt: skip


def _to_aspect(box, aspect) -> np.ndarray:
    """``box`` grown about its centre to height / width = ``aspect``."""
    x1, y1, x2, y2 = box
    w, h = max(x2 - x1, (y2 - y1) / aspect), max(y2 - y1, (x2 - x1) * aspect)
    cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
    return np.array([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2])


def positives_and_negatives(frames, kind, window, n_negative_per_frame=10, rng=None, context=4):
    """Training patches for class ``kind``: every object of it, and random non-objects.

    Positives are the class's boxes grown to the window's aspect and resized to ``window``
    (rows, cols); negatives are boxes of the same shape, their heights drawn from the
    positives', anywhere in the same frames where they overlap no object of the class (IoU
    < 0.3). Each patch has ``context`` (int or (rows, cols)) pixels more on every side: pass
    the detector's ``pixels_per_cell``. Colour patches; returns ``(positives (P, rows + 2 *
    cr, cols + 2 * cc, 3), negatives (N, ...))``.
    """
    frames, kind = _frames(frames), _kind(kind)
    (rows, cols), context = int_pair(window, "window", 1), int_pair(context, "context", 0)
    check_int(n_negative_per_frame, "n_negative_per_frame", 0)
    rng = generator(rng)
    heights = [
        b[3] - b[1] for f in frames for b, k in zip(f.boxes, f.classes, strict=True) if k == kind
    ]
    if not heights:
        raise ValueError(f"frames hold no {CLASSES[kind]} to learn from")
    positives, negatives = [], []
    for i, f in enumerate(frames):
        image = _image(f.image, True, f"frames[{i}].image")
        mine = np.asarray(f.boxes, float)[np.asarray(f.classes) == kind]
        positives += [_crop(image, _to_aspect(b, rows / cols), (rows, cols), context) for b in mine]
        height, width = image.shape[:2]
        for _ in range(n_negative_per_frame):
            for _ in range(20):  # tries
                h = float(rng.choice(heights))
                w = h * cols / rows
                if h > height or w > width:
                    continue
                x1, y1 = rng.uniform(0, width - w), rng.uniform(0, height - h)
                box = np.array([x1, y1, x1 + w, y1 + h])
                if len(mine) == 0 or box_iou(box[None], mine).max() < NEGATIVE_IOU:
                    negatives.append(_crop(image, box, (rows, cols), context))
                    break
    shape = (0, rows + 2 * context[0], cols + 2 * context[1], 3)
    return tuple(np.stack(p) if p else np.zeros(shape) for p in (positives, negatives))


class HogDetector:
    """A HOG + linear SVM sliding-window detector for one class.

    Parameters
    ----------
    window : (rows, cols)
        The window, a whole number of cells, at least one block.
    orientations, pixels_per_cell, cells_per_block
        As in ``skimage.feature.hog`` (blocks L2-Hys normalised).
    C : float
        The SVM's regularisation (Dalal & Triggs used 0.01; ``scripts/hog_detector.py``
        chooses among 0.01, 0.1 and 1 on validation frames).
    colour : bool
        Colour HOG (per pixel, the channel of strongest gradient) or grey.
    min_height : float
        The smallest object (pixels tall) that :meth:`detect` looks for by default.
    """

    def __init__(self, window, orientations=9, pixels_per_cell=(4, 4), cells_per_block=(2, 2),
                 C=0.1, colour=True, min_height=4.0):  # fmt: skip
        self.window = int_pair(window, "window", 1)
        self.orientations = check_int(orientations, "orientations", 1)
        self.pixels_per_cell = int_pair(pixels_per_cell, "pixels_per_cell", 1)
        self.cells_per_block = int_pair(cells_per_block, "cells_per_block", 1)
        self.C = _positive(C, "C")
        if not isinstance(colour, (bool, np.bool_)):
            raise TypeError(f"colour must be True or False, got {colour!r}")
        self.colour = bool(colour)
        self.min_height = _positive(min_height, "min_height")
        cells = [w // c for w, c in zip(self.window, self.pixels_per_cell, strict=True)]
        if any(w % c for w, c in zip(self.window, self.pixels_per_cell, strict=True)) or any(
            n < b for n, b in zip(cells, self.cells_per_block, strict=True)
        ):
            raise ValueError(
                f"window {self.window} must be a whole number of cells {self.pixels_per_cell}, "
                f"at least one block of {self.cells_per_block} cells"
            )
        self.blocks = tuple(n - b + 1 for n, b in zip(cells, self.cells_per_block, strict=True))
        self.coef_, self.intercept_ = None, None

    @property
    def patch_shape(self) -> tuple[int, int]:
        """A training patch: the window and one cell of context on each side."""
        return tuple(w + 2 * c for w, c in zip(self.window, self.pixels_per_cell, strict=True))

    def _hog(self, image) -> np.ndarray:
        return hog(image, self.orientations, self.pixels_per_cell, self.cells_per_block,
                   block_norm="L2-Hys", feature_vector=False, channel_axis=-1)  # fmt: skip

    def features(self, patches) -> np.ndarray:
        """HOG descriptors ``(N, D)`` of ``patches`` (N, *patch_shape[, 3]), each computed
        directly by ``skimage.feature.hog``: the blocks inside the context border."""
        arr = as_float_array(patches, "patches", (3, 4), "(N, rows, cols[, 3])", np.float64)
        if arr.shape[1:3] != self.patch_shape:
            raise ValueError(f"patches must be {self.patch_shape} (window and one cell of "
                             f"context each side), got shape {arr.shape}")  # fmt: skip
        images = [_image(p, self.colour, "patches[i]") for p in arr]
        return np.stack([self._hog(p)[1:-1, 1:-1].ravel() for p in images])

    def block_grid(self, level) -> np.ndarray:
        """``skimage.feature.hog`` of a whole level (H, W[, 3]), its edges repeated one cell
        beyond it: blocks ``(H // cr + 2 - br + 1, W // cc + 2 - bc + 1, br, bc, orientations)``."""
        level, (cr, cc) = _image(level, self.colour, "level"), self.pixels_per_cell
        return self._hog(np.pad(level, ((cr, cr), (cc, cc), (0, 0)), mode="edge"))

    def level_features(self, level, step=1, grid=None):
        """Every window of a pyramid level, vectorised: each window a slice of the level's
        :meth:`block_grid` (pass ``grid`` if already computed), no HOG per window.

        Returns ``features (K, D)`` (row k equals :meth:`features` of the patch around
        window k of the edge-padded level) and ``boxes (K, 4)`` in level pixels; windows
        ``step`` cells apart, row by row.
        """
        shape, step = np.shape(level)[:2], check_int(step, "step", 1)
        (cr, cc), (rows, cols) = self.pixels_per_cell, self.window
        if shape[0] < rows or shape[1] < cols:
            return np.empty((0, self.n_features)), np.empty((0, 4))
        grid = self.block_grid(level) if grid is None else grid
        n_i, n_j = shape[0] // cr - rows // cr + 1, shape[1] // cc - cols // cc + 1
        view = sliding_window_view(grid[1:, 1:], self.blocks, axis=(0, 1))[:n_i:step, :n_j:step]
        features = view.transpose(0, 1, 5, 6, 2, 3, 4).reshape(-1, self.n_features)
        ys, xs = np.meshgrid(np.arange(0, n_i, step) * cr, np.arange(0, n_j, step) * cc,
                             indexing="ij")  # fmt: skip
        ys, xs = ys.ravel(), xs.ravel()
        return features, np.stack([xs, ys, xs + cols, ys + rows], axis=1).astype(np.float64)

    @property
    def n_features(self) -> int:
        b = self.cells_per_block
        return self.blocks[0] * self.blocks[1] * b[0] * b[1] * self.orientations

    def fit(self, positives, negatives, frames=None, kind=None, hard_per_frame=200, **scan):
        """Train the SVM on patches, then (given training ``frames`` and the ``kind`` of
        object) one round of hard-negative mining: scan the frames with the first SVM
        (``scan``: :meth:`detect`'s ``min_height``, ``scale``, ``step``), add each frame's
        ``hard_per_frame`` best windows that overlap no object of the class (IoU < 0.3)
        and score above -1 (inside the margin) to the negatives, train again."""
        if frames is not None:
            if kind is None:
                raise TypeError("fit needs kind (the class of the positives) to mine frames")
            frames, kind = _frames(frames), _kind(kind)
        for name, patches in (("positives", positives), ("negatives", negatives)):
            if np.ndim(patches) not in (3, 4) or len(patches) == 0:
                raise ValueError(
                    f"{name} must be a non-empty stack of patches (N, *{self.patch_shape}[, 3]), "
                    f"got shape {np.shape(patches)}"
                )
        pos, neg = self.features(positives), self.features(negatives)
        self._train(pos, neg)
        if frames is not None:
            (hard,) = _mine([self], [kind], frames, hard_per_frame, **scan)
            self._train(pos, np.concatenate([neg, hard]))
        return self

    def _train(self, pos, neg):
        x, y = np.concatenate([pos, neg]), np.r_[np.ones(len(pos)), np.zeros(len(neg))]
        svm = LinearSVC(C=self.C, max_iter=20000).fit(x, y)
        self.coef_, self.intercept_ = svm.coef_[0].copy(), float(svm.intercept_[0])

    def _require_fitted(self):
        if self.coef_ is None:
            raise RuntimeError("this HogDetector is not fitted yet: call fit(...) first")

    def decision_function(self, features) -> np.ndarray:
        """SVM scores ``w . x + b`` of ``features`` (N, D): > 0 object, < 0 background."""
        self._require_fitted()
        x = np.asarray(features)
        if x.ndim != 2 or x.shape[1] != self.n_features or x.dtype.kind not in "iuf":
            raise ValueError(
                f"features must be real numbers of shape (N, {self.n_features}), got {x.dtype} "
                f"{x.shape}"
            )
        return x @ self.coef_ + self.intercept_

    def detect(self, image, score_threshold=-1.0, min_height=None, scale=1.25, step=1,
               iou_threshold=0.5) -> Detections:  # fmt: skip
        """Every window of an image pyramid scored, then NMS (``iou_threshold``).

        The first level is upsampled so that the window covers ``min_height`` (None: the
        detector's own) pixels of ``image`` (H, W, 3) or (H, W); each next one is ``scale``
        times smaller, down to the window's size. Windows are ``step`` cells apart; those
        scoring below ``score_threshold`` (None: keep all) are dropped before NMS. Boxes
        are in ``image`` pixels.
        """
        one = HogSvmDetector({0: self})  # 0: any class label, unused here
        raw = one.detect(image, score_threshold, min_height, scale, step, iou_threshold, raw=True)
        keep = nms(raw.boxes, raw.scores, check_threshold(iou_threshold))
        return Detections(raw.boxes[keep], raw.scores[keep], raw.boxes, raw.scores)

    def params(self) -> dict:
        """The constructor's arguments, as saved by :meth:`HogSvmDetector.save`."""
        return {name: getattr(self, name) for name in _PARAMS}


def _levels(image, first, scale, window):
    """Yield ``(u, level)``: ``image`` (H, W, C) resized to ``u = first / scale**k`` times its
    size, k = 0, 1, ..., while ``window`` fits. Like :func:`dlcv.detect.pyramid`, but in
    colour, starting upsampled, and every level resized from the frame itself (smoothed
    only when shrinking), which is cheaper than shrinking an upsampled copy."""
    height, width = image.shape[:2]
    for k in itertools.count():
        u = first / scale**k
        shape = (round(height * u), round(width * u))
        if shape[0] < window[0] or shape[1] < window[1]:
            return
        yield u, resize(image, (*shape, image.shape[2]), order=1, anti_aliasing=u < 1)


def _scan(image, detectors, min_height=None, scale=1.25, step=1):
    """Yield ``(k, features, boxes in image pixels)`` for detector ``k`` on each level of one
    shared pyramid; detectors with the same HOG settings share its block grids."""
    smallest = [d.min_height if min_height is None else min_height for d in detectors]
    smallest = [_positive(m, "min_height") for m in smallest]
    if _positive(scale, "scale") <= 1:
        raise ValueError(f"scale must be > 1, got {scale!r}")
    first = max(d.window[0] / m for d, m in zip(detectors, smallest, strict=True))
    image = _image(image, any(d.colour for d in detectors))
    height, width = image.shape[:2]
    window = (min(d.window[0] for d in detectors), min(d.window[1] for d in detectors))
    for upsample, level in _levels(image, first, scale, window):
        to_image = np.array([width, height, width, height]) / (level.shape[1::-1] * 2)
        grids = {}
        for k, (d, m) in enumerate(zip(detectors, smallest, strict=True)):
            if d.window[0] / upsample < m * (1 - 1e-9):  # finer than this class needs
                continue
            key = (d.orientations, d.pixels_per_cell, d.cells_per_block, d.colour)
            if key not in grids and all(
                n >= w for n, w in zip(level.shape[:2], d.window, strict=True)
            ):
                grids[key] = d.block_grid(level)
            features, boxes = d.level_features(level, step, grids.get(key))
            yield k, features, boxes * to_image


def _mine(detectors, kinds, frames, hard_per_frame, **scan) -> list:
    """Each detector's hard negatives: per frame, its best windows scoring > -1 that overlap
    no object of its class by IoU >= 0.3."""
    check_int(hard_per_frame, "hard_per_frame", 1)
    hard = [[np.empty((0, d.n_features))] for d in detectors]
    for f in frames:
        found = [([], []) for _ in detectors]
        for k, features, boxes in _scan(f.image, detectors, **scan):
            scores = detectors[k].decision_function(features)
            gt = np.asarray(f.boxes, float)[np.asarray(f.classes) == kinds[k]]
            free = box_iou(boxes, gt).max(axis=1, initial=0) < NEGATIVE_IOU
            hit = free & (scores > -1)
            found[k][0].append(scores[hit])
            found[k][1].append(features[hit])
        for k, (scores, features) in enumerate(found):
            if scores:
                best = np.argsort(-np.concatenate(scores), kind="stable")[:hard_per_frame]
                hard[k].append(np.concatenate(features)[best])
    return [np.concatenate(h) for h in hard]


class ClassDetections(NamedTuple):
    """What :meth:`HogSvmDetector.detect` found in one image, all classes together."""

    boxes: np.ndarray  # (K, 4) after NMS per class, by falling score
    scores: np.ndarray  # (K,) SVM scores (each class's own scale)
    classes: np.ndarray  # (K,) int64 indices into CLASSES


class HogSvmDetector:
    """One :class:`HogDetector` per class, run over one shared pyramid.

    ``detectors`` maps a class (a name or index of :data:`CLASSES`) to its detector; by
    default one untrained detector per class with the window of :data:`WINDOWS`, the
    ``min_height`` of :data:`MIN_HEIGHTS` and ``hog_params`` (HogDetector's keywords).
    """

    def __init__(self, detectors=None, **hog_params):
        if detectors is None:
            detectors = {
                c: HogDetector(WINDOWS[c], min_height=MIN_HEIGHTS[c], **hog_params) for c in CLASSES
            }
        if (
            not isinstance(detectors, dict)
            or not detectors
            or not all(isinstance(d, HogDetector) for d in detectors.values())
        ):
            raise TypeError(f"detectors must be a dict class -> HogDetector, got {detectors!r}")
        self.detectors = {_kind(k): d for k, d in detectors.items()}
        self.metadata = {}

    def fit(self, frames, n_negative_per_frame=10, mining_frames=None, hard_per_frame=200,
            rng=0, **scan):  # fmt: skip
        """Train every class on ``frames`` (see :func:`positives_and_negatives` and
        :meth:`HogDetector.fit`), mining hard negatives on ``mining_frames`` (default:
        ``frames``) with the first SVMs, all classes over one pyramid per frame."""
        frames, rng = _frames(frames), generator(rng)
        kinds, dets, pos, neg = list(self.detectors), list(self.detectors.values()), [], []
        for k, d in self.detectors.items():
            p, n = positives_and_negatives(frames, k, d.window, n_negative_per_frame, rng,
                                           d.pixels_per_cell)  # fmt: skip
            pos.append(d.features(p))
            neg.append(d.features(n))
            d._train(pos[-1], neg[-1])
        mining = frames if mining_frames is None else _frames(mining_frames)
        for d, p, n, h in zip(dets, pos, neg, _mine(dets, kinds, mining, hard_per_frame, **scan),
                              strict=True):  # fmt: skip
            d._train(p, np.concatenate([n, h]))
        return self

    def detect(self, image, score_threshold=-1.0, min_height=None, scale=1.25, step=1,
               iou_threshold=0.5, raw=False) -> ClassDetections:  # fmt: skip
        """Every class's detections in ``image``, NMS within each class (arguments as in
        :meth:`HogDetector.detect`; ``raw=True``: before NMS)."""
        threshold = -np.inf if score_threshold is None else score_threshold
        if isinstance(threshold, (bool, np.bool_)) or not isinstance(threshold, numbers.Real):
            raise TypeError(f"score_threshold must be a number or None, got {threshold!r}")
        iou_threshold = check_threshold(iou_threshold)
        kinds, dets = list(self.detectors), list(self.detectors.values())
        for d in dets:
            d._require_fitted()
        out = [([np.empty((0, 4))], [np.empty(0)]) for _ in dets]
        for k, features, boxes in _scan(image, dets, min_height, scale, step):
            scores = dets[k].decision_function(features)
            out[k][0].append(boxes[scores >= threshold])
            out[k][1].append(scores[scores >= threshold])
        boxes, scores, classes = [], [], []
        for kind, (b, s) in zip(kinds, out, strict=True):
            b, s = np.concatenate(b), np.concatenate(s)
            keep = np.arange(len(s)) if raw else nms(b, s, iou_threshold)
            boxes.append(b[keep])
            scores.append(s[keep])
            classes.append(np.full(len(keep), kind, dtype=np.int64))
        return ClassDetections(np.concatenate(boxes), np.concatenate(scores),
                               np.concatenate(classes))  # fmt: skip

    def save(self, path, metadata: dict | None = None):
        """Write every class's SVM and HOG settings to an .npz (no pickle), with ``metadata``
        (a JSON-able dict: how it was made, how well it does) that :meth:`load` restores."""
        arrays = {"metadata": np.array(json.dumps(metadata or {}))}
        for k, d in self.detectors.items():
            d._require_fitted()
            p = d.params()
            arrays |= {f"{k}_coef": d.coef_, f"{k}_intercept": np.float64(d.intercept_),
                       **{f"{k}_{name}": np.asarray(v) for name, v in p.items()}}  # fmt: skip
        np.savez(path, kinds=np.array(list(self.detectors)), **arrays)

    @classmethod
    def load(cls, path) -> HogSvmDetector:
        with np.load(path, allow_pickle=False) as z:
            detectors = {}
            for k in z["kinds"].tolist():
                d = HogDetector(**{n: z[f"{k}_{n}"].tolist() for n in _PARAMS})
                d.coef_, d.intercept_ = z[f"{k}_coef"].copy(), float(z[f"{k}_intercept"])
                detectors[k] = d
            metadata = json.loads(str(z["metadata"])) if "metadata" in z.files else {}
        out = cls(detectors)
        out.metadata = metadata
        return out


@functools.cache
def _load_hog_detector() -> HogSvmDetector:
    from importlib.resources import files

    return HogSvmDetector.load(files("dlcv") / "assets" / "hog_detector.npz")


def load_hog_detector() -> HogSvmDetector:
    """The HOG + SVM detectors trained by ``scripts/hog_detector.py`` (cached; ``.metadata``
    records how they were made)."""
    return _load_hog_detector()
