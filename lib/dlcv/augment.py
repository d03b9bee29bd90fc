"""Data augmentation on real images: flips, rotations, crops, shifts, scaling,
brightness/contrast, noise and cutout, composable into a seeded pipeline.

Layouts
-------
Every function takes one image or a batch. The ``layout`` argument names the axes:

============  =====================================  ===============================
``layout``    array                                  used for
============  =====================================  ===============================
``"HW"``      one grey image ``(H, W)``              default for 2-D arrays
``"HWC"``     one colour image ``(H, W, C)``         default for 3-D arrays (photos,
                                                     as in scikit-image/Matplotlib)
``"NHW"``     a batch of grey images ``(N, H, W)``   must be asked for (3-D is HWC)
``"NCHW"``    a batch for a network ``(N, C, H, W)`` default for 4-D arrays
``"NHWC"``    a batch of colour photos               must be asked for
============  =====================================  ===============================

The output has the input's shape and layout. Random transforms draw one set of
parameters per image (shared by its channels).

Values
------
Floating images keep their dtype; integer images (e.g. ``uint8``) are first converted
to floats in [0, 1] with ``skimage.util.img_as_float``. Transforms that change values
(brightness, contrast, noise) clip to ``clip=(0, 1)`` by default; pass ``clip=None``
for data in another range. Geometric transforms fill uncovered pixels with ``fill``.

Directions
----------
``rotate(image, angle)`` turns the picture counter-clockwise by ``angle`` degrees
about its centre, as seen on screen; ``rotate(image, 90)`` equals ``np.rot90(image)``
for a square image. (Transposing an image is *not* a rotation: it reflects the
picture about its diagonal.)

>>> import numpy as np
>>> from dlcv.augment import Compose, RandomFlip, RandomRotation, rotate
>>> image = np.arange(16.0).reshape(4, 4) / 15
>>> np.allclose(rotate(image, 90), np.rot90(image))
True
>>> pipeline = Compose([RandomFlip(), RandomRotation(15)])
>>> np.array_equal(pipeline(image, rng=0), pipeline(image, rng=0))
True
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence

import numpy as np
from scipy import ndimage
from skimage.util import img_as_float

from dlcv.validate import check_int, generator, int_pair

__all__ = [
    "LAYOUTS",
    "Compose",
    "Cutout",
    "GaussianNoise",
    "RandomApply",
    "RandomBrightness",
    "RandomContrast",
    "RandomCrop",
    "RandomFlip",
    "RandomRotation",
    "RandomScale",
    "RandomTranslation",
    "adjust_brightness",
    "adjust_contrast",
    "crop",
    "cutout",
    "gaussian_noise",
    "hflip",
    "rotate",
    "scale",
    "translate",
    "vflip",
]

LAYOUTS = ("HW", "HWC", "NHW", "NCHW", "NHWC")
_DEFAULT_LAYOUT = {2: "HW", 3: "HWC", 4: "NCHW"}
# Axes of each layout, in the canonical order (N, C, H, W); None = axis to add.
_TO_NCHW = {"HW": "..HW", "HWC": ".CHW", "NHW": "N.HW", "NCHW": "NCHW", "NHWC": "NCHW"}


# ------------------------------------------------------------------ layouts
def _to_batch(images, layout):
    """Return ``(batch (N, C, H, W) float, layout)`` after validating ``images``."""
    if not isinstance(images, np.ndarray):
        raise TypeError(f"images must be a NumPy array, got {type(images).__name__}")
    if images.dtype.kind not in "biuf":
        raise TypeError(f"images must be numeric, got dtype {images.dtype}")
    if layout is None:
        if images.ndim not in _DEFAULT_LAYOUT:
            raise ValueError(
                f"images must be 2-D (H, W), 3-D (H, W, C) or 4-D (N, C, H, W), got "
                f"shape {images.shape}"
            )
        layout = _DEFAULT_LAYOUT[images.ndim]
    if layout not in LAYOUTS:
        raise ValueError(f"layout must be one of {LAYOUTS}, got {layout!r}")
    if images.ndim != len(layout):
        raise ValueError(
            f"layout {layout!r} needs a {len(layout)}-D array, got shape {images.shape}"
        )
    if images.size == 0:
        raise ValueError(f"images must not be empty, got shape {images.shape}")
    x = images if images.dtype.kind == "f" else img_as_float(images)
    if layout == "HW":
        x = x[None, None]
    elif layout == "HWC":
        x = x.transpose(2, 0, 1)[None]
    elif layout == "NHW":
        x = x[:, None]
    elif layout == "NHWC":
        x = x.transpose(0, 3, 1, 2)
    return x, layout


def _from_batch(x, layout):
    """Inverse of :func:`_to_batch`."""
    if layout == "HW":
        return x[0, 0]
    if layout == "HWC":
        return x[0].transpose(1, 2, 0)
    if layout == "NHW":
        return x[:, 0]
    if layout == "NHWC":
        return x.transpose(0, 2, 3, 1)
    return x


def _per_image(value, n, name):
    """Broadcast a scalar or a length-N sequence to an array of N values."""
    arr = np.asarray(value, dtype=float)
    if arr.ndim == 0:
        arr = np.full(n, float(arr))
    if arr.shape[0] != n:
        raise ValueError(f"{name} must be one value or one per image ({n}), got {arr.shape[0]}")
    if not np.isfinite(arr).all():
        raise ValueError(f"{name} must be finite, got {value!r}")
    return arr


def _clip(x, clip):
    if clip is None:
        return x
    low, high = clip
    if not low < high:
        raise ValueError(f"clip must be (low, high) with low < high, got {clip!r}")
    return np.clip(x, low, high, out=x)


def _map_images(images, layout, fn, *per_image):
    """Apply ``fn(image (C, H, W), *params)`` to every image of the batch."""
    x, layout = _to_batch(images, layout)
    out = np.empty_like(x, dtype=x.dtype)
    for i in range(len(x)):
        out[i] = fn(x[i], *(p[i] for p in per_image))
    return _from_batch(out, layout)


# ------------------------------------------------------------------ deterministic transforms
def hflip(images, layout=None):
    """Mirror left-right (reverse the width axis). ``hflip(hflip(x)) == x``."""
    x, layout = _to_batch(images, layout)
    return _from_batch(x[..., ::-1].copy(), layout)


def vflip(images, layout=None):
    """Mirror top-bottom (reverse the height axis). ``vflip(vflip(x)) == x``."""
    x, layout = _to_batch(images, layout)
    return _from_batch(x[..., ::-1, :].copy(), layout)


def rotate(images, angle, *, order: int = 1, fill: float = 0.0, layout=None):
    """Rotate counter-clockwise by ``angle`` degrees about the centre, keeping the size.

    Parameters
    ----------
    images : ndarray
        One image or a batch (see the module's layouts).
    angle : float or sequence of float
        Degrees, one for all images or one per image.
    order : int
        Spline order of the interpolation (0 nearest, 1 bilinear, 3 cubic).
    fill : float
        Value of the corners that come from outside the picture.
    layout : str, optional

    Returns
    -------
    ndarray, same shape as ``images``
        Uses ``scipy.ndimage.rotate``; a multiple of 90 degrees on a square image is
        exact (``rotate(x, 90) == np.rot90(x)``).
    """
    _check_order(order)

    def one(img, a):
        return ndimage.rotate(
            img, a, axes=(2, 1), reshape=False, order=order, mode="grid-constant", cval=fill
        )

    n = _to_batch(images, layout)[0].shape[0]
    return _map_images(images, layout, one, _per_image(angle, n, "angle"))


def translate(images, shift, *, order: int = 1, fill: float = 0.0, layout=None):
    """Shift the picture by ``shift = (dy, dx)`` pixels (down and right are positive).

    ``shift`` may also be an array ``(N, 2)``, one shift per image. Integer shifts
    move pixels exactly; fractional ones interpolate (``order``).
    """
    _check_order(order)
    x, _ = _to_batch(images, layout)
    shifts = np.asarray(shift, dtype=float)
    shifts = np.broadcast_to(shifts, (len(x), 2)) if shifts.shape == (2,) else shifts
    if shifts.shape != (len(x), 2) or not np.isfinite(shifts).all():
        raise ValueError(
            f"shift must be (dy, dx) or one finite pair per image ({len(x)}, 2), "
            f"got {np.shape(shift)}"
        )

    def one(img, s):
        return ndimage.shift(img, (0, *s), order=order, mode="grid-constant", cval=fill)

    return _map_images(images, layout, one, shifts)


def crop(images, top: int, left: int, height: int, width: int, layout=None):
    """Cut the window ``[top:top+height, left:left+width]`` out of every image.

    Raises ``ValueError`` if the window does not lie inside the image.
    """
    x, layout = _to_batch(images, layout)
    h, w = x.shape[2:]
    for name, value in (("top", top), ("left", left), ("height", height), ("width", width)):
        check_int(value, name)
    if height < 1 or width < 1 or top < 0 or left < 0 or top + height > h or left + width > w:
        raise ValueError(
            f"crop window top={top}, left={left}, height={height}, width={width} "
            f"does not fit in an image of {h}x{w}"
        )
    return _from_batch(x[:, :, top : top + height, left : left + width].copy(), layout)


def scale(images, factor, *, order: int = 1, fill: float = 0.0, layout=None):
    """Zoom about the centre by ``factor`` (> 1 enlarges), keeping the image size.

    ``factor`` is one positive number or one per image. Parts that leave the frame
    are cut off; parts that enter it from outside are ``fill``.
    """
    _check_order(order)
    x, _ = _to_batch(images, layout)
    factors = _per_image(factor, len(x), "factor")
    if (factors <= 0).any():
        raise ValueError(f"factor must be positive, got {factor!r}")
    centre = (np.array(x.shape[2:]) - 1) / 2

    def one(img, f):
        # output pixel p samples input pixel centre + (p - centre) / f
        return ndimage.affine_transform(
            img,
            (1, 1 / f, 1 / f),
            offset=(0, *(centre - centre / f)),
            order=order,
            mode="grid-constant",
            cval=fill,
        )

    return _map_images(images, layout, one, factors)


def adjust_brightness(images, delta, *, clip=(0.0, 1.0), layout=None):
    """Add ``delta`` (one value or one per image) to every pixel, then clip."""
    x, layout = _to_batch(images, layout)
    deltas = _per_image(delta, len(x), "delta").astype(x.dtype)
    return _from_batch(_clip(x + deltas[:, None, None, None], clip), layout)


def adjust_contrast(images, factor, *, clip=(0.0, 1.0), layout=None):
    """Stretch each image about its mean: ``mean + factor * (x - mean)``, then clip.

    ``factor`` < 1 lowers the contrast, > 1 raises it, 0 gives a flat grey image.
    """
    x, layout = _to_batch(images, layout)
    factors = _per_image(factor, len(x), "factor")
    if (factors < 0).any():
        raise ValueError(f"factor must be >= 0, got {factor!r}")
    mean = x.mean(axis=(1, 2, 3), keepdims=True)
    out = mean + factors.astype(x.dtype)[:, None, None, None] * (x - mean)
    return _from_batch(_clip(out.astype(x.dtype, copy=False), clip), layout)


def gaussian_noise(images, sigma: float, rng=None, *, clip=(0.0, 1.0), layout=None):
    """Add independent ``N(0, sigma^2)`` noise to every pixel, then clip.

    ``rng`` is an int seed or a ``numpy.random.Generator``.
    """
    if not (isinstance(sigma, numbers.Real) and sigma >= 0):
        raise ValueError(f"sigma must be a number >= 0, got {sigma!r}")
    x, layout = _to_batch(images, layout)
    noise = generator(rng).normal(0.0, sigma, size=x.shape).astype(x.dtype)
    return _from_batch(_clip(x + noise, clip), layout)


def cutout(images, top, left, size, *, fill: float = 0.0, layout=None):
    """Paint a ``size`` x ``size`` square (``size`` int or ``(h, w)``) with ``fill``.

    ``top``/``left`` (one value or one per image) may put part of the square
    outside the image; only the part inside is painted (DeVries & Taylor, 2017).
    """
    x, layout = _to_batch(images, layout)
    sh, sw = int_pair(size, "size", 1)
    tops = _per_image(top, len(x), "top").astype(int)
    lefts = _per_image(left, len(x), "left").astype(int)
    rows = np.arange(x.shape[2])[None, :, None]
    cols = np.arange(x.shape[3])[None, None, :]
    inside = (
        (rows >= tops[:, None, None])
        & (rows < tops[:, None, None] + sh)
        & (cols >= lefts[:, None, None])
        & (cols < lefts[:, None, None] + sw)
    )
    out = np.where(inside[:, None], x.dtype.type(fill), x)
    return _from_batch(out, layout)


def _check_order(order):
    if check_int(order, "order", 0) > 5:
        raise ValueError(f"order must be an int from 0 to 5 (spline order), got {order!r}")


# ------------------------------------------------------------------ random transforms
class _Random:
    """Base: ``transform(images, rng=None, layout=None)`` draws per-image parameters."""

    def __call__(self, images, rng=None, layout=None):
        x, layout = _to_batch(images, layout)
        out = self._apply(x, generator(rng))
        return _from_batch(out, layout)

    def _apply(self, x, rng):  # pragma: no cover - abstract
        raise NotImplementedError

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in vars(self).items())
        return f"{type(self).__name__}({args})"


def _check_p(p):
    if not (isinstance(p, numbers.Real) and 0 <= p <= 1):
        raise ValueError(f"p must be a probability in [0, 1], got {p!r}")
    return float(p)


class RandomFlip(_Random):
    """Flip each image left-right (``horizontal``) and/or top-bottom (``vertical``),
    each with probability ``p``. Upside-down digits change meaning (6 and 9): use
    ``vertical=True`` only where that is harmless."""

    def __init__(self, horizontal: bool = True, vertical: bool = False, p: float = 0.5):
        self.horizontal, self.vertical, self.p = bool(horizontal), bool(vertical), _check_p(p)

    def _apply(self, x, rng):
        out = x.copy()
        n = len(x)
        if self.horizontal:
            flip = rng.random(n) < self.p
            out[flip] = out[flip][..., ::-1]
        if self.vertical:
            flip = rng.random(n) < self.p
            out[flip] = out[flip][..., ::-1, :]
        return out


class RandomRotation(_Random):
    """Rotate each image by an angle drawn uniformly from ``[-degrees, degrees]``."""

    def __init__(self, degrees: float, *, order: int = 1, fill: float = 0.0):
        if not (isinstance(degrees, numbers.Real) and degrees >= 0):
            raise ValueError(f"degrees must be a number >= 0, got {degrees!r}")
        _check_order(order)
        self.degrees, self.order, self.fill = float(degrees), order, fill

    def _apply(self, x, rng):
        angles = rng.uniform(-self.degrees, self.degrees, size=len(x))
        return rotate(x, angles, order=self.order, fill=self.fill, layout="NCHW")


class RandomTranslation(_Random):
    """Shift each image by whole pixels drawn uniformly from ``[-max_shift, max_shift]``
    (per axis; ``max_shift`` an int or ``(max_dy, max_dx)``)."""

    def __init__(self, max_shift, *, fill: float = 0.0):
        self.max_shift = int_pair(max_shift, "max_shift", 0)
        self.fill = fill

    def _apply(self, x, rng):
        shifts = np.stack([rng.integers(-m, m + 1, size=len(x)) for m in self.max_shift], axis=1)
        return translate(x, shifts, order=0, fill=self.fill, layout="NCHW")


class RandomCrop(_Random):
    """Pad each image by ``padding`` pixels of ``fill``, then cut a random window of
    ``size`` (int or ``(h, w)``; default: the original size)."""

    def __init__(self, size=None, *, padding: int = 0, fill: float = 0.0):
        if size is not None:
            size = int_pair(size, "size", 1)
        self.size, self.padding, self.fill = size, check_int(padding, "padding", 0), fill

    def _apply(self, x, rng):
        p = self.padding
        padded = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)), constant_values=self.fill)
        h, w = self.size or x.shape[2:]
        ph, pw = padded.shape[2:]
        if h > ph or w > pw:
            raise ValueError(f"crop size {(h, w)} is larger than the padded image {(ph, pw)}")
        tops = rng.integers(0, ph - h + 1, size=len(x))
        lefts = rng.integers(0, pw - w + 1, size=len(x))
        rows = tops[:, None] + np.arange(h)
        cols = lefts[:, None] + np.arange(w)
        n = np.arange(len(x))[:, None, None, None]
        c = np.arange(x.shape[1])[None, :, None, None]
        return padded[n, c, rows[:, None, :, None], cols[:, None, None, :]]


class RandomScale(_Random):
    """Zoom each image about its centre by a factor drawn uniformly from ``[low, high]``."""

    def __init__(self, low: float = 0.9, high: float = 1.1, *, order: int = 1, fill: float = 0.0):
        if not (0 < low <= high):
            raise ValueError(f"need 0 < low <= high, got low={low!r}, high={high!r}")
        _check_order(order)
        self.low, self.high, self.order, self.fill = float(low), float(high), order, fill

    def _apply(self, x, rng):
        factors = rng.uniform(self.low, self.high, size=len(x))
        return scale(x, factors, order=self.order, fill=self.fill, layout="NCHW")


class RandomBrightness(_Random):
    """Add to each image a value drawn uniformly from ``[-max_delta, max_delta]``, clip."""

    def __init__(self, max_delta: float, *, clip=(0.0, 1.0)):
        if not (isinstance(max_delta, numbers.Real) and max_delta >= 0):
            raise ValueError(f"max_delta must be a number >= 0, got {max_delta!r}")
        self.max_delta, self.clip = float(max_delta), clip

    def _apply(self, x, rng):
        deltas = rng.uniform(-self.max_delta, self.max_delta, size=len(x))
        return adjust_brightness(x, deltas, clip=self.clip, layout="NCHW")


class RandomContrast(_Random):
    """Scale each image's contrast by a factor drawn uniformly from ``[low, high]``, clip."""

    def __init__(self, low: float = 0.8, high: float = 1.2, *, clip=(0.0, 1.0)):
        if not (0 <= low <= high):
            raise ValueError(f"need 0 <= low <= high, got low={low!r}, high={high!r}")
        self.low, self.high, self.clip = float(low), float(high), clip

    def _apply(self, x, rng):
        factors = rng.uniform(self.low, self.high, size=len(x))
        return adjust_contrast(x, factors, clip=self.clip, layout="NCHW")


class GaussianNoise(_Random):
    """Add ``N(0, sigma^2)`` noise to every pixel, clip."""

    def __init__(self, sigma: float, *, clip=(0.0, 1.0)):
        if not (isinstance(sigma, numbers.Real) and sigma >= 0):
            raise ValueError(f"sigma must be a number >= 0, got {sigma!r}")
        self.sigma, self.clip = float(sigma), clip

    def _apply(self, x, rng):
        return gaussian_noise(x, self.sigma, rng, clip=self.clip, layout="NCHW")


class Cutout(_Random):
    """With probability ``p``, paint a ``size`` x ``size`` square at a random place
    (its centre anywhere in the image) with ``fill``."""

    def __init__(self, size: int, *, p: float = 1.0, fill: float = 0.0):
        self.size, self.p, self.fill = check_int(size, "size", 1), _check_p(p), fill

    def _apply(self, x, rng):
        n, (h, w) = len(x), x.shape[2:]
        tops = rng.integers(0, h, size=n) - self.size // 2
        lefts = rng.integers(0, w, size=n) - self.size // 2
        skip = rng.random(n) >= self.p
        tops[skip] = h  # a square below the image paints nothing
        return cutout(x, tops, lefts, self.size, fill=self.fill, layout="NCHW")


class Compose:
    """Apply transforms one after the other, all drawing from one seeded generator.

    Parameters
    ----------
    transforms : sequence of callables
        Each ``t(images, rng, layout)``: the random transforms of this module, or a
        function of your own with that signature.

    Examples
    --------
    ``Compose([RandomRotation(10), RandomTranslation(2)])(batch, rng=0)`` gives the
    same output every time for the same ``batch`` and seed.
    """

    def __init__(self, transforms: Sequence):
        self.transforms = list(transforms)
        for i, t in enumerate(self.transforms):
            if not callable(t):
                raise TypeError(f"transform {i} must be callable, got {type(t).__name__}")

    def __call__(self, images, rng=None, layout=None):
        x, layout = _to_batch(images, layout)
        rng = generator(rng)
        for t in self.transforms:
            x = t(x, rng, "NCHW")
        return _from_batch(x, layout)

    def __repr__(self):
        inner = ", ".join(repr(t) for t in self.transforms)
        return f"Compose([{inner}])"


class RandomApply:
    """Apply ``transform`` to each image with probability ``p``, inside a :class:`Compose`.

    Parameters
    ----------
    transform : callable
        ``transform(images, rng, layout)``, a random transform of this module.
    p : float in [0, 1]

    Notes
    -----
    Draws one uniform number per image from ``rng``, then runs ``transform`` on the
    chosen images only (with the same generator), so the result is deterministic for a
    given seed. ``p = 1`` applies it to every image.
    """

    def __init__(self, transform, p: float):
        if not callable(transform):
            raise TypeError(f"transform must be callable, got {type(transform).__name__}")
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"p must be a probability in [0, 1], got {p!r}")
        self.transform, self.p = transform, float(p)

    def __call__(self, images, rng=None, layout="NCHW"):
        if layout != "NCHW" or not isinstance(images, np.ndarray) or images.ndim != 4:
            raise ValueError(
                f"RandomApply works inside Compose on (N, C, H, W) batches, got "
                f"layout {layout!r} and shape {np.shape(images)}"
            )
        rng = np.random.default_rng(rng)
        chosen = rng.random(len(images)) < self.p
        out = images.copy()
        if chosen.any():
            out[chosen] = self.transform(images[chosen], rng, "NCHW")
        return out

    def __repr__(self) -> str:
        return f"RandomApply({self.transform!r}, p={self.p:g})"
