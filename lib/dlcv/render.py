"""Arrays to pictures, fast: colour, fit to a size, zoom, tile, outline, encode as PNG.

The widgets draw with these functions (NumPy and Pillow, no Matplotlib figure), so an
update takes milliseconds; :mod:`dlcv.plot` makes the Matplotlib figures and follows the
same colour rule, which :func:`display_range` decides (see :mod:`dlcv.plot` for the rule
in words) and :func:`colorize` applies.

A picture is a ``uint8`` array, ``(H, W)`` grey or ``(H, W, 3)`` RGB:

>>> import numpy as np
>>> values = np.linspace(-1, 1, 12).reshape(3, 4)
>>> rgb = picture(values, size=8)                      # signed: RdBu_r, 6 x 8 pixels
>>> rgb.shape, rgb.dtype
((6, 8, 3), dtype('uint8'))
>>> tile([rgb, zoom(rgb[:3, :4], 2)], ncols=2, gap=1).shape
(6, 17, 3)
>>> to_png(rgb)[:4]
b'\\x89PNG'
"""

from __future__ import annotations

import functools
import io
import numbers
from collections.abc import Sequence
from typing import NamedTuple

import matplotlib as mpl
import numpy as np
from PIL import Image

from dlcv.pool import avg_pool2d, max_pool2d

__all__ = [
    "GREY_CMAP",
    "SIGNED_CMAP",
    "SIGNED_FRACTION",
    "DisplayRange",
    "as_image",
    "colorize",
    "display_range",
    "feature_mosaic",
    "figure_png",
    "fit",
    "fit_whole",
    "outline",
    "picture",
    "tile",
    "to_png",
    "zoom",
]

GREY_CMAP = "gray"
SIGNED_CMAP = "RdBu_r"
SIGNED_FRACTION = 0.2
"""An array is drawn as signed when at least this fraction of its values is negative."""


class DisplayRange(NamedTuple):
    """How an array is mapped to colour.

    ``cmap`` and the limits ``vmin``/``vmax``; ``signed`` tells which rule was used;
    ``saturated`` is the fraction of the (finite) values outside the limits.
    """

    cmap: str
    vmin: float
    vmax: float
    signed: bool
    saturated: float = 0.0

    def describe(self) -> str:
        """One line for a caption, e.g. ``'signed: RdBu_r, white = 0, limits ±0.52'``."""
        if self.signed:
            text = f"signed: {self.cmap}, white = 0, limits ±{self.vmax:.3g}"
        else:
            text = f"grey: black = {self.vmin:.3g}, white = {self.vmax:.3g}"
        if self.saturated > 0:
            text += f" ({100 * self.saturated:.1f} % of values saturate)"
        return text


def as_image(array, name: str = "image") -> np.ndarray:
    """Check that ``array`` is a 2-D ``(H, W)`` or colour ``(H, W, 3)`` numeric array.

    Returns
    -------
    ndarray, float64
        The array (not copied when it is float64 already).

    Raises
    ------
    TypeError
        Not a real numeric array (booleans and strings included).
    ValueError
        Another shape, or empty.
    """
    a = np.asarray(array)
    if a.dtype == bool or a.dtype.kind not in "iuf":
        raise TypeError(f"{name} must be a real numeric array, got dtype {a.dtype}")
    if not (a.ndim == 2 or (a.ndim == 3 and a.shape[2] in (3, 4))):
        raise ValueError(f"{name} must have shape (H, W) or (H, W, 3), got shape {a.shape}")
    if a.size == 0:
        raise ValueError(f"{name} is empty (shape {a.shape})")
    return a.astype(np.float64, copy=False)


def display_range(
    array,
    signed: bool | None = None,
    vmin: float | None = None,
    vmax: float | None = None,
    saturate: float = 0.0,
) -> DisplayRange:
    """Choose the colour map and limits for showing ``array``.

    Parameters
    ----------
    array : array_like, shape (H, W) or (H, W, 3)
        The values to show. NaN and infinity are ignored when computing the limits.
    signed : bool, optional
        Force the signed (diverging) or the grey rule. By default an array is signed
        when at least :data:`SIGNED_FRACTION` of its finite values are negative.
    vmin, vmax : float, optional
        Fix the limits instead (for example ``vmin=0, vmax=1`` for a photo in
        [0, 1]); for the signed rule only ``vmax`` is used, as ``±|vmax|``.
    saturate : float, default 0
        Fraction of the values allowed beyond the limits (0 uses the extremes; the image
        helpers :func:`dlcv.plot.show_image` and :func:`dlcv.plot.image_grid` use 0.01).
        Signed limits are the ``1 - saturate`` quantile of ``|a|``; grey limits are the
        ``saturate / 2`` and ``1 - saturate / 2`` quantiles, with black at 0 when
        no value is negative.

    Returns
    -------
    DisplayRange
        A constant array still gets limits spanning a non-zero interval.
    """
    a = as_image(array, "array")
    if not 0 <= saturate < 1:
        raise ValueError(f"saturate must be in [0, 1), got {saturate}")
    values = a.ravel()
    if not np.isfinite(values.sum()):  # cheap test first: NaN/inf are rare
        values = values[np.isfinite(values)]
    if values.size == 0:
        values = np.zeros(1)
    # quantiles of a regular subsample (at most ~65k values) keep a widget update fast;
    # saturate=0 asks for the exact extremes, so it looks at every value
    sample = values if saturate == 0 else values[:: max(1, values.size // 65536)]
    if signed is None:
        signed = np.count_nonzero(sample < 0) >= SIGNED_FRACTION * sample.size
    if signed:
        magnitude = np.abs(sample)
        m = abs(float(vmax)) if vmax is not None else float(np.quantile(magnitude, 1 - saturate))
        m = m if m > 0 else float(np.abs(values).max())
        low, high = -(m or 1.0), (m or 1.0)
    else:
        q_low, q_high = np.quantile(sample, [saturate / 2, 1 - saturate / 2])
        low = float(vmin) if vmin is not None else (0.0 if values.min() >= 0 else float(q_low))
        high = float(vmax) if vmax is not None else float(q_high)
        if high <= low:
            high = low + 1.0
    outside = np.count_nonzero((values < low) | (values > high)) / values.size
    cmap = SIGNED_CMAP if signed else GREY_CMAP
    return DisplayRange(cmap, low, high, bool(signed), float(outside))


def colorize(array, rng: DisplayRange | None = None) -> np.ndarray:
    """Map a 2-D array to RGB bytes with the course's colour rule (no Matplotlib figure).

    Parameters
    ----------
    array : array_like, shape (H, W)
        Values to colour. A colour image (H, W, 3) in [0, 1] is passed through (clipped).
    rng : DisplayRange, optional
        The mapping; by default ``display_range(array)``.

    Returns
    -------
    numpy.ndarray, shape (H, W, 3), dtype uint8
    """
    a = as_image(array, "array")
    if a.ndim == 3:
        return (np.clip(a[..., :3], 0.0, 1.0) * 255 + 0.5).astype(np.uint8)
    rng = display_range(a) if rng is None else rng
    span = rng.vmax - rng.vmin
    factor = 255.0 / span
    with np.errstate(over="ignore"):  # values far beyond a tiny range saturate
        scaled = (a - rng.vmin) * factor if np.isfinite(factor) else (a - rng.vmin) / span * 255
    scaled += 0.5
    scaled[np.isnan(scaled)] = 0.0
    index = np.clip(scaled, 0, 255, out=scaled).astype(np.uint8)
    return _lut(rng.cmap)[index]


@functools.lru_cache(maxsize=16)
def _lut(cmap: str) -> np.ndarray:
    """256 RGB colours of a Matplotlib colour map, shape (256, 3) uint8, read-only."""
    lut = mpl.colormaps[cmap](np.linspace(0.0, 1.0, 256), bytes=True)[:, :3]
    lut.setflags(write=False)
    return lut


def _size(value, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"{name} must be a whole number of pixels >= 1, got {value!r}")
    return int(value)


def _map(values, name: str = "values") -> np.ndarray:
    a = as_image(values, name)
    if a.ndim != 2:
        raise ValueError(f"{name} must be a 2-D map (H, W), got shape {a.shape}")
    return a


def fit(values, size: int) -> np.ndarray:
    """Resample a 2-D map so that its longer side is ``size`` pixels, keeping its aspect.

    Shrinking averages areas (Pillow's box filter), enlarging repeats pixels (nearest).
    Fitting the values before colouring them keeps a widget update fast: only the
    displayed pixels are coloured and encoded, whatever the size of the map.

    Parameters
    ----------
    values : array_like, shape (H, W)
    size : int >= 1

    Returns
    -------
    ndarray of float32, shape (h, w) with ``max(h, w) == size``
    """
    a, size = _map(values), _size(size, "size")
    img = Image.fromarray(a.astype(np.float32), mode="F")
    scale = size / max(img.size)
    if scale != 1:
        new = (max(1, round(img.width * scale)), max(1, round(img.height * scale)))
        method = Image.Resampling.BOX if scale < 1 else Image.Resampling.NEAREST
        img = img.resize(new, method)
    return np.asarray(img)


def fit_whole(values, size: int, extremes: bool = False) -> np.ndarray:
    """Shrink or enlarge a 2-D map by whole factors so its longer side is about ``size``.

    A map larger than ``size`` is shrunk by the smallest whole factor ``f`` that makes it
    fit (each ``f`` x ``f`` block becomes one pixel: :func:`dlcv.pool.avg_pool2d` with
    window ``f``, so rows and columns left over at the end are dropped); a smaller map is
    enlarged by the largest whole factor that still fits. Every displayed pixel then
    stands for the same number of values.

    Parameters
    ----------
    values : array_like, shape (H, W)
    size : int >= 1
    extremes : bool, default False
        Shrink keeping, per block, the value of largest magnitude (with its sign)
        instead of the mean: a thin band of large values stays visible.

    Returns
    -------
    ndarray of float64
    """
    a, size = _map(values), _size(size, "size")
    f = -(-max(a.shape) // size)
    if f > 1 and extremes:
        top, bottom = max_pool2d(a, f), -max_pool2d(-a, f)
        a = np.where(top >= -bottom, top, bottom)
    elif f > 1:
        a = avg_pool2d(a, f)
    return zoom(a, max(1, size // max(a.shape)))


def zoom(image, factor: int) -> np.ndarray:
    """Enlarge an image ``factor`` times by repeating each pixel (rows and columns).

    Parameters
    ----------
    image : ndarray, shape (H, W) or (H, W, C)
    factor : int >= 1

    Returns
    -------
    ndarray, shape (H * factor, W * factor, ...), the dtype of ``image``
    """
    a, factor = np.asarray(image), _size(factor, "factor")
    if a.ndim not in (2, 3):
        raise ValueError(f"image must have shape (H, W) or (H, W, C), got shape {a.shape}")
    if factor == 1:
        return a
    return np.repeat(np.repeat(a, factor, axis=0), factor, axis=1)


def picture(values, rng: DisplayRange | None = None, size: int | None = None) -> np.ndarray:
    """Colour a 2-D map for display: grey maps one byte per pixel, signed maps RGB.

    Parameters
    ----------
    values : array_like, shape (H, W)
    rng : DisplayRange, optional
        The colour mapping; by default ``display_range`` of the values shown.
    size : int, optional
        Fit the map so its longer side is ``size`` pixels first (see :func:`fit`).

    Returns
    -------
    ndarray of uint8, shape (h, w) for the grey rule or (h, w, 3) for a signed one
        One byte per grey pixel makes the PNG smaller and faster to encode.
    """
    a = _map(values) if size is None else fit(values, size)
    rng = display_range(a) if rng is None else rng
    rgb = colorize(a, rng)
    return rgb if rng.cmap != GREY_CMAP else np.ascontiguousarray(rgb[..., 0])


def outline(
    canvas: np.ndarray, top, left, height: int, width: int, value, thickness: int = 1
) -> None:
    """Paint rectangle outlines into ``canvas``, in place (vectorised over many rectangles).

    Parameters
    ----------
    canvas : ndarray, shape (H, W) or (H, W, C)
        A picture, changed in place.
    top, left : int or array_like of int
        Top-left corners of the rectangles, in pixels; parts outside the canvas are clipped.
    height, width : int
        Size of every rectangle, its outline included.
    value : scalar or sequence
        The colour painted (a palette index, a grey level or an RGB triple).
    thickness : int, default 1
        Outline width in pixels, drawn inwards.
    """
    top = np.atleast_1d(np.asarray(top, dtype=np.int64))[:, None]
    left = np.atleast_1d(np.asarray(left, dtype=np.int64))[:, None]
    for t in range(min(thickness, (min(height, width) + 1) // 2)):
        across = left + t + np.arange(width - 2 * t)
        down = top + t + np.arange(height - 2 * t)
        rows = np.concatenate(
            [
                np.broadcast_to(top + t, across.shape),
                np.broadcast_to(top + height - 1 - t, across.shape),
                down,
                down,
            ],
            axis=None,
        )
        cols = np.concatenate(
            [
                across,
                across,
                np.broadcast_to(left + t, down.shape),
                np.broadcast_to(left + width - 1 - t, down.shape),
            ],
            axis=None,
        )
        keep = (rows >= 0) & (rows < canvas.shape[0]) & (cols >= 0) & (cols < canvas.shape[1])
        canvas[rows[keep], cols[keep]] = value


def tile(
    images: Sequence[np.ndarray], ncols: int | None = None, gap: int = 4, fill: int = 255
) -> np.ndarray:
    """Lay pictures out in a grid, in reading order, ``gap`` pixels of ``fill`` between them.

    Parameters
    ----------
    images : sequence of uint8 ndarray, each (h, w) or (h, w, 3)
        Sizes may differ: each column is as wide as its widest picture, each row as tall
        as its tallest; a picture sits in the top-left corner of its cell.
    ncols : int, optional
        Pictures per row; by default all in one row.
    gap : int >= 0
    fill : int
        Grey level of the gaps and of empty cells (255: white).

    Returns
    -------
    ndarray of uint8, (H, W, 3) when any picture is RGB, else (H, W)
    """
    images = [np.asarray(i) for i in images]
    if not images:
        raise ValueError("images is empty: give at least one picture")
    if any(i.dtype != np.uint8 or i.ndim not in (2, 3) for i in images):
        raise TypeError("images must be uint8 pictures of shape (h, w) or (h, w, 3)")
    ncols = len(images) if ncols is None else _size(ncols, "ncols")
    if isinstance(gap, bool) or not isinstance(gap, numbers.Integral) or gap < 0:
        raise ValueError(f"gap must be a whole number of pixels >= 0, got {gap!r}")
    colour = any(i.ndim == 3 for i in images)
    grid = [images[r : r + ncols] for r in range(0, len(images), ncols)]
    heights = [max(i.shape[0] for i in row) for row in grid]
    widths = [
        max((row[c].shape[1] for row in grid if c < len(row)), default=0) for c in range(ncols)
    ]
    canvas = np.full(
        (
            sum(heights) + gap * (len(grid) - 1),
            sum(widths) + gap * (ncols - 1),
            *((3,) if colour else ()),
        ),
        fill,
        np.uint8,
    )
    y = 0
    for row, height in zip(grid, heights, strict=True):
        x = 0
        for image, width in zip(row, widths, strict=False):
            h, w = image.shape[:2]
            canvas[y : y + h, x : x + w] = image[..., None] if colour and image.ndim == 2 else image
            x += width + gap
        y += height + gap
    return canvas


def feature_mosaic(maps, zoom: int = 1, ncols: int = 4, gap: int = 2) -> np.ndarray:
    """Tile feature maps into one RGB picture with one grey scale for all of them.

    Parameters
    ----------
    maps : array_like, shape (F, h, w)
    zoom : int
        Each map is enlarged ``zoom`` times (pixel repetition).
    ncols : int
        Maps per row.
    gap : int
        White pixels before each map (above and to its left).

    Returns
    -------
    ndarray of uint8, shape (rows * (h * zoom + gap), ncols * (w * zoom + gap), 3)
        Black is the smallest value of all maps (0 after a ReLU), white the largest.
    """
    maps = np.asarray(maps, dtype=np.float64)
    if maps.ndim != 3 or maps.size == 0:
        raise ValueError(f"maps must have shape (F, h, w), got {maps.shape}")
    rng = display_range(maps.reshape(-1, maps.shape[2]), signed=False)
    big = maps.repeat(zoom, axis=1).repeat(zoom, axis=2)
    pictures = [colorize(m, rng) for m in big]
    blank = np.full_like(pictures[0], 255)
    pictures += [blank] * (-len(pictures) % ncols)  # a full last row, as wide as the others
    return np.pad(tile(pictures, ncols, gap), ((gap, 0), (gap, 0), (0, 0)), constant_values=255)


def to_png(rgb, max_size: int | None = None, palette: Sequence[int] | None = None) -> bytes:
    """Encode a picture as PNG bytes, shrinking it so its longer side is at most ``max_size``.

    Parameters
    ----------
    rgb : array_like, shape (H, W) or (H, W, 3), dtype uint8
        For example the result of :func:`colorize` or :func:`picture`.
    max_size : int, optional
        Longest side in pixels of the encoded image (area-averaged down-scaling; an image
        that is already small enough is not enlarged).
    palette : sequence of int, optional
        Up to 256 RGB colours, flattened (``[r0, g0, b0, r1, ...]``): ``rgb`` is then an
        (H, W) array of indices into it, encoded as a palette PNG (one byte per pixel).

    Returns
    -------
    bytes
        A PNG file.
    """
    a = np.asarray(rgb)
    if a.dtype != np.uint8:
        raise TypeError(f"rgb must be a uint8 array (see colorize), got dtype {a.dtype}")
    if not (a.ndim == 2 or (a.ndim == 3 and a.shape[2] == 3)) or a.size == 0:
        raise ValueError(
            f"rgb must have shape (H, W) or (H, W, 3) and be non-empty, got shape {a.shape}"
        )
    if palette is not None:
        if a.ndim != 2 or max_size is not None:
            raise ValueError("a palette picture must be (H, W) indices, without max_size")
        img = Image.fromarray(np.ascontiguousarray(a), mode="P")
        img.putpalette(list(palette))
    else:
        img = Image.fromarray(a)
    if max_size is not None:
        if max_size < 1:
            raise ValueError(f"max_size must be at least 1, got {max_size}")
        scale = max_size / max(img.size)
        if scale < 1:
            size = (max(1, round(img.width * scale)), max(1, round(img.height * scale)))
            img = img.resize(size, Image.Resampling.BOX)
    buffer = io.BytesIO()
    img.save(buffer, format="PNG", compress_level=1)
    return buffer.getvalue()


def figure_png(figure, dpi: float = 80) -> bytes:
    """PNG bytes of a Matplotlib figure, drawn at ``dpi`` (for an ``ipywidgets.Image``)."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=dpi)
    return buffer.getvalue()
