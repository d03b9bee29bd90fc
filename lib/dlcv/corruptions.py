"""Distribution shift for digit images: rotated, blurred, noisy, inverted and thickened digits.

A network trained on clean MNIST digits meets other digits in the world. This module
makes five of those shifts, each with one number, its *severity*, so that a chapter can
sweep it and plot accuracy (and calibration, :mod:`dlcv.calibration`) against it. The
idea follows MNIST-C (Mu & Gilmer, 2019, "MNIST-C: A Robustness Benchmark for Computer
Vision", arXiv:1906.02337), which corrupts MNIST's test digits in 15 ways; the five here
are simple versions of some of them, each a thin, tested wrapper around SciPy:

============  =================================================  ==========================
``kind``      what ``severity`` means                            computed with
============  =================================================  ==========================
``rotate``    degrees, counter-clockwise on screen               ``scipy.ndimage.rotate``
``blur``      standard deviation (sigma) of a Gaussian, pixels   ``ndimage.gaussian_filter``
``noise``     standard deviation of added Gaussian noise         ``numpy.random.Generator``
``invert``    blend weight toward ``1 - x``: 0 none, 1 inverted  arithmetic
``thicken``   side of the square of a grey dilation, pixels      ``ndimage.grey_dilation``
============  =================================================  ==========================

The exact calls (per image, never across the batch):

* rotate: ``ndimage.rotate(image, severity, reshape=False, order=1, mode="grid-constant",
  cval=0)`` -- bilinear, about the image's centre, black comes in at the corners;
  ``rotate`` by 90 equals ``np.rot90`` on a square image (up to rounding);
* blur: ``ndimage.gaussian_filter(image, severity)`` (SciPy's defaults: ``mode="reflect"``,
  ``truncate=4.0``), the same sigma along both axes;
* noise: ``image + rng.normal(0, severity, images.shape)`` (drawn in float64 for the whole
  array at once), then clipped to [0, 1] -- so the measured spread of strong noise is
  *smaller* than ``severity``;
* invert: ``(1 - severity) * image + severity * (1 - image)``; 0.5 turns every pixel grey
  (0.5): the digit is gone, and above 0.5 it comes back, white on black becoming black
  on white;
* thicken: ``ndimage.grey_dilation(image, size=(severity, severity))``, every pixel takes
  the brightest value of the ``severity`` x ``severity`` square around it; an even size
  has no centre pixel, so it also moves the strokes by half a pixel up and left.

Every result is clipped to [0, 1] (a no-op except for noise and rounding). Severity 0
(1 for ``thicken``) returns a copy of the images, bit for bit.

Images are grey, floating point, in [0, 1], as :func:`dlcv.data.load_mnist` gives them:
one ``(H, W)``, a batch ``(N, H, W)`` or a batch for a network ``(N, 1, H, W)``. The
result has the input's shape and dtype.

>>> import numpy as np
>>> from dlcv.corruptions import CORRUPTIONS, SEVERITIES, corrupt
>>> bar = np.zeros((5, 5), np.float32)
>>> bar[1:4, 2] = 1.0  # a short vertical stroke
>>> corrupt(bar, "rotate", 90).round(6)  # now lying
array([[0., 0., 0., 0., 0.],
       [0., 0., 0., 0., 0.],
       [0., 1., 1., 1., 0.],
       [0., 0., 0., 0., 0.],
       [0., 0., 0., 0., 0.]], dtype=float32)
>>> corrupt(bar, "thicken", 3)  # three pixels wide
array([[0., 1., 1., 1., 0.],
       [0., 1., 1., 1., 0.],
       [0., 1., 1., 1., 0.],
       [0., 1., 1., 1., 0.],
       [0., 1., 1., 1., 0.]], dtype=float32)
>>> corrupt(bar, "invert", 1.0)[2]
array([1., 1., 0., 1., 1.], dtype=float32)
>>> SEVERITIES["blur"].sweep
(0.0, 0.5, 1.0, 1.5, 2.0, 3.0)
>>> np.array_equal(corrupt(bar, "noise", 0.2, rng=1), corrupt(bar, "noise", 0.2, rng=1))
True
"""

from __future__ import annotations

import math
import numbers
from typing import NamedTuple

import numpy as np
from scipy import ndimage

from dlcv.validate import as_float_array, check_choice, generator

__all__ = ["CORRUPTIONS", "SEVERITIES", "Severity", "corrupt"]

CORRUPTIONS: tuple[str, ...] = ("rotate", "blur", "noise", "invert", "thicken")
"""The names :func:`corrupt` accepts as ``kind``."""


class Severity(NamedTuple):
    """What the severity of one corruption means, and values to sweep it over."""

    meaning: str
    """What the number is, with its unit."""
    identity: float
    """The severity that leaves images unchanged."""
    sweep: tuple[float, ...]
    """A default sweep, from no corruption to a strong one (increasing)."""
    maximum: float
    """The largest severity allowed (``math.inf`` when there is none)."""


SEVERITIES: dict[str, Severity] = {
    "rotate": Severity(
        "rotation in degrees, counter-clockwise", 0.0, (0.0, 15.0, 30.0, 45.0, 60.0, 90.0), math.inf
    ),
    "blur": Severity(
        "Gaussian blur, standard deviation in pixels", 0.0, (0.0, 0.5, 1.0, 1.5, 2.0, 3.0), math.inf
    ),
    "noise": Severity(
        "standard deviation of Gaussian noise added to [0, 1] pixels (then clipped)",
        0.0,
        (0.0, 0.1, 0.2, 0.3, 0.4, 0.6),
        math.inf,
    ),
    "invert": Severity(
        "blend weight toward the inverted image 1 - x (0.5 erases the digit)",
        0.0,
        (0.0, 0.25, 0.5, 0.75, 1.0),
        1.0,
    ),
    "thicken": Severity(
        "side of the square of a grey dilation in pixels (an int, 1 = unchanged)",
        1,
        (1, 2, 3, 4, 5),
        math.inf,
    ),
}
"""For each corruption, what its severity means and a sensible sweep (see :class:`Severity`)."""

_LAYOUT = "(H, W), (N, H, W) or (N, 1, H, W)"


# --------------------------------------------------------------------------- checks
def _check_images(images) -> np.ndarray:
    """``images`` as an array of its own floating dtype after checking it."""
    as_float_array(images, "images", (2, 3, 4), _LAYOUT)  # numeric, 2-4 D, not empty
    arr = np.asarray(images)
    if arr.dtype.kind != "f":
        raise TypeError(
            f"images must be floating point with values in [0, 1] (as load_mnist gives them), "
            f"got dtype {arr.dtype} with shape {arr.shape}; for 8-bit images use images / 255"
        )
    if arr.ndim == 4 and arr.shape[1] != 1:
        raise ValueError(
            f"images of shape (N, 1, H, W) must have one (grey) channel, got shape {arr.shape}"
            + ("; channels last? use images.transpose(0, 3, 1, 2)" if arr.shape[3] == 1 else "")
        )
    if not np.isfinite(arr).all():
        raise ValueError(
            f"images must be finite, got {np.count_nonzero(~np.isfinite(arr))} NaN or "
            f"infinite values in shape {arr.shape}"
        )
    low, high = arr.min(), arr.max()
    if low < 0 or high > 1:
        raise ValueError(
            f"images must hold values in [0, 1], got values from {low:g} to {high:g} "
            f"in shape {arr.shape}"
        )
    return arr


def _check_severity(kind: str, severity):
    """``severity`` as a float (an int for thicken) after checking it for ``kind``."""
    spec = SEVERITIES[kind]
    if kind == "thicken":
        if not isinstance(severity, numbers.Integral) or isinstance(severity, (bool, np.bool_)):
            raise TypeError(
                f"severity of 'thicken' must be an integer ({spec.meaning}), got {severity!r}"
            )
        if severity < 1:
            raise ValueError(
                f"severity of 'thicken' must be at least 1 ({spec.meaning}), got {severity!r}"
            )
        return int(severity)
    if not isinstance(severity, numbers.Real) or isinstance(severity, (bool, np.bool_)):
        raise TypeError(
            f"severity of {kind!r} must be a real number ({spec.meaning}), got "
            f"{type(severity).__name__} {severity!r}"
        )
    if not math.isfinite(severity) or not 0 <= severity <= spec.maximum:
        allowed = "from 0 to 1" if spec.maximum == 1 else "finite and >= 0"
        raise ValueError(
            f"severity of {kind!r} must be {allowed} ({spec.meaning}), got {severity!r}"
        )
    return float(severity)


# ---------------------------------------------------------------------- corruptions
def _per_image(batch: np.ndarray, fn) -> np.ndarray:
    """Apply ``fn`` to every image of ``batch`` (N, H, W)."""
    out = np.empty_like(batch)
    for i, image in enumerate(batch):
        out[i] = fn(image)
    return out


def _rotate(batch, angle, rng):
    return _per_image(
        batch,
        lambda im: ndimage.rotate(
            im, angle, reshape=False, order=1, mode="grid-constant", cval=0.0
        ),
    )


def _blur(batch, sigma, rng):
    return _per_image(batch, lambda im: ndimage.gaussian_filter(im, sigma))


def _noise(batch, std, rng):
    return batch + rng.normal(0.0, std, size=batch.shape)


def _invert(batch, weight, rng):
    return (1 - weight) * batch + weight * (1 - batch)


def _thicken(batch, size, rng):
    return _per_image(batch, lambda im: ndimage.grey_dilation(im, size=(size, size)))


_FUNCTIONS = {
    "rotate": _rotate,
    "blur": _blur,
    "noise": _noise,
    "invert": _invert,
    "thicken": _thicken,
}


def corrupt(images, kind: str, severity, rng=0) -> np.ndarray:
    """Corrupt grey images in one of the ways of :data:`CORRUPTIONS`.

    Parameters
    ----------
    images : ndarray, shape (H, W), (N, H, W) or (N, 1, H, W)
        Grey images, floating point (float16, float32 or float64), values in [0, 1],
        finite.
    kind : str
        One of :data:`CORRUPTIONS`: ``"rotate"``, ``"blur"``, ``"noise"``, ``"invert"``
        or ``"thicken"``.
    severity : float (int for ``"thicken"``)
        How strong, in the unit of the corruption (:data:`SEVERITIES`, the module's
        table): degrees for rotate, sigma in pixels for blur, the noise's standard
        deviation, a weight from 0 to 1 for invert, a square's side in pixels (>= 1)
        for thicken. Never negative.
    rng : None, int or numpy.random.Generator, default 0
        Seed or generator for ``"noise"`` (the other kinds draw nothing): the same seed
        gives the same noise. ``None`` draws fresh entropy.

    Returns
    -------
    ndarray, same shape and dtype as ``images``
        The corrupted images, values in [0, 1]; a new array (the input is not changed).
        Severity 0 (1 for thicken) returns an exact copy.

    Raises
    ------
    TypeError
        Non-numeric or integer ``images``, a ``kind`` that is not a string, a
        ``severity`` that is not a number (or not an integer for thicken), a bad ``rng``.
    ValueError
        An unknown ``kind`` (the message lists :data:`CORRUPTIONS`), a negative or
        non-finite ``severity`` (above 1 for invert), ``images`` of another shape, with
        NaN or values outside [0, 1].

    Examples
    --------
    >>> import numpy as np
    >>> digits = np.zeros((2, 1, 28, 28), np.float32)
    >>> digits[:, :, 8:20, 13:15] = 1.0
    >>> blurred = corrupt(digits, "blur", 1.5)
    >>> blurred.shape, blurred.dtype, bool(blurred.max() < 1)
    ((2, 1, 28, 28), dtype('float32'), True)
    >>> corrupt(digits, "sharpen", 1)
    Traceback (most recent call last):
        ...
    ValueError: kind must be one of ('rotate', 'blur', 'noise', 'invert', 'thicken'), got 'sharpen'
    """
    if not isinstance(kind, str):
        raise TypeError(f"kind must be a string, one of {CORRUPTIONS}, got {kind!r}")
    check_choice(kind, "kind", CORRUPTIONS)
    severity = _check_severity(kind, severity)
    rng = generator(rng)
    arr = _check_images(images)
    if severity == SEVERITIES[kind].identity:
        return arr.copy()
    work = arr.astype(np.float32) if arr.dtype.itemsize < 4 else arr  # SciPy has no float16
    batch = work.reshape((-1, *work.shape[-2:]))  # (N, H, W); a view, (N, 1) merged
    out = _FUNCTIONS[kind](batch, severity, rng)
    return np.clip(out, 0.0, 1.0).astype(arr.dtype, copy=False).reshape(arr.shape)
