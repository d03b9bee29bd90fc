"""Measuring what shifting an image does to convolutions and pooling (chapter 05).

A CNN is often said to recognise a pattern "wherever it is". This module holds the
functions that *measure* how true that is, built only from :mod:`dlcv.conv` and
:mod:`dlcv.pool`:

* :func:`shift_image` moves an image by whole pixels, either circularly
  (``mode="wrap"``, what ``np.roll`` does: what leaves one side comes back on the
  other) or with zero fill (``mode="zero"``: what leaves is lost, black comes in).
* :func:`equivariance_error` and :func:`interior_mask`: convolution commutes with
  shifts, ``conv(shift(x)) == shift(conv(x))``, exactly, for every output pixel
  whose window sees neither the image border nor the filled or wrapped-in pixels.
  :func:`correlate_circular` pads circularly so the border disappears.
* :func:`pool_shift`, :func:`pool_compare` and :func:`invariance_table`: how many
  pooled outputs keep their value when the input moves by a few pixels.
* :func:`max_pool` and :func:`blur_pool`: strided max pooling and its anti-aliased
  version (Zhang, 2019: max with stride 1, then a binomial blur, then subsample).
* :func:`strided_features` and :func:`alias_profile`: how much a small "filter, ReLU,
  pool" network's output maps and globally pooled descriptor change under shifts of
  0, 1, 2, ... pixels.
* :func:`global_pool`, :func:`relative_change`, :func:`cosine_similarity`: small
  measuring tools.

Conventions
-----------
Shifts are ``(dy, dx)`` in whole pixels; positive ``dy`` moves the content *down*,
positive ``dx`` to the *right* (``np.roll``'s sign). Functions on single images take
``(H, W)``; pooling functions also take ``(C, H, W)`` and ``(N, C, H, W)`` and shift
and pool the last two axes, like :mod:`dlcv.pool`.

>>> import numpy as np
>>> x = np.arange(9.0).reshape(3, 3)
>>> shift_image(x, 1, 0, mode="wrap")
array([[6., 7., 8.],
       [0., 1., 2.],
       [3., 4., 5.]])
>>> shift_image(x, 0, -1, mode="zero")
array([[1., 2., 0.],
       [4., 5., 0.],
       [7., 8., 0.]])
"""

from __future__ import annotations

import numbers
from typing import NamedTuple

import numpy as np
from scipy.special import comb

from dlcv.conv import correlate2d
from dlcv.pool import avg_pool2d, max_pool2d
from dlcv.validate import as_float_array, check_choice, check_int, int_pair

__all__ = [
    "MODES",
    "POOLS",
    "AliasProfile",
    "PoolShift",
    "alias_profile",
    "binomial_kernel",
    "blur_pool",
    "correlate_circular",
    "cosine_similarity",
    "equivariance_error",
    "feature_maps",
    "global_pool",
    "interior_mask",
    "invariance_table",
    "max_pool",
    "pool_compare",
    "pool_shift",
    "relative_change",
    "shift_image",
    "strided_features",
]

MODES = ("wrap", "zero")
"""How :func:`shift_image` fills the pixels that the shift uncovers."""

POOLS = ("max", "avg", "blur")
"""Poolings :func:`pool_shift` knows: max, average, and max-blur-subsample (:func:`blur_pool`)."""

_LAYOUT = "(H, W), (C, H, W) or (N, C, H, W)"


# ---------------------------------------------------------------- validation
def _check_shift(dy, dx) -> tuple[int, int]:
    """Return ``(dy, dx)`` as ints; TypeError for anything that is not an integer."""
    out = []
    for value, name in ((dy, "dy"), (dx, "dx")):
        if not isinstance(value, numbers.Integral) or isinstance(value, (bool, np.bool_)):
            raise TypeError(f"{name} must be a whole number of pixels (an int), got {value!r}")
        out.append(int(value))
    return out[0], out[1]


def _check_odd(value, name: str) -> int:
    value = check_int(value, name, 1)
    if value % 2 == 0:
        raise ValueError(f"{name} must be odd (so the blur has a centre), got {value}")
    return value


def _image(x, name: str = "image") -> np.ndarray:
    return as_float_array(x, name, (2,), "(H, W)")


def _kernel(kernel, dtype) -> np.ndarray:
    return as_float_array(kernel, "kernel", (2,), "(kh, kw)", dtype=dtype)


# ---------------------------------------------------------------- shifting
def shift_image(x, dy: int, dx: int, mode: str = "zero") -> np.ndarray:
    """Move the content of ``x`` by ``dy`` rows and ``dx`` columns (last two axes).

    Parameters
    ----------
    x : array_like, shape (..., H, W)
        An image or a stack of maps; the last two axes are shifted.
    dy, dx : int
        Shift in pixels; positive moves the content down / right. Any size is
        allowed (with zero fill a shift of ``H`` or more leaves only zeros).
    mode : {"zero", "wrap"}, default "zero"
        ``"zero"``: the pixels pushed over the edge are lost and the uncovered
        rows/columns are 0, like a camera moving over a black background.
        ``"wrap"``: circular, exactly ``np.roll`` (what leaves on one side comes
        back on the other), so no value is lost.

    Returns
    -------
    numpy.ndarray, shape (..., H, W)
        A new array with the dtype of ``x`` (after :mod:`dlcv.conv`'s precision rule).

    Raises
    ------
    TypeError
        Non-numeric ``x`` or non-integer shifts.
    ValueError
        ``x`` with fewer than 2 axes or empty, or an unknown ``mode``.
    """
    x = as_float_array(x, "x", tuple(range(2, 33)), "(..., H, W)")
    dy, dx = _check_shift(dy, dx)
    check_choice(mode, "mode", MODES)
    if mode == "wrap":
        return np.roll(x, (dy, dx), axis=(-2, -1))
    out = np.zeros_like(x)
    h, w = x.shape[-2:]
    if abs(dy) < h and abs(dx) < w:
        rows_dst, rows_src = _overlap(h, dy)
        cols_dst, cols_src = _overlap(w, dx)
        out[..., rows_dst, cols_dst] = x[..., rows_src, cols_src]
    return out


def _overlap(n: int, d: int) -> tuple[slice, slice]:
    """Destination and source slices of a zero-fill shift by ``d`` (|d| < n) along one axis."""
    return (slice(d, n), slice(0, n - d)) if d >= 0 else (slice(0, n + d), slice(-d, n))


def _windows_inside(n: int, d: int, starts: np.ndarray, span: int) -> np.ndarray:
    """Which windows ``[start, start + span)`` lie in the rows a shift by ``d`` translated.

    After shifting by ``d``, rows ``max(0, d) .. n + min(0, d) - 1`` hold moved content;
    the others are fill (zero mode) or wrapped-around content (wrap mode). A window
    inside that range reads exactly the pixels its unshifted counterpart read.
    """
    lo, hi = max(0, d), n + min(0, d)
    return (starts >= lo) & (starts + span <= hi)


# ---------------------------------------------------------------- convolution
def _same_before(k: int) -> int:
    """Zero rows ``correlate2d(padding="same")`` adds above the image for a kernel of size k."""
    return (k - 1) // 2


def interior_mask(shape, kernel_shape, dy: int, dx: int) -> np.ndarray:
    """Output pixels of a "same" correlation that a shift cannot disturb.

    For ``out = correlate2d(image, kernel, padding="same")`` (stride 1), pixel
    ``(i, j)`` reads input rows ``i - (kh-1)//2 .. i - (kh-1)//2 + kh - 1``. It is
    *interior* for the shift ``(dy, dx)`` when that window, in the shifted image,
    lies wholly inside the translated content: it then reads neither zero padding,
    nor filled pixels, nor wrapped-around ones, and
    ``correlate2d(shift(x))[i, j] == shift(correlate2d(x))[i, j]`` exactly, for
    both shift modes.

    Parameters
    ----------
    shape : (int, int)
        ``(H, W)`` of the image (and of the "same" output).
    kernel_shape : (int, int)
        ``(kh, kw)``.
    dy, dx : int
        The shift.

    Returns
    -------
    numpy.ndarray of bool, shape (H, W)
        True on the interior. All False when the shift and the kernel leave none.
    """
    h, w = int_pair(tuple(shape), "shape", 1)
    kh, kw = int_pair(tuple(kernel_shape), "kernel_shape", 1)
    dy, dx = _check_shift(dy, dx)
    rows = _windows_inside(h, dy, np.arange(h) - _same_before(kh), kh)
    cols = _windows_inside(w, dx, np.arange(w) - _same_before(kw), kw)
    return rows[:, None] & cols[None, :]


def correlate_circular(image, kernel) -> np.ndarray:
    """Correlation with circular padding: the image is treated as a torus.

    ``np.pad(image, mode="wrap")`` with the "same" amounts of :func:`dlcv.conv.correlate2d`
    (``(k-1)//2`` before, the rest after), then a "valid" correlation. With this padding
    a circular shift commutes with the correlation at *every* pixel.

    Parameters
    ----------
    image : array_like, shape (H, W)
    kernel : array_like, shape (kh, kw)
        At most ``H`` x ``W`` (the wrap-around padding must come from the image itself).

    Returns
    -------
    numpy.ndarray, shape (H, W)
    """
    image = _image(image)
    kernel = _kernel(kernel, image.dtype)
    (h, w), (kh, kw) = image.shape, kernel.shape
    if kh > h or kw > w:
        raise ValueError(
            f"kernel {kernel.shape} must not be larger than the image {image.shape} "
            "for circular padding"
        )
    pads = [(_same_before(k), k - 1 - _same_before(k)) for k in (kh, kw)]
    return correlate2d(np.pad(image, pads, mode="wrap"), kernel, padding="valid")


def equivariance_error(
    image, kernel, dy: int, dx: int, mode: str = "zero", circular: bool = False
) -> np.ndarray:
    """``correlate(shift(image)) - shift(correlate(image))``, pixel by pixel.

    Parameters
    ----------
    image : array_like, shape (H, W)
    kernel : array_like, shape (kh, kw)
    dy, dx : int
        The shift.
    mode : {"zero", "wrap"}
        How the shift fills (see :func:`shift_image`); both sides use the same mode.
    circular : bool, default False
        Correlate with :func:`correlate_circular` instead of zero padding
        (``correlate2d(padding="same")``). With ``mode="wrap"`` the error is then 0
        everywhere.

    Returns
    -------
    numpy.ndarray, shape (H, W)
        Signed difference. Exactly 0 (not merely small) on
        ``interior_mask(image.shape, kernel.shape, dy, dx)``: both sides add the same
        products in the same order there.
    """
    image = _image(image)
    kernel = _kernel(kernel, image.dtype)
    if circular:

        def correlate(a):
            return correlate_circular(a, kernel)
    else:

        def correlate(a):
            return correlate2d(a, kernel, padding="same")

    return correlate(shift_image(image, dy, dx, mode)) - shift_image(correlate(image), dy, dx, mode)


def feature_maps(image, bank, circular: bool = False) -> np.ndarray:
    """ReLU of a bank of filter responses, the first layer of a hand-made CNN.

    Parameters
    ----------
    image : array_like, shape (H, W)
    bank : array_like, shape (F, kh, kw)
        ``F`` filters with odd sizes (so "same" padding is symmetric).
    circular : bool, default False
        Pad circularly (see :func:`correlate_circular`) instead of with zeros.

    Returns
    -------
    numpy.ndarray, shape (F, H, W)
        ``max(0, correlate(image, bank[f]))`` for each filter, computed with
        :func:`dlcv.conv.correlate2d` (or :func:`correlate_circular`), whose arithmetic
        is the same at every pixel: shifted inputs give bitwise-shifted maps.
    """
    image = _image(image)
    bank = as_float_array(bank, "bank", (3,), "(F, kh, kw)", dtype=image.dtype)
    kh, kw = bank.shape[1:]
    if kh % 2 == 0 or kw % 2 == 0:
        raise ValueError(f"bank must hold odd-sized filters (F, kh, kw), got shape {bank.shape}")
    if circular:
        out = [correlate_circular(image, kernel) for kernel in bank]
    else:
        out = [correlate2d(image, kernel, padding="same") for kernel in bank]
    return np.maximum(np.stack(out), 0.0)


# ---------------------------------------------------------------- pooling
def binomial_kernel(size: int) -> np.ndarray:
    """The normalised 2-D binomial blur of Zhang (2019): outer product of Pascal's row.

    ``size=3`` gives ``[1, 2, 1]^T [1, 2, 1] / 16``; ``size=1`` is the identity.

    Parameters
    ----------
    size : int
        Odd, at least 1.

    Returns
    -------
    numpy.ndarray, shape (size, size), float64, summing to 1.
    """
    size = _check_odd(size, "size")
    row = comb(size - 1, np.arange(size), exact=False)
    kernel = np.outer(row, row)
    return kernel / kernel.sum()


def _pad_wrap_end(x: np.ndarray, extra: int) -> np.ndarray:
    """Append the first ``extra`` rows and columns at the bottom and right (circularly)."""
    pads = [(0, 0)] * (x.ndim - 2) + [(0, extra), (0, extra)]
    return np.pad(x, pads, mode="wrap")


def _check_wrap_fits(shape, kernel_size: int) -> None:
    if kernel_size - 1 > min(shape[-2:]):
        raise ValueError(
            f"kernel_size {kernel_size} is too large to wrap around an input of "
            f"shape {tuple(shape)}"
        )


def max_pool(x, kernel_size: int = 2, stride: int = 2, boundary: str = "zero") -> np.ndarray:
    """Strided max pooling, optionally on a torus.

    Parameters
    ----------
    x : array_like, shape (H, W), (C, H, W) or (N, C, H, W)
    kernel_size, stride : int
        Square window and step, at least 1.
    boundary : {"zero", "wrap"}
        ``"zero"`` is :func:`dlcv.pool.max_pool2d` itself (floor mode, no padding).
        ``"wrap"`` first appends the first ``kernel_size - 1`` rows and columns at
        the bottom and right, so windows start at ``0, s, 2s, ...`` and wrap around:
        ``ceil(H / s)`` outputs per axis, and a circular shift of the input by a
        multiple of ``s`` circularly shifts the output.

    Returns
    -------
    numpy.ndarray, shape (..., H', W')
    """
    x = as_float_array(x, "x", (2, 3, 4), _LAYOUT)
    kernel_size, stride = check_int(kernel_size, "kernel_size", 1), check_int(stride, "stride", 1)
    check_choice(boundary, "boundary", MODES)
    if boundary == "wrap":
        _check_wrap_fits(x.shape, kernel_size)
        x = _pad_wrap_end(x, kernel_size - 1)
    return max_pool2d(x, kernel_size, stride=stride)


def blur_pool(
    x, kernel_size: int = 2, stride: int = 2, blur_size: int = 3, boundary: str = "zero"
) -> np.ndarray:
    """Anti-aliased max pooling ("MaxBlurPool", Zhang 2019): max, blur, then subsample.

    1. ``m = max_pool2d(x, kernel_size, stride=1)`` (dense maxima, nothing dropped);
    2. blur ``m`` with :func:`binomial_kernel` ``(blur_size)`` and keep every
       ``stride``-th value, in one :func:`dlcv.conv.correlate2d` call with that
       stride (each map filtered on its own, the same arithmetic at every pixel).

    ``blur_size=1`` gives back ``max_pool(x, kernel_size, stride, boundary)`` exactly.

    Parameters
    ----------
    x : array_like, shape (H, W), (C, H, W) or (N, C, H, W)
    kernel_size : int, default 2
        Max window, at least 1.
    stride : int, default 2
        Subsampling step, at least 1.
    blur_size : int, default 3
        Odd size of the binomial blur (1 = no blur).
    boundary : {"zero", "wrap"}
        ``"zero"``: the max pool is floor-mode without padding and the blur
        zero-pads ``blur_size // 2`` pixels on each side (so outputs near the border
        are darkened). ``"wrap"``: both steps wrap around, as in :func:`max_pool`.

    Returns
    -------
    numpy.ndarray, shape (..., H', W')
        ``"zero"``: ``H' = floor((H - kernel_size) / stride) + 1`` (as max pooling);
        ``"wrap"``: ``H' = ceil(H / stride)``.
    """
    x = as_float_array(x, "x", (2, 3, 4), _LAYOUT)
    kernel_size, stride = check_int(kernel_size, "kernel_size", 1), check_int(stride, "stride", 1)
    blur_size = _check_odd(blur_size, "blur_size")
    check_choice(boundary, "boundary", MODES)
    half = blur_size // 2
    if boundary == "wrap":
        _check_wrap_fits(x.shape, kernel_size)
        dense = max_pool2d(_pad_wrap_end(x, kernel_size - 1), kernel_size, stride=1)
        if half > min(dense.shape[-2:]):
            raise ValueError(
                f"blur_size {blur_size} is too large to wrap around maps of shape "
                f"{dense.shape[-2:]}"
            )
        pads = [(0, 0)] * (dense.ndim - 2) + [(half, half), (half, half)]
        dense, padding = np.pad(dense, pads, mode="wrap"), 0
    else:
        dense, padding = max_pool2d(x, kernel_size, stride=1), half
    planes = np.moveaxis(dense.reshape(-1, *dense.shape[-2:]), 0, -1)  # (H, W, planes)
    out = correlate2d(planes, binomial_kernel(blur_size), padding=padding, stride=stride)
    return np.moveaxis(out, -1, 0).reshape(*x.shape[:-2], *out.shape[:2])


class PoolShift(NamedTuple):
    """What a shift does to a pooled map (see :func:`pool_compare` and :func:`pool_shift`).

    Attributes
    ----------
    reference : ndarray, shape (..., H', W')
        Pooled unshifted input.
    shifted : ndarray, shape (..., H', W')
        Pooled shifted input.
    valid : ndarray of bool, shape (H', W')
        Outputs whose whole footprint (the input pixels they read) is trusted, that
        is, reads only moved content in the shifted input (no filled or
        wrapped-around pixels, no padding): the outputs compared.
    unchanged : float
        Fraction of valid outputs (over all leading axes too) with
        ``|shifted - reference| <= atol``.
    max_change : float
        Largest ``|shifted - reference|`` over the valid outputs.
    """

    reference: np.ndarray
    shifted: np.ndarray
    valid: np.ndarray
    unchanged: float
    max_change: float


def _pool_and_footprint(x, kernel_size: int, stride: int, pool: str):
    """Pooled map and, per output index, where its input footprint starts and how long it is."""
    if pool == "max":
        out, offset, span = max_pool2d(x, kernel_size, stride=stride), 0, kernel_size
    elif pool == "avg":
        out, offset, span = avg_pool2d(x, kernel_size, stride=stride), 0, kernel_size
    else:
        blur = 3
        out = blur_pool(x, kernel_size, stride, blur_size=blur)
        offset, span = -(blur // 2), kernel_size + blur - 1
    return out, offset, span


def _footprints_inside(trusted: np.ndarray, out_hw, stride: int, offset: int, span: int):
    """Which outputs read only trusted input pixels (running sums, one axis at a time)."""

    def all_along(mask: np.ndarray, n_out: int, axis: int) -> np.ndarray:
        n = mask.shape[axis]
        starts = np.arange(n_out) * stride + offset
        inside = (starts >= 0) & (starts + span <= n)
        first, last = np.clip(starts, 0, n), np.clip(starts + span, 0, n)
        sums = np.concatenate(
            [np.zeros_like(np.take(mask, [0], axis)), np.cumsum(mask, axis=axis, dtype=np.int32)],
            axis=axis,
        )
        count = np.take(sums, last, axis) - np.take(sums, first, axis)
        shape = [1, 1]
        shape[axis] = n_out
        return (count == span) & inside.reshape(shape)

    rows = all_along(trusted, out_hw[0], 0)  # (H', W): window rows all trusted, per column
    return all_along(rows, out_hw[1], 1)


def pool_compare(
    before,
    after,
    kernel_size: int,
    stride: int | None = None,
    pool: str = "max",
    trusted=None,
    atol: float = 0.0,
) -> PoolShift:
    """Pool two maps and compare the outputs in place (output ``(i, j)`` with ``(i, j)``).

    Parameters
    ----------
    before, after : array_like, shape (H, W), (C, H, W) or (N, C, H, W)
        The map for the unshifted and for the shifted input (same shape).
    kernel_size : int
        Square pooling window, at least 1.
    stride : int, optional
        Default ``kernel_size`` (non-overlapping windows).
    pool : {"max", "avg", "blur"}
        :func:`dlcv.pool.max_pool2d`, :func:`dlcv.pool.avg_pool2d`, or
        :func:`blur_pool` with a 3x3 binomial blur (zero boundary).
    trusted : array_like of bool, shape (H, W), optional
        Pixels where ``after`` is exactly the moved ``before`` (for a shifted image,
        ``interior_mask(shape, (1, 1), dy, dx)``; for the feature maps of a shifted
        image, ``interior_mask(shape, kernel.shape, dy, dx)``). Only outputs whose
        whole footprint is trusted are compared. Default: every pixel.
    atol : float, default 0
        Largest difference that counts as unchanged (0: bit-for-bit equal).

    Returns
    -------
    PoolShift
        ``(reference, shifted, valid, unchanged, max_change)``.

    Raises
    ------
    ValueError
        Shapes that differ, or no output with a trusted footprint, plus the errors of
        the pooling functions.
    """
    before = as_float_array(before, "before", (2, 3, 4), _LAYOUT)
    after = as_float_array(after, "after", (2, 3, 4), _LAYOUT)
    if before.shape != after.shape:
        raise ValueError(
            f"before and after must have the same shape, got {before.shape} and {after.shape}"
        )
    check_choice(pool, "pool", POOLS)
    kernel_size = check_int(kernel_size, "kernel_size", 1)
    stride = kernel_size if stride is None else check_int(stride, "stride", 1)
    if not isinstance(atol, numbers.Real) or not atol >= 0:
        raise ValueError(f"atol must be a number >= 0, got {atol!r}")
    hw = before.shape[-2:]
    trusted = np.ones(hw, bool) if trusted is None else np.asarray(trusted)
    if trusted.dtype != bool or trusted.shape != hw:
        raise ValueError(
            f"trusted must be a boolean mask of shape {hw}, got dtype {trusted.dtype} "
            f"and shape {trusted.shape}"
        )
    reference, offset, span = _pool_and_footprint(before, kernel_size, stride, pool)
    shifted, _, _ = _pool_and_footprint(after, kernel_size, stride, pool)
    valid = _footprints_inside(trusted, reference.shape[-2:], stride, offset, span)
    if not valid.any():
        raise ValueError(
            f"no pooled output of the {hw[0]}x{hw[1]} input reads only moved "
            f"pixels (each reads {span}x{span}; {int(trusted.sum())} of "
            f"{trusted.size} pixels are moved content): use a smaller shift"
        )
    change = np.abs(shifted - reference)[..., valid]
    return PoolShift(reference, shifted, valid, float(np.mean(change <= atol)), float(change.max()))


def pool_shift(
    x,
    dy: int,
    dx: int,
    kernel_size: int,
    stride: int | None = None,
    pool: str = "max",
    mode: str = "wrap",
    atol: float = 0.0,
) -> PoolShift:
    """Pool ``x`` and its shifted copy; count the pooled outputs that did not change.

    This measures *invariance* in place: output ``(i, j)`` of the shifted input is
    compared with output ``(i, j)`` of the original (:func:`pool_compare`). Only
    outputs whose footprint lies in the moved part of the shifted input are counted,
    so the result does not depend on how the shift fills the uncovered border.

    Parameters
    ----------
    x : array_like, shape (H, W), (C, H, W) or (N, C, H, W)
    dy, dx : int
        The shift.
    kernel_size, stride, pool, atol
        As in :func:`pool_compare`.
    mode : {"wrap", "zero"}
        How the shift fills (:func:`shift_image`).

    Returns
    -------
    PoolShift
        ``(reference, shifted, valid, unchanged, max_change)``.

    Raises
    ------
    ValueError
        If no pooled output reads only moved pixels (the shift is too large for the
        input), plus the errors of :func:`pool_compare`.
    """
    x = as_float_array(x, "x", (2, 3, 4), _LAYOUT)
    trusted = interior_mask(x.shape[-2:], (1, 1), dy, dx)
    after = shift_image(x, dy, dx, mode)
    return pool_compare(x, after, kernel_size, stride, pool, trusted, atol)


def invariance_table(
    images, shifts, kernel_sizes, pool: str = "max", mode: str = "wrap", atol: float = 0.0
) -> np.ndarray:
    """Mean fraction of unchanged pooled outputs, for every window size and shift.

    Parameters
    ----------
    images : sequence of array_like, each (H, W)
        The inputs (sizes may differ).
    shifts : sequence of (int, int)
        ``(dy, dx)`` pairs.
    kernel_sizes : sequence of int
        Window sizes; the stride equals the window (non-overlapping pooling).
    pool, mode, atol
        As in :func:`pool_shift`.

    Returns
    -------
    numpy.ndarray, shape (len(kernel_sizes), len(shifts))
        ``table[a, b]`` is the mean over ``images`` of
        ``pool_shift(image, *shifts[b], kernel_sizes[a], ...).unchanged``.
    """
    images = [_image(im, "images[i]") for im in images]
    shifts = [tuple(s) for s in shifts]
    if not images or not shifts or not len(kernel_sizes):
        raise ValueError(
            f"images, shifts and kernel_sizes must be non-empty, got {len(images)} "
            f"images, {len(shifts)} shifts and {len(kernel_sizes)} kernel sizes"
        )
    if any(len(s) != 2 for s in shifts):
        raise ValueError(f"shifts must be (dy, dx) pairs, got {shifts!r}")
    table = np.empty((len(kernel_sizes), len(shifts)))
    for a, k in enumerate(kernel_sizes):
        for b, (dy, dx) in enumerate(shifts):
            results = [pool_shift(im, dy, dx, k, pool=pool, mode=mode, atol=atol) for im in images]
            table[a, b] = np.mean([r.unchanged for r in results])
    return table


# ---------------------------------------------------------------- measuring
def global_pool(x, mode: str = "avg") -> np.ndarray:
    """Mean or maximum of each map over its last two axes (global average/max pooling).

    Parameters
    ----------
    x : array_like, shape (..., H, W)
    mode : {"avg", "max"}

    Returns
    -------
    numpy.ndarray, shape (...)
        One number per map: the descriptor a global pooling layer hands on.
    """
    x = as_float_array(x, "x", tuple(range(2, 33)), "(..., H, W)")
    check_choice(mode, "mode", ("avg", "max"))
    return x.mean(axis=(-2, -1)) if mode == "avg" else x.max(axis=(-2, -1))


def _pair(a, b):
    a, b = (
        as_float_array(a, "a", tuple(range(1, 33)), "any shape"),
        as_float_array(b, "b", tuple(range(1, 33)), "any shape"),
    )
    if a.shape != b.shape:
        raise ValueError(f"a and b must have the same shape, got {a.shape} and {b.shape}")
    return a.astype(np.float64).ravel(), b.astype(np.float64).ravel()


def relative_change(a, b) -> float:
    """``||a - b|| / ||b||`` (Euclidean norms over all values): how far ``a`` moved from ``b``.

    Returns 0.0 when both are all zeros and ``inf`` when only ``b`` is.
    """
    a, b = _pair(a, b)
    diff, norm = float(np.linalg.norm(a - b)), float(np.linalg.norm(b))
    if norm == 0:
        return 0.0 if diff == 0 else float("inf")
    return diff / norm


def cosine_similarity(a, b) -> float:
    """``a . b / (||a|| ||b||)`` over all values; 1.0 means the same direction.

    Raises ``ValueError`` when either array is all zeros (no direction).
    """
    a, b = _pair(a, b)
    na, nb = float(np.linalg.norm(a)), float(np.linalg.norm(b))
    if na == 0 or nb == 0:
        raise ValueError("cosine similarity is undefined for an all-zero array")
    return float(a @ b) / (na * nb)


def _circular_conv(x: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """A conv layer on one (C, H, W) stack, odd (F, C, kh, kw) filters, circular padding.

    ``out[f] = sum_c correlate_circular(x[c], weight[f, c])``: the same arithmetic at
    every pixel (unlike a BLAS matrix product), so shifts commute bit for bit.
    """
    return np.stack(
        [sum(correlate_circular(xc, wc) for xc, wc in zip(x, wf, strict=True)) for wf in weight]
    )


def strided_features(
    image, weights, kernel_size: int = 2, stride: int = 2, blur_size: int | None = None
) -> np.ndarray:
    """A small hand-made CNN: per stage, circular convolution, ReLU, strided pooling.

    Everything wraps around (circular padding, wrapping pools), so a circular shift
    of the image by a multiple of ``stride ** len(weights)`` shifts the output by a
    whole number of cells, exactly; any other shift reveals aliasing.

    Parameters
    ----------
    image : array_like, shape (H, W)
    weights : sequence of array_like
        One filter bank per stage, with odd sizes: the first ``(F1, kh, kw)`` (or
        ``(F1, 1, kh, kw)``), then ``(F2, F1, kh, kw)``, and so on.
    kernel_size, stride : int
        Max-pooling window and step of every stage.
    blur_size : int, optional
        None: strided max pooling (:func:`max_pool`). An odd int: :func:`blur_pool`
        with a binomial blur of that size.

    Returns
    -------
    numpy.ndarray, shape (F_last, H', W')
    """
    x = _image(image)[None]
    if len(weights) == 0:
        raise ValueError("weights must hold at least one filter bank")
    for n, weight in enumerate(weights):
        weight = as_float_array(
            weight, f"weights[{n}]", (3, 4), "(F, kh, kw) or (F, C, kh, kw)", dtype=x.dtype
        )
        if weight.ndim == 3:
            weight = weight[:, None]
        if weight.shape[1] != x.shape[0]:
            raise ValueError(
                f"weights[{n}] has shape {weight.shape} and expects {weight.shape[1]} "
                f"input maps, but stage {n} receives {x.shape[0]} (maps {x.shape})"
            )
        if weight.shape[2] % 2 == 0 or weight.shape[3] % 2 == 0:
            raise ValueError(f"weights[{n}] must hold odd-sized filters, got shape {weight.shape}")
        maps = np.maximum(_circular_conv(x, weight), 0.0)
        if blur_size is None:
            x = max_pool(maps, kernel_size, stride, boundary="wrap")
        else:
            x = blur_pool(maps, kernel_size, stride, blur_size, boundary="wrap")
    return x


class AliasProfile(NamedTuple):
    """Output of :func:`alias_profile`, one value per shift.

    Attributes
    ----------
    shifts : ndarray of int, shape (S,)
    map_change : ndarray, shape (S,)
        Relative distance (:func:`relative_change`) between the output maps of the
        shifted image and the closest whole-cell shift of the unshifted output
        (``floor(d / total_stride)`` or ``ceil(d / total_stride)`` cells): 0 when the
        output simply moved along with the image.
    descriptor_change : ndarray, shape (S,)
        :func:`relative_change` of the globally average-pooled descriptor (one number
        per map) against the unshifted one.
    """

    shifts: np.ndarray
    map_change: np.ndarray
    descriptor_change: np.ndarray


def alias_profile(
    image, weights, shifts, kernel_size: int = 2, stride: int = 2, blur_size: int | None = None
) -> AliasProfile:
    """How much :func:`strided_features` changes when the image moves right by d pixels.

    Shifts are circular and the network is circular, so the borders play no part:
    without subsampling its maps would move exactly with the image. Any change
    measured here is *aliasing*, caused by keeping only every ``stride``-th value.

    Parameters
    ----------
    image : array_like, shape (H, W)
    weights : sequence of array_like
        The filter banks of :func:`strided_features`.
    shifts : sequence of int
        Horizontal shifts ``d`` (``dx = d``, ``dy = 0``), each >= 0.
    kernel_size, stride, blur_size
        As in :func:`strided_features`.

    Returns
    -------
    AliasProfile
    """
    shifts = np.array([check_int(d, "shifts", 0) for d in shifts], dtype=int)
    if shifts.size == 0:
        raise ValueError("shifts must hold at least one shift")
    total = check_int(stride, "stride", 1) ** len(weights)
    image = _image(image)

    def run(img):
        return strided_features(img, weights, kernel_size, stride, blur_size)

    base = run(image)
    base_descriptor = global_pool(base)
    map_change, descriptor_change = [], []
    for d in shifts:
        out = run(shift_image(image, 0, int(d), mode="wrap"))
        cells = {d // total, -(-d // total)}
        moved = [shift_image(base, 0, c, mode="wrap") for c in cells]
        map_change.append(min(relative_change(out, m) for m in moved))
        descriptor_change.append(relative_change(global_pool(out), base_descriptor))
    return AliasProfile(shifts, np.array(map_change), np.array(descriptor_change))


DIRECTIONS = {"right": (0, 1), "left": (0, -1), "down": (1, 0), "up": (-1, 0)}
"""Unit steps ``(dy, dx)`` of :func:`accuracy_under_shift`'s four directions."""


class ShiftAccuracy(NamedTuple):
    """What :func:`accuracy_under_shift` measured.

    Attributes
    ----------
    shifts : tuple of int
        The distances d in pixels.
    accuracy : dict of str to ndarray
        Direction name -> accuracy (fraction) at each distance.
    ink_lost : ndarray
        Share of the images' total ink pushed out of the frame at each distance, the
        mean over the directions.
    """

    shifts: tuple[int, ...]
    accuracy: dict[str, np.ndarray]
    ink_lost: np.ndarray

    @property
    def mean_accuracy(self) -> np.ndarray:
        """Accuracy at each distance, averaged over the directions."""
        return np.mean(list(self.accuracy.values()), axis=0)


def accuracy_under_shift(model, images, labels, shifts=range(7), directions=None) -> ShiftAccuracy:
    """Accuracy of a classifier on images moved by d pixels in each direction (zero fill).

    Parameters
    ----------
    model : dlcv.layers.Sequential
        A trained classifier (for example :func:`dlcv.models.load_lenet_mnist`).
    images : ndarray, shape (N, C, H, W)
        Test images, ink (bright) on a dark (zero) background.
    labels : ndarray of int, shape (N,)
    shifts : iterable of int >= 0
        Distances in pixels.
    directions : dict of str to (int, int), optional
        Unit steps ``(dy, dx)``; default :data:`DIRECTIONS` (right, left, down, up).

    Returns
    -------
    ShiftAccuracy
    """
    from dlcv.train import predict  # core layer; imported here to keep this module light

    images = np.asarray(images, dtype=np.float64)
    if images.ndim != 4:
        raise ValueError(f"images must have shape (N, C, H, W), got {images.shape}")
    labels = np.asarray(labels)
    if labels.shape != (len(images),):
        raise ValueError(
            f"labels must have shape ({len(images)},) to match images, got {labels.shape}"
        )
    shifts = tuple(shifts)
    if not all(isinstance(d, numbers.Integral) and not isinstance(d, bool) for d in shifts):
        raise TypeError(f"shifts must be whole numbers of pixels (ints), got {shifts}")
    if not shifts or min(shifts) < 0:
        raise ValueError(f"shifts must be one or more distances >= 0, got {shifts}")
    directions = DIRECTIONS if directions is None else dict(directions)
    accuracy = {name: [] for name in directions}
    ink_lost = np.zeros(len(shifts))
    total_ink = images.sum()
    for name, (uy, ux) in directions.items():
        for i, d in enumerate(shifts):
            moved = shift_image(images, uy * d, ux * d, mode="zero")
            hits = predict(model, moved.astype(np.float32)) == labels
            accuracy[name].append(float(np.mean(hits)))
            ink_lost[i] += (1 - moved.sum() / total_ink) / len(directions)
    return ShiftAccuracy(shifts, {k: np.array(v) for k, v in accuracy.items()}, ink_lost)
