"""Perception for the table top: find the objects in RGB and depth, and name their kinds.

Chapter 12's second step. A real robot has no segmentation mask; it has a colour image
and a depth image. This module turns those into the candidates that
:mod:`dlcv.grounding` grounds a command in:

* :func:`object_mask` back-projects every pixel with the camera model and its depth
  (:func:`dlcv.tabletop.depth_to_points`) and keeps the pixels whose point stands more
  than ``min_height`` above the table plane ``z = TABLE_TOP`` and lies over the table
  near the workspace (:data:`REGION`: the arm's own links, seen at the top of the image,
  fall outside it);
* :func:`propose` labels the connected components of that mask
  (``scipy.ndimage.label``), drops those under ``min_pixels`` pixels, crops each by its
  bounding box exactly as :func:`dlcv.grounding.scene_candidates` crops by the mask
  (:func:`dlcv.grounding.crop_box`: padded by 2 pixels, bilinear resize to 16 x 16) and gives it a
  **grasp point** (:func:`grasp_point`: the centroid of its 3-D points, or the
  "top-centre", the mean ``x, y`` of its points within :data:`TOP_BAND` of its highest
  one, at half that height);
* :func:`as_candidates` wraps proposals and their predicted kinds into a
  :class:`dlcv.grounding.Candidates`, the type the grounders take (the colour name by
  :func:`dlcv.grounding.crop_colour`);
* two namers of a crop's kind: a small CNN of :mod:`dlcv.layers` (:func:`kind_cnn`,
  the shipped weights by :func:`load_kind_cnn`, used by :func:`name_kinds`) and a
  colour-histogram baseline (:func:`colour_histogram` features, a linear classifier
  :class:`HistogramNamer`, shipped too, :func:`load_histogram_namer`).

:func:`match_proposals` scores proposals against the segmentation mask (used for
evaluation only): found, missed, split and merged objects, spurious proposals, and the
grasp point's error in ``x, y`` against the object's true centre. The mask-based
candidates of :func:`dlcv.grounding.scene_candidates` are the perfect-perception upper
bound.

``scripts/train_perception.py`` renders the scenes of :data:`SCENE_SEEDS` (disjoint
from each other and from :data:`dlcv.grounding.SCENE_SEEDS`), measures the proposals,
trains both namers on the training scenes' mask crops, chooses settings on validation,
reads the test scenes once and writes ``perception_cnn.npz``,
``perception_histogram.npz``, ``perception_naming.csv`` and
``perception_proposals.csv`` (read back by :func:`load_naming_results` and
:func:`load_proposal_results`).

What it found (the run at commit 72df1d0, 150 s on one core): the proposals find every
object of the 200 test scenes (901 of 901; none missed, split or merged, no spurious
proposal). The grasp point's ``x, y`` error is 0.79 cm median, 1.45 cm at the 90th
percentile with the "top" rule (chosen on validation: 0.81 cm against 0.94 cm for the
centroid). The kind CNN (width 16, 20 epochs, the largest setting of the grid and the best
on validation, 97.3 %) names 96.9 % of the test mask crops right (two more seeds: 96.6 %,
95.6 %) but 93.7 % of the proposal crops: it was trained on mask crops, and a proposal
leaves out an object's lowest 5 mm, which makes a cube's crop look like a mug's (84 % of
cubes right). The colour histogram names 72 %, better than chance because the share of
the crop an object covers and its shading carry shape; naming the kind by colour alone is
at chance (21 %), since colours are drawn independently of kinds.

>>> from dlcv.tabletop import Camera, make_scene, render
>>> with make_scene(0) as scene:
...     frame = render(scene, Camera())
>>> found = propose(frame.rgb, frame.depth)
>>> len(found.crops) == len(scene.objects), found.crops.shape[1:]
(True, (16, 16, 3))
"""

from __future__ import annotations

import importlib.resources
import json
import math
import numbers
import zipfile
from pathlib import Path
from typing import NamedTuple

import numpy as np
from scipy import ndimage

from dlcv.grid import check_rows, read_results
from dlcv.grounding import CROP_SIZE, Candidates, crop_box, crop_colour
from dlcv.layers import Conv2D, Dense, Flatten, MaxPool2D, ReLU, Sequential
from dlcv.models import load as load_model
from dlcv.tabletop import KINDS, TABLE_TOP, WORKSPACE, Camera, depth_to_points, world_to_pixel
from dlcv.train import predict_proba
from dlcv.validate import as_float_array, check_choice, check_int

__all__ = [
    "CNN_FILE",
    "GRASP_METHODS",
    "HISTOGRAM_FILE",
    "MIN_HEIGHT",
    "MIN_PIXELS",
    "NAMING_COLUMNS",
    "NAMING_FILE",
    "PROPOSALS_COLUMNS",
    "PROPOSALS_FILE",
    "REGION",
    "SCENE_SEEDS",
    "TOP_BAND",
    "HistogramNamer",
    "Match",
    "Proposals",
    "as_candidates",
    "colour_histogram",
    "crop_inputs",
    "grasp_point",
    "kind_cnn",
    "load_histogram_namer",
    "load_kind_cnn",
    "load_naming_results",
    "load_proposal_results",
    "match_proposals",
    "name_kinds",
    "object_mask",
    "propose",
]

MIN_HEIGHT = 0.005
"""A pixel is an object's when its back-projected point is this far above the table (m)."""

MIN_PIXELS = 10
"""Connected components smaller than this (pixels) are not proposals."""

TOP_BAND = 0.01
"""The "top" grasp point averages the points within this height (m) of the highest one."""

GRASP_METHODS = ("top", "centroid")
"""The grasp-point rules of :func:`grasp_point`."""

REGION = ((WORKSPACE[0][0] - 0.06, WORKSPACE[0][1] + 0.06),
          (WORKSPACE[1][0] - 0.06, WORKSPACE[1][1] + 0.06))  # fmt: skip
"""Where object pixels may lie, ``((x_min, x_max), (y_min, y_max))`` in metres: the
workspace grown by 6 cm, an object's largest half-width. The arm stands at the origin,
outside it."""

SCENE_SEEDS = {
    "train": range(6000, 6500),
    "validation": range(7000, 7150),
    "test": range(8000, 8200),
}
"""The scene seeds of each part, disjoint from each other and from
:data:`dlcv.grounding.SCENE_SEEDS` (1000-1399, 2000-2099, 3000-3099), so that a pipeline
can chain the two without testing either on scenes it was trained on. The tests render
fresh scenes from seeds 9000 on."""


# --- Proposals from RGB and depth ---------------------------------------------------------


def _check_height(min_height) -> float:
    if not isinstance(min_height, numbers.Real) or isinstance(min_height, bool):
        raise TypeError(f"min_height must be a number of metres, got {min_height!r}")
    if not (math.isfinite(min_height) and 0 < min_height < 0.5):
        raise ValueError(
            f"min_height must be positive and below 0.5 m (at 0 the table itself counts), "
            f"got {min_height!r}"
        )
    return float(min_height)


def _check_region(region) -> np.ndarray:
    try:
        arr = np.asarray(region, dtype=np.float64)
    except (TypeError, ValueError):
        arr = None
    if arr is None or arr.shape != (2, 2) or not np.isfinite(arr).all():
        raise ValueError(f"region must be ((x_min, x_max), (y_min, y_max)) in metres, "
                         f"got {region!r}")  # fmt: skip
    if not (arr[:, 0] < arr[:, 1]).all():
        raise ValueError(f"region must have x_min < x_max and y_min < y_max, got {region!r}")
    return arr


def _check_depth(depth, camera: Camera) -> np.ndarray:
    d = as_float_array(depth, "depth", (2,), "(H, W) in metres", np.float64)
    if d.shape != (camera.height, camera.width):
        raise ValueError(f"depth must have the camera's shape {(camera.height, camera.width)}, "
                         f"got {d.shape}")  # fmt: skip
    if np.isnan(d).any() or (d <= 0).any() or np.isneginf(d).any():
        raise ValueError("depth must be positive metres, or inf where nothing was seen; "
                         "it holds NaN, zero or negative values")  # fmt: skip
    return d


def _check_rgb(rgb, camera: Camera) -> np.ndarray:
    arr = np.asarray(rgb)
    if arr.dtype != np.uint8:
        raise TypeError(f"rgb must be a uint8 image (H, W, 3), got dtype {arr.dtype}")
    if arr.shape != (camera.height, camera.width, 3):
        raise ValueError(f"rgb must have shape {(camera.height, camera.width, 3)} (the "
                         f"camera's), got {arr.shape}")  # fmt: skip
    return arr


def object_mask(depth, camera=None, min_height=MIN_HEIGHT, region=REGION):
    """The object pixels of a depth image, by their height above the table.

    Parameters
    ----------
    depth : array_like (H, W)
        Metric depth as :func:`dlcv.tabletop.render` gives it (``inf``: nothing seen).
    camera : dlcv.tabletop.Camera, optional
        The camera that took it (the default camera by default).
    min_height : float
        Metres above ``TABLE_TOP`` a point must stand; positive.
    region : ((x_min, x_max), (y_min, y_max))
        Where, over the table, object points may lie.

    Returns
    -------
    mask : ndarray of bool (H, W)
    points : ndarray (H, W, 3)
        Every pixel's world point (``nan`` where nothing was seen).
    """
    camera = Camera() if camera is None else camera
    if not isinstance(camera, Camera):
        raise TypeError(f"camera must be a dlcv.tabletop.Camera, got {type(camera).__name__}")
    d = _check_depth(depth, camera)
    h, box = _check_height(min_height), _check_region(region)
    points = depth_to_points(camera, d)
    x, y, z = (np.nan_to_num(points[..., k], nan=-np.inf) for k in range(3))
    inside = (x >= box[0, 0]) & (x <= box[0, 1]) & (y >= box[1, 0]) & (y <= box[1, 1])
    return (z > TABLE_TOP + h) & inside, points


def grasp_point(points, method="top") -> np.ndarray:
    """Where to grasp an object seen as the 3-D ``points`` (M, 3) of its pixels.

    ``"centroid"``: their mean. ``"top"``: the mean ``x, y`` of the points within
    :data:`TOP_BAND` of the highest one, at half the object's height (an object standing
    on the table has its centre there). The camera sees an object's near side, so the
    centroid leans towards the camera; the top is seen from above and leans less.
    """
    pts = as_float_array(points, "points", (2,), "(M, 3) in metres", np.float64)
    if pts.shape[1] != 3 or not np.isfinite(pts).all():
        raise ValueError(f"points must be finite with shape (M, 3), got shape {pts.shape}")
    check_choice(method, "method", GRASP_METHODS)
    if method == "centroid":
        return pts.mean(axis=0)
    top = pts[:, 2].max()
    near_top = pts[pts[:, 2] >= top - TOP_BAND]
    x, y = near_top[:, :2].mean(axis=0)
    return np.array([x, y, TABLE_TOP + (top - TABLE_TOP) / 2])


class Proposals(NamedTuple):
    """Objects found in RGB and depth alone.

    ``crops`` (N, S, S, 3) uint8; ``columns`` (N,) the grasp point's image column over
    the image width (as :class:`dlcv.grounding.Candidates` wants it); ``points`` (N, 3)
    the grasp points (m, world frame); ``boxes`` (N, 4) the padded crop boxes
    ``(i0, j0, i1, j1)``; ``sizes`` (N,) pixels per component; ``labels`` (H, W) the
    component image (0: no proposal, ``k + 1``: proposal ``k``).
    """

    crops: np.ndarray
    columns: np.ndarray
    points: np.ndarray
    boxes: np.ndarray
    sizes: np.ndarray
    labels: np.ndarray


def propose(rgb, depth, camera=None, *, min_height=MIN_HEIGHT, min_pixels=MIN_PIXELS,
            region=REGION, grasp="top", size=CROP_SIZE, pad=2) -> Proposals:  # fmt: skip
    """Object proposals from an RGB image and its depth, without the segmentation mask.

    The pixels of :func:`object_mask` are grouped into 4-connected components
    (``scipy.ndimage.label``); each with at least ``min_pixels`` pixels is a proposal,
    cropped by its bounding box grown by ``pad`` pixels (clipped at the border) and
    resized to ``size`` x ``size`` (:func:`dlcv.grounding.crop_box`), with the grasp point
    :func:`grasp_point` of its 3-D points (``grasp``: ``"top"`` or ``"centroid"``).
    Proposals come in the order of their first pixel (row by row).

    Parameters
    ----------
    rgb : ndarray (H, W, 3) uint8
    depth : array_like (H, W)
    camera : dlcv.tabletop.Camera, optional
    min_height, region
        As in :func:`object_mask`.
    min_pixels, size, pad : int
    grasp : str
    """
    camera = Camera() if camera is None else camera
    mask, points = object_mask(depth, camera, min_height, region)
    image = _check_rgb(rgb, camera)
    min_pixels = check_int(min_pixels, "min_pixels", 1)
    size, pad = check_int(size, "size", 4), check_int(pad, "pad", 0)
    check_choice(grasp, "grasp", GRASP_METHODS)
    components, n = ndimage.label(mask)
    h, w = mask.shape
    labels = np.zeros_like(components)
    crops, columns, grasps, boxes, sizes = [], [], [], [], []
    for index, where in enumerate(ndimage.find_objects(components), start=1):
        if where is None:
            continue
        inside = components[where] == index
        count = int(inside.sum())
        if count < min_pixels:
            continue
        labels[where][inside] = len(crops) + 1
        rows, cols = np.nonzero(inside)
        rows, cols = rows + where[0].start, cols + where[1].start
        box = (max(rows.min() - pad, 0), max(cols.min() - pad, 0),
               min(rows.max() + 1 + pad, h), min(cols.max() + 1 + pad, w))  # fmt: skip
        point = grasp_point(points[rows, cols], grasp)
        u = float(world_to_pixel(camera, point)[0])
        crops.append(crop_box(image, box, size))
        columns.append(min(max(u / w, 0.0), 1.0))
        grasps.append(point)
        boxes.append(box)
        sizes.append(count)
    return Proposals(
        np.array(crops, dtype=np.uint8).reshape(-1, size, size, 3),
        np.array(columns, dtype=np.float64),
        np.array(grasps, dtype=np.float64).reshape(-1, 3),
        np.array(boxes, dtype=np.int64).reshape(-1, 4),
        np.array(sizes, dtype=np.int64),
        labels,
    )


def _check_proposals(proposals) -> Proposals:
    if not isinstance(proposals, Proposals):
        raise TypeError(f"proposals must be a Proposals (from propose), "
                        f"got {type(proposals).__name__}")  # fmt: skip
    return proposals


def as_candidates(proposals, kinds, bodies=None) -> Candidates:
    """The proposals as :class:`dlcv.grounding.Candidates`, the grounders' input.

    ``kinds`` are the predicted kind names, one per proposal (e.g. :func:`name_kinds`);
    colours are read from each crop by :func:`dlcv.grounding.crop_colour`; ``bodies``
    (the simulator's body id each proposal stands for, e.g. :attr:`Match.assigned`,
    for evaluation only) default to -1, unknown.
    """
    proposals = _check_proposals(proposals)
    n = len(proposals.crops)
    kinds = tuple(kinds) if not isinstance(kinds, str) else None
    if kinds is None or len(kinds) != n or any(k not in KINDS for k in kinds):
        raise ValueError(f"kinds must hold one name of {tuple(KINDS)} per proposal ({n}), "
                         f"got {kinds!r}")  # fmt: skip
    bodies = (-1,) * n if bodies is None else tuple(int(b) for b in bodies)
    if len(bodies) != n:
        raise ValueError(f"bodies must hold one body id per proposal ({n}), got {len(bodies)}")
    colours = tuple(crop_colour(c) for c in proposals.crops)
    return Candidates(proposals.crops, proposals.columns, kinds, colours, bodies)


# --- Proposals against the mask (evaluation) ----------------------------------------------


class Match(NamedTuple):
    """Proposals scored against the segmentation mask (:func:`match_proposals`).

    ``assigned`` (N,): the body each proposal stands for (the object holding most of its
    pixels; -1 when most are no object's). Per object, in the order of ``bodies``:
    ``found`` (exactly one proposal stands for it and that proposal is not merged),
    ``split`` (more than one does), ``missed`` (none does); ``merged`` (N,) proposals
    holding at least ``min_share`` of two or more objects' mask pixels; ``spurious``: the
    number of proposals standing for no object; ``errors`` (M,) the ``x, y`` distance (m)
    from each found object's grasp point to its true centre.
    """

    assigned: np.ndarray
    found: np.ndarray
    split: np.ndarray
    missed: np.ndarray
    merged: np.ndarray
    spurious: int
    errors: np.ndarray


def match_proposals(proposals, segmentation, bodies, positions, min_share=0.2) -> Match:
    """Score ``proposals`` against the mask ``segmentation`` (H, W) of the objects
    ``bodies`` (their ids) whose true centres are ``positions`` (K, 3)."""
    proposals = _check_proposals(proposals)
    seg = np.asarray(segmentation)
    if seg.shape != proposals.labels.shape or seg.dtype.kind not in "iu":
        raise ValueError(f"segmentation must be integer body ids of shape "
                         f"{proposals.labels.shape}, got {seg.dtype} {seg.shape}")  # fmt: skip
    bodies = [int(b) for b in bodies]
    pos = as_float_array(positions, "positions", (2,), "(K, 3) in metres", np.float64)
    if pos.shape != (len(bodies), 3):
        raise ValueError(f"positions must have shape ({len(bodies)}, 3), got {pos.shape}")
    n = len(proposals.crops)
    assigned = np.full(n, -1, dtype=np.int64)
    merged = np.zeros(n, dtype=bool)
    for k in range(n):
        ids = seg[proposals.labels == k + 1]
        counts = {b: int((ids == b).sum()) for b in bodies}
        best = max(counts, key=counts.get) if counts else -1
        if counts and counts[best] * 2 > len(ids):
            assigned[k] = best
        shares = [counts[b] / max(int((seg == b).sum()), 1) for b in bodies]
        merged[k] = sum(s >= min_share for s in shares) >= 2
    per_body = np.array([(assigned == b).sum() for b in bodies])
    found = np.array([c == 1 and not merged[assigned == b].any()
                      for b, c in zip(bodies, per_body, strict=True)], dtype=bool)  # fmt: skip
    errors = [np.linalg.norm(proposals.points[assigned == b][0, :2] - pos[i, :2])
              for i, b in enumerate(bodies) if found[i]]  # fmt: skip
    return Match(assigned, found, per_body > 1, per_body == 0, merged,
                 int((assigned == -1).sum()), np.array(errors))  # fmt: skip


# --- Naming the kind: a small CNN and a colour-histogram baseline -------------------------


def crop_inputs(crops) -> np.ndarray:
    """Crops (N, S, S, 3) uint8 as the CNN's input (N, 3, S, S) float32 in [0, 1]."""
    arr = np.asarray(crops)
    if arr.dtype != np.uint8:
        raise TypeError(f"crops must be uint8 images (N, S, S, 3), got dtype {arr.dtype}")
    if arr.ndim != 4 or arr.shape[-1] != 3 or arr.shape[1:3] != (CROP_SIZE, CROP_SIZE):
        raise ValueError(f"crops must have shape (N, {CROP_SIZE}, {CROP_SIZE}, 3), "
                         f"got {arr.shape}")  # fmt: skip
    return np.ascontiguousarray(np.moveaxis(arr, -1, 1), dtype=np.float32) / np.float32(255)


def kind_cnn(width=16, rng=0) -> Sequential:
    """The kind namer: two 3x3 convolutions (``width``, ``2 * width`` channels) with ReLU
    and 2x2 max pooling, then a 64-unit hidden layer and one score per kind of
    :data:`dlcv.tabletop.KINDS` (in its order)."""
    width = check_int(width, "width", 1)
    s = CROP_SIZE // 4
    return Sequential([
        Conv2D(3, width, 3, padding=1, rng=rng), ReLU(), MaxPool2D(2),
        Conv2D(width, 2 * width, 3, padding=1, rng=rng), ReLU(), MaxPool2D(2),
        Flatten(), Dense(2 * width * s * s, 64, rng=rng), ReLU(), Dense(64, len(KINDS), rng=rng),
    ])  # fmt: skip


def name_kinds(model, crops) -> tuple[tuple, np.ndarray]:
    """The kind name of each crop by ``model`` (:func:`kind_cnn`), and the probabilities
    (N, 5) over :data:`dlcv.tabletop.KINDS`."""
    if not isinstance(model, Sequential):
        raise TypeError(f"model must be a dlcv.layers.Sequential, got {type(model).__name__}")
    proba = predict_proba(model, crop_inputs(crops))
    names = list(KINDS)
    return tuple(names[i] for i in proba.argmax(axis=1)), proba


def colour_histogram(crops, bins=4) -> np.ndarray:
    """Features (N, bins**3 + 1): the RGB histogram of each crop's object pixels and the
    share of the crop they cover.

    Object pixels are those farther than 60 (RGB distance) from the median of the crop's
    border, the rule of :func:`dlcv.grounding.crop_colour`; the histogram is over
    ``bins`` equal bins per channel, normalised to sum to 1 (a crop with no object pixel
    gets zeros).
    """
    arr = np.asarray(crops)
    if arr.ndim != 4 or arr.shape[-1] != 3 or arr.dtype != np.uint8:
        raise ValueError(f"crops must be uint8 images (N, S, S, 3), got {arr.dtype} {arr.shape}")
    bins = check_int(bins, "bins", 1)
    out = np.zeros((len(arr), bins**3 + 1))
    for n, crop in enumerate(arr):
        pixels = crop.reshape(-1, 3).astype(np.float64)
        border = np.concatenate([crop[0], crop[-1], crop[:, 0], crop[:, -1]]).astype(float)
        inside = pixels[np.linalg.norm(pixels - np.median(border, axis=0), axis=1) > 60]
        if len(inside):
            idx = np.minimum((inside * bins / 256).astype(int), bins - 1)
            flat = (idx[:, 0] * bins + idx[:, 1]) * bins + idx[:, 2]
            out[n, : bins**3] = np.bincount(flat, minlength=bins**3) / len(inside)
        out[n, -1] = len(inside) / len(pixels)
    return out


class HistogramNamer:
    """The colour-histogram baseline: a linear classifier on :func:`colour_histogram`.

    ``coef`` (5, F) and ``intercept`` (5,), e.g. a fitted
    ``sklearn.linear_model.LogisticRegression``'s (classes in the order of
    :data:`dlcv.tabletop.KINDS`); features are standardised by ``mean`` and ``scale``
    (F,) first.
    """

    def __init__(self, coef, intercept, mean, scale, bins=4):
        self.bins = check_int(bins, "bins", 1)
        f = self.bins**3 + 1
        self.coef = as_float_array(coef, "coef", (2,), f"({len(KINDS)}, {f})", np.float64)
        self.intercept = as_float_array(intercept, "intercept", (1,), "(5,)", np.float64)
        self.mean = as_float_array(mean, "mean", (1,), f"({f},)", np.float64)
        self.scale = as_float_array(scale, "scale", (1,), f"({f},)", np.float64)
        shapes = (self.coef.shape, self.intercept.shape, self.mean.shape, self.scale.shape)
        if shapes != ((len(KINDS), f), (len(KINDS),), (f,), (f,)):
            raise ValueError(f"coef, intercept, mean and scale must have shapes "
                             f"({len(KINDS)}, {f}), ({len(KINDS)},), ({f},), ({f},); "
                             f"got {shapes}")  # fmt: skip
        if not all(np.isfinite(a).all() for a in (self.coef, self.intercept, self.mean)) or not (
            np.isfinite(self.scale).all() and (self.scale > 0).all()
        ):
            raise ValueError("coef, intercept, mean and scale must be finite, scale positive")

    def scores(self, crops) -> np.ndarray:
        """Class scores (N, 5) of the crops."""
        x = (colour_histogram(crops, self.bins) - self.mean) / self.scale
        return x @ self.coef.T + self.intercept

    def predict(self, crops) -> tuple:
        """The kind name of each crop."""
        names = list(KINDS)
        return tuple(names[i] for i in self.scores(crops).argmax(axis=1))

    def save(self, path) -> Path:
        """Write to an ``.npz`` file (no pickle)."""
        path = Path(path)
        config = json.dumps({"format": _HISTOGRAM_FORMAT, "bins": self.bins, "kinds": list(KINDS)})
        np.savez_compressed(path, config=np.array(config), coef=self.coef,
                            intercept=self.intercept, mean=self.mean, scale=self.scale)  # fmt: skip
        return path


# --- Shipped files ------------------------------------------------------------------------

CNN_FILE = "perception_cnn.npz"
"""The shipped kind CNN in ``lib/dlcv/assets`` (``scripts/train_perception.py``)."""

HISTOGRAM_FILE = "perception_histogram.npz"
"""The shipped colour-histogram baseline in ``lib/dlcv/assets``."""

_HISTOGRAM_FORMAT = "dlcv-perception-histogram-1"
_SCRIPT = "scripts/train_perception.py"


def _asset(path, name: str) -> Path:
    if path is None:
        path = importlib.resources.files("dlcv") / "assets" / name
    path = Path(str(path))
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing: run `python {_SCRIPT}` from the "
                                "repository root to make it")  # fmt: skip
    return path


def load_kind_cnn(path=None) -> Sequential:
    """The kind CNN (:func:`kind_cnn`) written by the script (the shipped one by default).

    Refuses a missing file (``FileNotFoundError`` naming the script) and a damaged one
    (``ValueError``: not a readable ``.npz``, not a model of :func:`dlcv.models.save`,
    kinds other than :data:`dlcv.tabletop.KINDS`, a misshapen or non-finite parameter).
    Its ``metadata`` holds how it was made and its validation accuracy.
    """
    path = _asset(path, CNN_FILE)
    try:
        model = load_model(path)
    except (OSError, KeyError, TypeError, zipfile.BadZipFile, EOFError, json.JSONDecodeError,
            ValueError) as err:  # fmt: skip
        raise ValueError(f"{path} is damaged: {err}") from None
    if model.metadata.get("kinds") != list(KINDS):
        raise ValueError(f"{path} is damaged: its kinds {model.metadata.get('kinds')!r} are "
                         f"not {list(KINDS)}")  # fmt: skip
    for i, layer in enumerate(model.layers):
        for name, value in layer.params.items():
            if not np.isfinite(value).all():
                raise ValueError(f"{path} is damaged: parameter {i}.{name} is not finite")
    try:
        out = model.forward(np.zeros((1, 3, CROP_SIZE, CROP_SIZE), dtype=model.dtype))
    except (ValueError, TypeError) as err:
        raise ValueError(f"{path} is damaged: it does not take 16 x 16 crops ({err})") from None
    if out.shape != (1, len(KINDS)):
        raise ValueError(f"{path} is damaged: it gives {out.shape[1]} scores, not {len(KINDS)}")
    return model


def load_histogram_namer(path=None) -> HistogramNamer:
    """The colour-histogram baseline written by :meth:`HistogramNamer.save` (the shipped
    one by default); a missing file is a ``FileNotFoundError``, a damaged one a
    ``ValueError``."""
    path = _asset(path, HISTOGRAM_FILE)
    try:
        with path.open("rb") as f, np.load(f, allow_pickle=False) as data:
            arrays = {k: data[k] for k in data.files}
        config = json.loads(str(arrays["config"]))
    except (OSError, KeyError, ValueError, zipfile.BadZipFile, EOFError) as err:
        raise ValueError(f"{path} is damaged: not a file of HistogramNamer.save ({err})") from None
    if config.get("format") != _HISTOGRAM_FORMAT or config.get("kinds") != list(KINDS):
        raise ValueError(f"{path} is damaged: format {config.get('format')!r}, kinds "
                         f"{config.get('kinds')!r}")  # fmt: skip
    try:
        return HistogramNamer(arrays["coef"], arrays["intercept"], arrays["mean"],
                              arrays["scale"], config["bins"])  # fmt: skip
    except (KeyError, TypeError, ValueError) as err:
        raise ValueError(f"{path} is damaged: {err}") from None


NAMING_FILE = "perception_naming.csv"
"""Kind accuracy of each namer (``scripts/train_perception.py``)."""

NAMING_COLUMNS = ["part", "crops", "namer", "kind", "n", "accuracy",
                  *(f"as_{k}" for k in KINDS)]  # fmt: skip
"""Its columns: the scenes' part (validation, test), the crops (mask, proposal), the
namer (cnn, histogram, colour), the true kind (or "all"), the number of crops, the share
named right and how many were named as each kind (a row of the confusion matrix)."""

PROPOSALS_FILE = "perception_proposals.csv"
"""How well the proposals find the objects (``scripts/train_perception.py``)."""

PROPOSALS_COLUMNS = ["part", "grasp", "scenes", "objects", "found", "missed", "split",
                     "merged", "spurious", "median_cm", "p90_cm", "max_cm"]  # fmt: skip
"""Its columns: the part, the grasp rule, the numbers of scenes and objects, of objects
found, missed and split, of merged and spurious proposals, and the grasp-point error in
``x, y`` over found objects (median, 90th percentile, maximum; cm)."""


def _check_shares(name: str, rows: list[dict]) -> None:
    for number, row in enumerate(rows, start=1):
        counts = [row[f"as_{k}"] for k in KINDS]
        if not 0 <= row["accuracy"] <= 1 or sum(counts) != row["n"]:
            raise ValueError(f"{name} is damaged at row {number}: accuracy {row['accuracy']!r} "
                             f"or counts {counts} that do not sum to n = {row['n']!r}; "
                             f"run {_SCRIPT} again")  # fmt: skip


def load_naming_results(folder=None) -> tuple[list[dict], list[str]]:
    """The rows and header lines of :data:`NAMING_FILE` (package assets by default),
    refused with a ``ValueError`` when damaged (:func:`dlcv.grid.check_rows`, plus an
    accuracy outside [0, 1] or confusion counts that do not add up to ``n``)."""
    [(rows, header)] = read_results([NAMING_FILE], _SCRIPT, folder)
    kinds = {c: ("text",) for c in ("part", "crops", "namer", "kind")}
    check_rows(NAMING_FILE, rows, NAMING_COLUMNS, kinds, _SCRIPT)
    _check_shares(NAMING_FILE, rows)
    return rows, header


def load_proposal_results(folder=None) -> tuple[list[dict], list[str]]:
    """The rows and header lines of :data:`PROPOSALS_FILE`, refused when damaged."""
    [(rows, header)] = read_results([PROPOSALS_FILE], _SCRIPT, folder)
    kinds = {c: ("text",) for c in ("part", "grasp")}
    check_rows(PROPOSALS_FILE, rows, PROPOSALS_COLUMNS, kinds, _SCRIPT)
    for number, row in enumerate(rows, start=1):
        if row["found"] + row["missed"] > row["objects"] or row["median_cm"] > row["p90_cm"]:
            raise ValueError(f"{PROPOSALS_FILE} is damaged at row {number}: counts or "
                             f"percentiles out of order; run {_SCRIPT} again")  # fmt: skip
    return rows, header
