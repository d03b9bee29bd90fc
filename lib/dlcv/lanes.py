"""Finding the lane: the classical pipeline and a small CNN, scored in pixels and metres.

The classical pipeline is the one every driving course starts with: grey levels, Canny
edges, a region of interest below the horizon, Hough line segments, and a straight line
per lane boundary fitted to the segments of the right slope nearest the image centre.
:func:`birds_eye` warps the road to a top-down view with the projective transform that
the camera model gives, where lanes are parallel and distances read in metres.

The CNN reads the whole frame and regresses the column of each boundary at the
distances of :data:`dlcv.scenes.LANE_DISTANCES`; :func:`lane_loss` is its masked squared
error, with its gradient (checked numerically in the tests).

>>> from dlcv.scenes import random_scene
>>> frame = random_scene(3, "validation", condition="clean", objects=False)
>>> estimate = hough_lanes(frame.image, frame.camera)   # (left, right) x 5 distances
>>> bool(np.nanmax(np.abs(estimate - frame.lane_points())) < 1)   # pixels
True
"""

from __future__ import annotations

import functools
import numbers
from dataclasses import dataclass

import cv2
import numpy as np

from dlcv.layers import Conv2D, Dense, Flatten, MaxPool2D, ReLU, Sequential
from dlcv.scenes import CAMERA, LANE_DISTANCES, Camera
from dlcv.validate import as_float_array, check_int

__all__ = [
    "HOUGH_DEFAULTS",
    "HoughSettings",
    "birds_eye",
    "cnn_input",
    "cnn_lanes",
    "hough_lanes",
    "hough_segments",
    "lane_cnn",
    "lane_errors",
    "lane_loss",
    "lane_targets",
    "load_hough_settings",
    "load_lane_cnn",
]


@dataclass(frozen=True)
class HoughSettings:
    """The classical pipeline's choices (chosen on validation scenes by the script).

    ``canny``: low and high thresholds on 8-bit grey gradients; ``votes``, ``min_length``,
    ``max_gap``: ``cv2.HoughLinesP``'s threshold, shortest segment and largest gap
    (pixels); ``min_slope``: the smallest ``|du/dv|`` kept (flatter segments are shadows
    and cars, not lanes); ``margin``: rows below the horizon left out of the region of
    interest."""

    canny: tuple[int, int] = (50, 150)
    votes: int = 12
    min_length: int = 8
    max_gap: int = 4
    slopes: tuple[float, float] = (0.3, 2.5)
    margin: int = 3


HOUGH_DEFAULTS = HoughSettings()


def _image(image) -> np.ndarray:
    arr = as_float_array(image, "image", (3,), "(H, W, 3)")
    if arr.shape[2] != 3:
        raise ValueError(f"image must be RGB with shape (H, W, 3), got {arr.shape}")
    return arr


def hough_segments(image, camera: Camera = CAMERA, settings: HoughSettings = HOUGH_DEFAULTS):
    """The classical pipeline's steps: ``(grey, edges, region, segments)``.

    ``segments`` is ``(N, 4)`` of ``(u1, v1, u2, v2)`` end points in pixel coordinates
    (pixel centres at ``+ 0.5``), Hough segments inside the region of interest: the road
    below the horizon, a trapezoid widening towards the bottom of the frame."""
    rgb = _image(image)
    if rgb.shape[:2] != tuple(camera.size):
        raise ValueError(f"image has shape {rgb.shape[:2]}, the camera's frames {camera.size}")
    grey = cv2.cvtColor((np.clip(rgb, 0, 1) * 255).astype(np.uint8), cv2.COLOR_RGB2GRAY)
    edges = cv2.Canny(grey, *settings.canny)
    h, w = grey.shape
    top = int(np.ceil(camera.horizon)) + settings.margin
    corners = np.array([[0, h], [w * 0.35, top], [w * 0.65, top], [w, h]], dtype=np.int32)
    region = np.zeros_like(edges)
    cv2.fillPoly(region, [corners], 255)
    region[:top] = 0
    edges = edges & region
    lines = cv2.HoughLinesP(
        edges, 1, np.pi / 180, settings.votes, minLineLength=settings.min_length,
        maxLineGap=settings.max_gap,
    )  # fmt: skip
    segments = np.zeros((0, 4)) if lines is None else lines[:, 0, :].astype(float) + 0.5
    return grey, edges, region, segments


def _fit_side(segments: np.ndarray, side: int, centre: float, bottom: float, tolerance=10.0):
    """A line ``u = a v + b`` through the segments of one side (-1 left, 1 right) whose
    extension meets the bottom row nearest the centre, with those within ``tolerance``."""
    if len(segments) == 0:
        return None
    u1, v1, u2, v2 = segments.T
    at_bottom = u1 + (u2 - u1) / (v2 - v1) * (bottom - v1)
    plausible = side * (at_bottom - centre) > -tolerance  # on its own side of the centre
    if not plausible.any():
        return None
    nearest = at_bottom[plausible][np.argmin(side * at_bottom[plausible])]
    near = plausible & (np.abs(at_bottom - nearest) < tolerance)
    length = np.hypot(u2 - u1, v2 - v1)[near]
    v = np.concatenate([v1[near], v2[near]])
    u = np.concatenate([u1[near], u2[near]])
    if np.ptp(v) < 2:
        return None
    a, b = np.polyfit(v, u, 1, w=np.sqrt(np.concatenate([length, length])))
    return a, b


def hough_lanes(image, camera: Camera = CAMERA, settings: HoughSettings = HOUGH_DEFAULTS,
                distances=LANE_DISTANCES) -> np.ndarray:  # fmt: skip
    """Columns ``u`` of the left and right lane boundaries at ``distances`` ahead, ``(2, D)``.

    NaN for a side where no segment of the right slope was found: the pipeline says it does
    not know, and the scoring counts that as a miss."""
    _, _, _, segments = hough_segments(image, camera, settings)
    out = np.full((2, len(distances)), np.nan)
    if len(segments):
        u1, v1, u2, v2 = segments.T
        with np.errstate(divide="ignore", invalid="ignore"):
            slope = (u2 - u1) / (v2 - v1)
        steep = np.isfinite(slope) & (np.abs(slope) >= settings.slopes[0])
        steep &= np.abs(slope) <= settings.slopes[1]
        segments, slope = segments[steep], slope[steep]
        rows = camera.row(np.asarray(distances, dtype=float))
        cx, bottom = camera.centre[0], float(camera.size[0])
        for side, keep in ((0, slope < 0), (1, slope > 0)):
            fit = _fit_side(segments[keep], -1 if side == 0 else 1, cx, bottom)
            if fit is not None:
                out[side] = fit[0] * rows + fit[1]
    return out


def birds_eye(image, camera: Camera = CAMERA, lateral=(-6.0, 6.0), ahead=(4.0, 40.0),
              resolution: float = 0.1) -> np.ndarray:  # fmt: skip
    """The road seen from above: ``image`` warped so that a pixel is ``resolution`` metres.

    Rows run from ``ahead[1]`` (top) to ``ahead[0]`` (bottom) metres, columns from
    ``lateral[0]`` to ``lateral[1]``. The warp is the homography between the road plane
    and the image that :class:`~dlcv.scenes.Camera` defines (4 road points projected and
    ``cv2.getPerspectiveTransform``), so parallel lane lines come out parallel."""
    rgb = _image(image)
    if not isinstance(resolution, numbers.Real) or resolution <= 0:
        raise ValueError(f"resolution must be > 0 metres per pixel, got {resolution!r}")
    (x0, x1), (z0, z1) = lateral, ahead
    world = np.array([[x0, 0, z1], [x1, 0, z1], [x1, 0, z0], [x0, 0, z0]], dtype=float)
    src = camera.project(world).astype(np.float32)
    cols, rows = round((x1 - x0) / resolution), round((z1 - z0) / resolution)
    dst = np.array([[0, 0], [cols, 0], [cols, rows], [0, rows]], dtype=np.float32)
    matrix = cv2.getPerspectiveTransform(src, dst)
    return cv2.warpPerspective(rgb.astype(np.float32), matrix, (cols, rows), flags=cv2.INTER_LINEAR)


# --- the CNN --------------------------------------------------------------------------------


def lane_cnn(rng=0, width: int = 8) -> Sequential:
    """A small CNN from a 48 x 64 RGB frame (half size) to 2 x 5 boundary columns.

    Three 3x3 convolutions with 2x2 max pooling, then two dense layers; the outputs are
    ``(u - cx) / W`` of the left then the right boundary at each of :data:`LANE_DISTANCES`."""
    width = check_int(width, "width", 1)
    rng = np.random.default_rng(rng)
    n_out = 2 * len(LANE_DISTANCES)
    return Sequential([
        Conv2D(3, width, 3, padding=1, rng=rng), ReLU(), MaxPool2D(2),
        Conv2D(width, 2 * width, 3, padding=1, rng=rng), ReLU(), MaxPool2D(2),
        Conv2D(2 * width, 4 * width, 3, padding=1, rng=rng), ReLU(), MaxPool2D(2),
        Flatten(), Dense(4 * width * 6 * 8, 64, rng=rng), ReLU(), Dense(64, n_out, rng=rng),
    ])  # fmt: skip


def cnn_input(images: np.ndarray) -> np.ndarray:
    """The CNN's input: ``(N, 3, H, W)`` frames averaged over 2x2 blocks, float32."""
    n, c, h, w = images.shape
    return images.reshape(n, c, h // 2, 2, w // 2, 2).mean(axis=(3, 5), dtype=np.float32)


def lane_targets(frames, distances=LANE_DISTANCES) -> np.ndarray:
    """The CNN's targets for ``frames``: ``(N, 2 * D)`` of ``(u - cx) / W``, NaN where a
    boundary is out of the frame (the loss leaves those out)."""
    rows = []
    for f in frames:
        cx, w = f.camera.centre[0], f.camera.size[1]
        rows.append(((f.lane_points(distances) - cx) / w).reshape(-1))
    return np.array(rows)


def lane_loss(output: np.ndarray, targets: np.ndarray) -> tuple[float, np.ndarray]:
    """Mean squared error over the defined targets (NaN targets are left out), and its
    gradient for ``output``: ``2 (output - target) / n_defined`` where defined, else 0."""
    output = np.asarray(output)
    targets = np.asarray(targets)
    if output.shape != targets.shape:
        raise ValueError(
            f"output {output.shape} and targets {targets.shape} must have the same shape"
        )
    defined = np.isfinite(targets)
    n = max(int(defined.sum()), 1)
    diff = np.where(defined, output - np.where(defined, targets, 0.0), 0.0)
    with np.errstate(over="ignore"):  # an overflowing loss is inf: the trainer reports it
        return float((diff**2).sum() / n), (2.0 * diff / n).astype(output.dtype)


def cnn_lanes(model: Sequential, images, camera: Camera = CAMERA) -> np.ndarray:
    """Boundary columns predicted by ``model`` for frames ``(N, 3, H, W)`` or one
    ``(H, W, 3)`` frame: ``(N, 2, D)`` (or ``(2, D)``)."""
    arr = np.asarray(images, dtype=np.float32)
    single = arr.ndim == 3
    if single:
        arr = _image(arr).astype(np.float32).transpose(2, 0, 1)[None]
    if arr.ndim != 4 or arr.shape[1:] != (3, *camera.size):
        raise ValueError(
            f"images must have shape (N, 3, {camera.size[0]}, {camera.size[1]}), got {arr.shape}"
        )
    model.eval()
    out = np.concatenate(
        [model.forward(cnn_input(arr[i : i + 256])) for i in range(0, len(arr), 256)]
    )
    u = out.reshape(len(arr), 2, -1) * camera.size[1] + camera.centre[0]
    return u[0] if single else u


@functools.cache
def _load_lane_cnn() -> Sequential:
    from importlib.resources import files

    from dlcv.models import load

    return load(files("dlcv") / "assets" / "lane_cnn.npz")


def load_lane_cnn() -> Sequential:
    """The lane CNN trained by ``scripts/lane_experiment.py`` (cached; evaluation mode)."""
    return _load_lane_cnn().eval()


def load_hough_settings() -> HoughSettings:
    """The Hough settings ``scripts/lane_experiment.py`` chose on validation frames: the best
    row of its grid (``lane_hough_grid.csv``; the first of equal rows, as the script keeps)."""
    from importlib.resources import files

    from dlcv.grid import read_csv

    rows, _ = read_csv(files("dlcv") / "assets" / "lane_hough_grid.csv")
    best = max(rows, key=lambda r: r["validation_within"])  # max keeps the first of ties
    low, high = (int(t) for t in str(best["canny"]).strip("()").split(","))
    return HoughSettings(
        canny=(low, high),
        votes=int(best["votes"]),
        min_length=int(best["min_length"]),
        max_gap=int(best["max_gap"]),
    )


def lane_errors(predicted, frames, distances=LANE_DISTANCES) -> tuple[np.ndarray, np.ndarray]:
    """Errors of predicted boundary columns ``(N, 2, D)`` against the frames' labels:
    ``(pixels, metres)``, each ``(N, 2, D)``, absolute, NaN where the method gave no
    answer or the boundary is out of the frame. Metres are sideways on the road, through
    the camera model (:meth:`~dlcv.scenes.Camera.metres_per_pixel` at each distance)."""
    predicted = np.asarray(predicted, dtype=float)
    if predicted.shape != (len(frames), 2, len(distances)):
        raise ValueError(
            f"predicted must have shape {(len(frames), 2, len(distances))}, got {predicted.shape}"
        )
    truth = np.stack([f.lane_points(distances) for f in frames])
    pixels = np.abs(predicted - truth)
    per_pixel = np.stack(
        [f.camera.metres_per_pixel(f.camera.row(np.asarray(distances))) for f in frames]
    )
    return pixels, pixels * per_pixel[:, None, :]
