"""What the driving stack of chapter 11 sees in one frame: lanes, objects, traffic lights.

:func:`scene` draws a road scene of :mod:`dlcv.scenes` and redraws it under other
conditions (lighting, weather, the road's curvature, shadows, worn paint) with the same
objects; :func:`perceive` runs every method of the chapter on it and scores each against
the frame's exact labels:

* **lanes**, by the classical pipeline (:func:`dlcv.lanes.hough_lanes` with the settings
  the lane experiment chose on validation, :func:`dlcv.lanes.load_hough_settings`) and by
  the lane CNN (:func:`dlcv.lanes.cnn_lanes`): the columns of the two boundaries of the
  camera's lane at :data:`dlcv.scenes.LANE_DISTANCES`, and their errors in pixels and in
  metres (:func:`dlcv.lanes.lane_errors`);
* **objects**, by the grid CNN (:func:`dlcv.grid_detector.load_road_detector`) or by HOG +
  linear SVMs (:func:`dlcv.hog_detector.load_hog_detector`): every candidate
  (:func:`candidates`), those at the score threshold before non-maximum suppression and
  those that survive it (:func:`suppress`, NMS within each class);
* **traffic lights**: the state of each light, read by the HSV rule (with the thresholds
  fitted on validation crops, :func:`light_rule`) and by the light CNN, next to the true
  state. The crops are cut from the *true* boxes of the lights
  (:func:`dlcv.scenes.light_crops`), so a light the detector misses is still read: this
  scores the readers, not the detector.

:func:`frame_metrics` counts, for one frame, the objects found, missed and the false
detections (after NMS; a detection finds an object of its own class with IoU >= 0.5,
:func:`dlcv.detect.match_detections`), the lane errors in metres at each distance and
the lights read right by each method; :func:`perceive` stores them in
:attr:`Perception.metrics`.

A frame is 96 x 128 pixels. Measured on 2 CPU cores shared with another job,
:func:`perceive` took 7-150 ms with the grid CNN (most of it the CNN's forward pass) and
0.5-0.9 s with HOG + SVM (15 pyramid levels of HOG); :func:`candidates` is the slow part,
so a caller that changes only the thresholds passes its candidates back to :func:`perceive`.

>>> frame = scene(6, condition="clean")                    # a car and a traffic light
>>> dusk = scene(6, condition="clean", lighting="dusk")
>>> bool((frame.boxes == dusk.boxes).all()), bool(frame.image.mean() > dusk.image.mean())
(True, True)
>>> m = perceive(dusk).metrics
>>> m.objects, m.found, m.missed, m.false, m.lights_right
(2, 2, 0, 2, {'HSV rule': 1, 'CNN': 1})
"""

from __future__ import annotations

import copy
import functools
import math
import numbers
from dataclasses import dataclass, replace
from typing import NamedTuple

import numpy as np

from dlcv.detect import check_threshold, match_detections, nms
from dlcv.scenes import (
    CLASSES,
    LANE_DISTANCES,
    LIGHTING,
    WEATHER,
    Frame,
    light_crops,
    random_scene,
    render,
)
from dlcv.validate import check_choice, check_int

__all__ = [
    "DETECTORS",
    "LANE_METHODS",
    "LIGHT_METHODS",
    "MATCH_IOU",
    "THRESHOLDS",
    "Boxes",
    "FrameMetrics",
    "LightReading",
    "Perception",
    "Threshold",
    "candidates",
    "frame_metrics",
    "light_rule",
    "load_detector",
    "perceive",
    "scene",
    "suppress",
]

DETECTORS = ("grid CNN", "HOG + SVM")
"""The object detectors :func:`perceive` runs."""
LANE_METHODS = ("hough", "cnn")
"""The lane finders, as keys of :attr:`Perception.lanes` (which also holds ``"truth"``)."""
LIGHT_METHODS = ("HSV rule", "CNN")
"""The traffic-light readers, as keys of :attr:`FrameMetrics.lights_right`."""
MATCH_IOU = 0.5
"""IoU at which a detection finds an object (of its own class) in :func:`frame_metrics`."""
MAX_CURVATURE = 0.02
"""The largest ``|curvature|`` (1/m) of a road of :mod:`dlcv.scenes` (radius 50 m)."""


class Threshold(NamedTuple):
    """A detector's score scale: where candidates start, a useful top, a step, the default."""

    low: float  # candidates are kept from this score up: the lowest threshold
    high: float  # the top of a slider (a higher threshold is allowed unless it is a maximum)
    step: float
    default: float
    fmt: str  # how a score is written
    what: str  # what a score is
    maximum: bool  # high is the largest score there is (a probability)


THRESHOLDS = {
    "grid CNN": Threshold(0.01, 1.0, 0.01, 0.5, ".2f", "the cell's probability of an object "
                          "times the probability of its most likely class", True),
    "HOG + SVM": Threshold(-1.0, 2.0, 0.05, 0.0, ".2f", "the linear SVM's margin w·x + b on the "
                           "window's HOG features (each class its own SVM; 0 is the SVM's "
                           "boundary)", False),
}  # fmt: skip
"""Detector -> its :class:`Threshold`. The defaults are each detector's natural boundary: a
probability of one half, an SVM margin of zero."""


class Boxes(NamedTuple):
    """Detections in one frame: ``boxes`` (K, 4) ``(x1, y1, x2, y2)`` in pixels, ``scores``
    (K,) on the detector's scale, ``classes`` (K,) int64 indices into
    :data:`~dlcv.scenes.CLASSES`; by falling score."""

    boxes: np.ndarray
    scores: np.ndarray
    classes: np.ndarray


class LightReading(NamedTuple):
    """The traffic lights of one frame (from their true boxes) and the state each method
    reads: ``boxes`` (L, 4); ``truth``, ``hsv``, ``cnn`` (L,) int64 indices into
    :data:`~dlcv.scenes.LIGHT_STATES`."""

    boxes: np.ndarray
    truth: np.ndarray
    hsv: np.ndarray
    cnn: np.ndarray


@dataclass(frozen=True, eq=False)
class FrameMetrics:
    """How well the stack did on one frame (see :func:`frame_metrics`).

    Attributes
    ----------
    objects, found, missed, false : int
        True objects; those a detection found; those none found (``objects - found``);
        detections that found no object (false detections).
    by_class : dict
        ``{class name: {"objects", "found", "missed", "false"}}`` for every class of
        :data:`~dlcv.scenes.CLASSES`.
    matched : ndarray (K,) of int
        For each detection after NMS (in :attr:`Perception.after`'s order), the index of
        the true box it found (into ``frame.boxes``), or -1 for a false detection.
    lane_metres : dict
        ``{"hough": (2, D), "cnn": (2, D)}``: sideways error (m) of the left and right
        boundary at each of ``distances``; NaN where the method gave no answer (or the
        boundary is out of the frame).
    distances : tuple of float
        The distances ahead (m) of ``lane_metres``' columns.
    lights : int
        Traffic lights in the frame.
    lights_right : dict
        ``{"HSV rule": n, "CNN": n}``: lights whose state each method read right.
    """

    objects: int
    found: int
    missed: int
    false: int
    by_class: dict
    matched: np.ndarray
    lane_metres: dict
    distances: tuple
    lights: int
    lights_right: dict

    def lane_error(self, method: str, distance: float) -> np.ndarray:
        """Errors (m) of the left and right boundary by ``method`` at ``distance``, ``(2,)``."""
        check_choice(method, "method", LANE_METHODS)
        if distance not in self.distances:
            raise ValueError(f"distance must be one of {self.distances} (m), got {distance!r}")
        return self.lane_metres[method][:, self.distances.index(distance)]


@dataclass(frozen=True, eq=False)
class Perception:
    """Everything the stack sees in one frame (made by :func:`perceive`).

    Attributes
    ----------
    detector : str
        One of :data:`DETECTORS`.
    score_threshold, iou_threshold : float
        The detections kept score at least ``score_threshold``; NMS dropped a box whose
        IoU with a better one of its class was above ``iou_threshold``.
    distances : tuple of float
        Distances ahead (m) of the lane columns.
    lanes : dict
        ``{"truth", "hough", "cnn"}`` -> ``(2, D)`` columns ``u`` (pixels) of the left and
        right boundary of the camera's lane at each distance; NaN: out of the frame
        (truth) or no answer (a method).
    lane_pixels, lane_metres : dict
        ``{"hough", "cnn"}`` -> ``(2, D)`` absolute errors against the truth, in pixels
        and in metres sideways on the road.
    candidates : Boxes
        Every candidate of the detector, from its lowest score up (:data:`THRESHOLDS`).
    before, after : Boxes
        The candidates at ``score_threshold``, before and after non-maximum suppression.
    lights : LightReading
        Each traffic light's true box and state, the state by the HSV rule and by the CNN.
    metrics : FrameMetrics
        :func:`frame_metrics` of this perception.
    """

    detector: str
    score_threshold: float
    iou_threshold: float
    distances: tuple
    lanes: dict
    lane_pixels: dict
    lane_metres: dict
    candidates: Boxes
    before: Boxes
    after: Boxes
    lights: LightReading
    metrics: FrameMetrics | None = None


# --- the scene ----------------------------------------------------------------------------


def _real(value, name: str) -> float:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a number, got {value!r}")
    if not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number, got {value!r}")
    return float(value)


def scene(
    seed: int,
    split: str = "test",
    lighting: str | None = None,
    weather: str | None = None,
    curvature: float | None = None,
    shadows: int | None = None,
    wear: float | None = None,
    condition: str | None = None,
) -> Frame:
    """Scene ``seed`` of ``split``, redrawn with any of its conditions changed.

    The scene is :func:`dlcv.scenes.random_scene` ``(seed, split, condition)``; an
    argument left at None keeps what that scene drew, one that is given replaces it and
    the frame is rendered again with the same objects, road and camera, from the same
    random stream (texture offsets, dash phase, shadows, then the rest). So changing
    only the lighting or the weather leaves every box, class, state and lane label as
    it was; changing the curvature bends the road and moves the objects with it (their
    places are set across the road, relative to the lane's centre), and an object the
    bend takes out of view leaves the frame and its labels.

    Parameters
    ----------
    seed : int >= 0
    split : "train", "validation" or "test"
    lighting : "day", "dusk" or "glare", optional
    weather : "clear", "fog" or "rain", optional
    curvature : float, optional
        Of the camera's lane, in 1/m, within ±0.02 (radius >= 50 m); positive bends right.
    shadows : int in 0-12, optional
        Tree shadows on the road (several: one is a band across it).
    wear : float in [0, 1], optional
        Share of the painted markings worn away.
    condition : one of :data:`dlcv.scenes.CONDITIONS`, optional
        What :func:`~dlcv.scenes.random_scene` draws: None, the training mix (each scene
        its own conditions); "clean", a straight new dry road by day; ...

    Returns
    -------
    Frame
        ``random_scene(seed, split, condition)`` itself when nothing is changed.
    """
    frame = random_scene(seed, split, condition)  # checks seed, split and condition
    if lighting is not None:
        check_choice(lighting, "lighting", LIGHTING)
    if weather is not None:
        check_choice(weather, "weather", WEATHER)
    if curvature is not None:
        curvature = _real(curvature, "curvature")
        if abs(curvature) > MAX_CURVATURE:
            raise ValueError(
                f"curvature must be within ±{MAX_CURVATURE} 1/m (a radius of at least "
                f"{1 / MAX_CURVATURE:.0f} m), got {curvature!r}"
            )
    if shadows is not None:
        shadows = check_int(shadows, "shadows", 0)
        if shadows > 12:
            raise ValueError(f"shadows must be at most 12, got {shadows}")
    if wear is not None:
        wear = _real(wear, "wear")
        if not 0 <= wear <= 1:
            raise ValueError(f"wear must be between 0 and 1 (share of the paint), got {wear!r}")
    if all(x is None for x in (lighting, weather, curvature, shadows, wear)):
        return frame
    road = frame.road
    if curvature is not None:
        road = replace(road, curvature=curvature)
    if wear is not None:
        road = replace(road, wear=wear)
    conditions = dict(frame.conditions)
    for key, value in (("lighting", lighting), ("weather", weather), ("shadows", shadows)):
        if value is not None:
            conditions[key] = value
    conditions["seed"] = copy.deepcopy(conditions["seed"])  # the stream as the scene began
    return render(road, frame.objects, camera=frame.camera, **conditions)


# --- the detectors ------------------------------------------------------------------------


def load_detector(detector: str = "grid CNN"):
    """The shipped model of ``detector``: the grid CNN (a ``Sequential``) or the HOG + SVM
    detectors (a :class:`~dlcv.hog_detector.HogSvmDetector`); loaded once, cached."""
    check_choice(detector, "detector", DETECTORS)
    if detector == "grid CNN":
        from dlcv.grid_detector import load_road_detector

        return load_road_detector()
    from dlcv.data import asset_path
    from dlcv.hog_detector import load_hog_detector

    path = asset_path("hog_detector.npz")
    if not path.is_file():
        raise FileNotFoundError(
            f"{path} is missing: run `python scripts/hog_detector.py` from the repository "
            "root to make it, or pass a trained HogSvmDetector as model"
        )
    return load_hog_detector()


def _check_model(detector: str, model):
    if model is None:
        return load_detector(detector)
    if detector == "grid CNN":
        from dlcv.layers import Sequential

        if not isinstance(model, Sequential):
            raise TypeError(
                "model must be a grid detector (a dlcv.layers.Sequential) for the grid CNN, "
                f"got {type(model).__name__}"
            )
    else:
        from dlcv.hog_detector import HogSvmDetector

        if not isinstance(model, HogSvmDetector):
            raise TypeError(
                "model must be a dlcv.hog_detector.HogSvmDetector for HOG + SVM, got "
                f"{type(model).__name__}"
            )
    return model


def _check_frame(frame) -> Frame:
    if not isinstance(frame, Frame):
        raise TypeError(f"frame must be a dlcv.scenes.Frame, got {type(frame).__name__}")
    return frame


def _by_score(found) -> Boxes:
    boxes = np.asarray(found.boxes, dtype=float).reshape(-1, 4)
    scores = np.asarray(found.scores, dtype=float).reshape(-1)
    classes = np.asarray(found.classes, dtype=np.int64).reshape(-1)
    order = np.argsort(-scores, kind="stable")
    return Boxes(boxes[order], scores[order], classes[order])


def candidates(frame: Frame, detector: str = "grid CNN", model=None) -> Boxes:
    """Every candidate detection of ``detector`` in ``frame``, before any threshold or NMS.

    Candidates start at the detector's lowest score, ``THRESHOLDS[detector].low`` (a
    probability of 0.01 for the grid CNN, an SVM margin of -1 for HOG + SVM).

    Parameters
    ----------
    frame : Frame
    detector : "grid CNN" or "HOG + SVM"
    model : optional
        The detector's model (a grid detector ``Sequential`` or a ``HogSvmDetector``);
        by default the shipped one (:func:`load_detector`).

    Returns
    -------
    Boxes
        By falling score.
    """
    frame = _check_frame(frame)
    check_choice(detector, "detector", DETECTORS)
    return _candidates(frame, detector, model)


def _candidates(frame: Frame, detector: str, model) -> Boxes:
    model = _check_model(detector, model)
    low = THRESHOLDS[detector].low
    if detector == "grid CNN":
        from dlcv.grid_detector import detect_objects

        images = frame.image.transpose(2, 0, 1)[None]
        # IoU threshold 1: NMS drops a box only above it, so every candidate is kept
        return _by_score(detect_objects(model, images, score_threshold=low, iou_threshold=1.0)[0])
    return _by_score(model.detect(frame.image, score_threshold=low, raw=True))


def _score_threshold(detector: str, value) -> float:
    scale = THRESHOLDS[detector]
    if value is None:
        return scale.default
    value = _real(value, "score_threshold")
    if value < scale.low or (scale.maximum and value > scale.high):
        top = f" and at most {scale.high:g}" if scale.maximum else ""
        raise ValueError(
            f"score_threshold must be at least {scale.low:g}{top} for the {detector} (its "
            f"candidates start at {scale.low:g}), got {value!r}"
        )
    return value


def _check_boxes_found(found, name: str) -> Boxes:
    if not all(hasattr(found, a) for a in ("boxes", "scores", "classes")):
        raise TypeError(
            f"{name} must have boxes, scores and classes (as candidates() returns), "
            f"got {type(found).__name__}"
        )
    boxes = np.asarray(found.boxes, dtype=float)
    scores, classes = np.asarray(found.scores), np.asarray(found.classes)
    if (
        boxes.ndim != 2
        or boxes.shape[1] != 4
        or scores.shape != (len(boxes),)
        or classes.shape != (len(boxes),)
    ):
        raise ValueError(
            f"{name} must hold boxes (K, 4), scores (K,) and classes (K,), got shapes "
            f"{boxes.shape}, {scores.shape} and {classes.shape}"
        )
    return _by_score(found)


def suppress(found, score_threshold: float, iou_threshold: float = 0.5) -> tuple[Boxes, Boxes]:
    """The detections of ``found`` at ``score_threshold``, before and after NMS.

    ``before`` is every box scoring at least ``score_threshold``; ``after`` what
    :func:`dlcv.detect.nms` with ``iou_threshold`` keeps of them, run within each class
    (a car does not suppress the pedestrian in front of it), as
    :func:`dlcv.grid_detector.decode` and :meth:`dlcv.hog_detector.HogSvmDetector.detect`
    do. Both by falling score.
    """
    found = _check_boxes_found(found, "found")
    threshold = _real(score_threshold, "score_threshold")
    iou_threshold = check_threshold(iou_threshold, "iou_threshold")
    above = found.scores >= threshold
    before = Boxes(found.boxes[above], found.scores[above], found.classes[above])
    keep = [np.empty(0, np.int64)]
    for kind in np.unique(before.classes):
        members = np.flatnonzero(before.classes == kind)
        keep.append(members[nms(before.boxes[members], before.scores[members], iou_threshold)])
    keep = np.sort(np.concatenate(keep))  # before is by falling score, so this is too
    return before, Boxes(before.boxes[keep], before.scores[keep], before.classes[keep])


# --- lanes and lights ---------------------------------------------------------------------


@functools.cache
def _rule() -> tuple:
    from dlcv.lights import load_light_cnn

    rule = load_light_cnn().metadata["hsv_rule"]
    hues = tuple((colour, tuple(band)) for colour, band in rule["hues"].items())
    return rule["saturation"], rule["value"], hues, rule["min_fraction"]


def light_rule() -> dict:
    """The HSV rule's thresholds fitted on validation crops (``scripts/train_light_cnn.py``,
    kept in the light CNN's metadata): keyword arguments of :func:`dlcv.lights.hsv_rule`."""
    saturation, value, hues, min_fraction = _rule()
    return {"saturation": saturation, "value": value, "hues": dict(hues),
            "min_fraction": min_fraction}  # fmt: skip


def _lights(frame: Frame) -> LightReading:
    from dlcv.lights import hsv_rule, load_light_cnn, predict_states

    boxes = frame.boxes[frame.classes == CLASSES.index("traffic light")]
    crops, truth, _ = light_crops([frame])
    if len(crops) == 0:
        empty = np.empty(0, np.int64)
        return LightReading(boxes.reshape(0, 4), empty, empty, empty)
    hsv = hsv_rule(crops, **light_rule()).astype(np.int64)
    return LightReading(boxes, truth, hsv, predict_states(load_light_cnn(), crops))


@functools.cache
def _hough_settings():
    from dlcv.lanes import load_hough_settings

    return load_hough_settings()


def _lanes(frame: Frame) -> tuple[dict, dict, dict]:
    from dlcv.lanes import cnn_lanes, hough_lanes, lane_errors, load_lane_cnn

    lanes = {
        "truth": frame.lane_points(LANE_DISTANCES),
        "hough": hough_lanes(frame.image, frame.camera, _hough_settings(), LANE_DISTANCES),
        "cnn": cnn_lanes(load_lane_cnn(), frame.image, frame.camera),
    }
    pixels, metres = {}, {}
    for method in LANE_METHODS:
        px, m = lane_errors(lanes[method][None], [frame], LANE_DISTANCES)
        pixels[method], metres[method] = px[0], m[0]
    return lanes, pixels, metres


# --- perception and its metrics -----------------------------------------------------------


def perceive(
    frame: Frame,
    detector: str = "grid CNN",
    score_threshold: float | None = None,
    iou_threshold: float = 0.5,
    *,
    model=None,
    candidates: Boxes | None = None,
) -> Perception:
    """Run the chapter's lane finders, a detector and both light readers on one frame.

    Parameters
    ----------
    frame : Frame
        A frame of :mod:`dlcv.scenes` (e.g. from :func:`scene`), with its labels.
    detector : "grid CNN" or "HOG + SVM"
    score_threshold : float, optional
        Detections scoring at least this are kept; by default the detector's
        (:data:`THRESHOLDS`: 0.5 for the grid CNN's probability, 0 for the SVM margin).
        It must not be below the detector's lowest candidate score.
    iou_threshold : float in (0, 1]
        Non-maximum suppression drops a box whose IoU with a better box of its class is
        above this.
    model : optional
        The detector's model; by default the shipped one (:func:`load_detector`).
    candidates : Boxes, optional
        What :func:`candidates` gave for this frame and detector, to skip detecting again
        (the caller vouches that they belong to ``frame``).

    Returns
    -------
    Perception
        With :attr:`Perception.metrics` set (:func:`frame_metrics`).
    """
    frame = _check_frame(frame)
    check_choice(detector, "detector", DETECTORS)
    score_threshold = _score_threshold(detector, score_threshold)
    iou_threshold = check_threshold(iou_threshold, "iou_threshold")
    if candidates is None:
        found = _candidates(frame, detector, model)
    else:
        found = _check_boxes_found(candidates, "candidates")
    before, after = suppress(found, score_threshold, iou_threshold)
    lanes, pixels, metres = _lanes(frame)
    perception = Perception(
        detector, score_threshold, iou_threshold, tuple(LANE_DISTANCES), lanes, pixels, metres,
        found, before, after, _lights(frame),
    )  # fmt: skip
    return replace(perception, metrics=frame_metrics(perception, frame))


def frame_metrics(perception: Perception, frame: Frame) -> FrameMetrics:
    """Count what ``perception`` got right in ``frame``.

    A detection after NMS finds a true object of its own class when their IoU is at least
    :data:`MATCH_IOU` (0.5), matched greedily by falling score, each object found once
    (:func:`dlcv.detect.match_detections`, COCO's rule); a detection that finds none is a
    false detection, an object none finds is missed. Lane errors are ``perception``'s
    metres; a light is read right when a method's state equals the true state.
    """
    if not isinstance(perception, Perception):
        raise TypeError(f"perception must be a Perception, got {type(perception).__name__}")
    frame = _check_frame(frame)
    after = perception.after
    matched = np.full(len(after.scores), -1, dtype=np.int64)
    by_class = {}
    for kind, name in enumerate(CLASSES):
        mine = np.flatnonzero(after.classes == kind)
        truth = np.flatnonzero(frame.classes == kind)
        hits = match_detections(after.boxes[mine], after.scores[mine], frame.boxes[truth],
                                MATCH_IOU)  # fmt: skip
        matched[mine[hits >= 0]] = truth[hits[hits >= 0]]
        found = int((hits >= 0).sum())
        by_class[name] = {"objects": len(truth), "found": found, "missed": len(truth) - found,
                          "false": int((hits < 0).sum())}  # fmt: skip
    totals = {key: sum(row[key] for row in by_class.values()) for key in ("objects", "found",
              "missed", "false")}  # fmt: skip
    lights = perception.lights
    right = {"HSV rule": int((lights.hsv == lights.truth).sum()),
             "CNN": int((lights.cnn == lights.truth).sum())}  # fmt: skip
    return FrameMetrics(
        totals["objects"], totals["found"], totals["missed"], totals["false"], by_class,
        matched, dict(perception.lane_metres), tuple(perception.distances), len(lights.truth),
        right,
    )  # fmt: skip
