"""Pooling explorer: max or average pooling of a photo or a feature map, redrawn live.

The learner picks the pooling (max or average), the window size, the stride and the
padding, on a real photo or on a feature map computed from it (a ReLU of a
:mod:`dlcv.kernels` filter response, the kind of map a convolutional layer makes).
Four pictures update at once:

* the whole input, with a box around the zoomed-in crop;
* the whole output, with the box of output units that come from that crop;
* the crop, 8x enlarged, with every pooling window outlined, padding striped and
  pixels that no window reads tinted;
* the pooled values over the same crop: each output value painted where its window
  starts, so the learner sees which input pixels became which output value.

A line of text gives the output shape and the formula behind it. An impossible
setting (padding more than half the window) shows the library's message inside the
widget; nothing is raised and the next valid setting redraws (see
:class:`dlcv.widgets.Explorer`). The window geometry comes from :mod:`dlcv.pool`
(:func:`~dlcv.pool.window_starts`, :func:`~dlcv.pool.coverage`,
:func:`~dlcv.pool.window_owner`).

Pictures are PNG bytes in ``ipywidgets.Image``, drawn with NumPy and :mod:`dlcv.render`
as one-byte-per-pixel palette images (grey levels, the colour rule of :mod:`dlcv.render`
for non-negative maps, plus six Okabe-Ito colours), not Matplotlib figures, so an update
takes milliseconds (``benchmarks/bench_widgets.py`` measures it).

>>> from dlcv.widgets.pooling_explorer import PoolingExplorer
>>> explorer = PoolingExplorer(image="camera", mode="max", kernel_size=2)  # doctest: +SKIP
>>> explorer.kernel_size.value = 4      # doctest: +SKIP
>>> explorer.output.shape               # doctest: +SKIP
(128, 128)
"""

from __future__ import annotations

import html
from typing import NamedTuple

import ipywidgets as widgets
import numpy as np

from dlcv import kernels
from dlcv.conv import correlate2d
from dlcv.data import sample_image
from dlcv.pool import avg_pool2d, coverage, max_pool2d, window_owner, window_starts
from dlcv.render import DisplayRange, fit, outline, to_png, zoom
from dlcv.widgets.base import Explorer, Picture, describe_values, panel, row

__all__ = ["FEATURES", "IMAGES", "PoolingExplorer", "pooling_explorer"]

IMAGES = ("camera", "coins", "astronaut")
"""Photos offered (scikit-image samples, converted to grey)."""

FEATURES = {
    "pixels": "pixels (the photo itself)",
    "sobel_x": "feature map: ReLU(Sobel x)",
    "sobel_y": "feature map: ReLU(Sobel y)",
    "laplacian_8": "feature map: ReLU(Laplacian)",
}
"""Inputs offered: the photo, or ``max(0, correlate2d(photo, kernel))`` for a preset."""

CROPS = ("most detailed patch", "centre", "top-left corner", "bottom-right corner")
"""Where the zoomed crop sits. The most detailed patch is the 32x32 patch of the input with
the largest standard deviation; the corners show the padding and the floor-mode remainder."""

MAX_WINDOW = 8
CROP = 32  # input pixels per side of the zoomed crop
ZOOM = 8  # screen pixels per crop pixel
PANEL = CROP * ZOOM  # 256 px: the zoomed panels
WHOLE = 192  # longer side of the whole-image panels (small PNGs keep notebooks light)

# Pictures are palette ("P") images: indices 0..N_GREY-1 are grey levels (the course's
# colour rule for non-negative maps, 0 = black), the last six are Okabe-Ito colours that
# stay readable with every common colour-vision deficiency. One byte per pixel makes the
# PNGs small and fast to encode.
N_GREY = 250
SKY, ORANGE, GREEN, PURPLE, BLUE, WHITE = range(N_GREY, N_GREY + 6)
_WINDOW_COLOURS = (SKY, ORANGE)
_PALETTE = (
    np.concatenate(
        [
            np.repeat(np.round(np.linspace(0, 255, N_GREY)), 3),
            [86, 180, 233, 230, 159, 0, 0, 158, 115, 204, 121, 167, 0, 114, 178, 255, 255, 255],
        ]
    )
    .astype(np.uint8)
    .tolist()
)


# --------------------------------------------------------------------------- geometry
def _crop_origin(where: str, n: int, k: int, s: int, p: int, size: int, detail: int) -> int:
    """Input index of the crop's first row (or column); negative inside the padding.

    ``detail`` is the index of the most detailed patch's centre along this axis. The
    centre and detail crops start on the window boundary nearest to where they belong.
    """
    if where == "top-left corner":
        return -p
    if where == "bottom-right corner":
        return n + p - size
    middle = detail if where == "most detailed patch" else n // 2
    starts = window_starts(n, k, s, p)
    return int(starts[np.argmin(np.abs(starts - (middle - size // 2)))])


def _most_detailed(data: np.ndarray, size: int = CROP) -> tuple[int, int]:
    """(row, column) of the centre of the ``size`` x ``size`` patch with the largest variance."""
    from scipy.ndimage import uniform_filter

    mean = uniform_filter(data, size, mode="constant")
    variance = uniform_filter(data * data, size, mode="constant") - mean * mean
    h, w = data.shape
    m = size // 2  # keep the patch inside the image
    inner = variance[m : max(h - m, m + 1), m : max(w - m, m + 1)]
    r, c = np.unravel_index(np.argmax(inner), inner.shape)
    return int(r + m), int(c + m)


# --------------------------------------------------------------------------- drawing
def _grey(a: np.ndarray, rng: DisplayRange) -> np.ndarray:
    """Palette indices of the grey levels of ``a`` (NaN -> black), uint8."""
    scaled = (np.asarray(a, dtype=np.float64) - rng.vmin) * ((N_GREY - 1) / (rng.vmax - rng.vmin))
    return np.clip(np.nan_to_num(scaled, nan=0.0) + 0.5, 0, N_GREY - 1).astype(np.uint8)


def _zoom(index: np.ndarray) -> np.ndarray:
    return zoom(index, ZOOM)


def _png(index: np.ndarray) -> bytes:
    """PNG bytes of a palette-index image (see ``_PALETTE``)."""
    return to_png(index, palette=_PALETTE)


class _Source(NamedTuple):
    """What the explorer pools, with what it needs to draw it (cached per photo and input)."""

    data: np.ndarray  # (H, W) the map being pooled
    rng: DisplayRange  # its grey scale
    picture: np.ndarray  # the whole map fitted to the panel, as palette indices
    detail: tuple[int, int]  # centre of the most detailed 32x32 patch


class _Geometry:
    """Where the windows and the zoomed crop lie, in input coordinates (rows, then columns)."""

    def __init__(self, shape, k, s, p, rows, cols, row_starts, col_starts, selected):
        self.shape, self.k, self.s, self.p = shape, k, s, p
        self.rows, self.cols = rows, cols  # input indices shown in the crop (may be padding)
        self.row_starts, self.col_starts = row_starts, col_starts  # every window's first index
        self.selected = selected  # (i, j): the output unit highlighted in the crop

    @classmethod
    def of(cls, shape, k, s, p, where, detail=None):
        """Geometry for an input of ``shape``; ``detail`` is the most detailed patch's centre."""
        detail = (shape[0] // 2, shape[1] // 2) if detail is None else detail
        axes = []
        for n, middle in zip(shape, detail, strict=True):
            size = min(CROP, n + 2 * p)
            first = _crop_origin(where, n, k, s, p, size, middle)
            starts = window_starts(n, k, s, p)
            chosen = int(np.argmin(np.abs(starts - (first + (size - k) // 2))))
            axes.append((first + np.arange(size), starts, chosen))
        (rows, row_starts, i), (cols, col_starts, j) = axes
        return cls(shape, k, s, p, rows, cols, row_starts, col_starts, (i, j))


class PoolResult(NamedTuple):
    """What :meth:`PoolingExplorer.compute` returns."""

    source: _Source
    output: np.ndarray
    geometry: _Geometry
    name: str  # the photo and the input map, for the status line


class PoolingExplorer(Explorer):
    """Interactive max/average pooling on a photo or a feature map (an :class:`Explorer`).

    Parameters
    ----------
    image : {"camera", "coins", "astronaut"}
        Starting photo (grey, floats in [0, 1]; camera and astronaut are 512x512).
    feature : {"pixels", "sobel_x", "sobel_y", "laplacian_8"}
        Pool the photo itself or ``max(0, correlate2d(photo, kernel, padding="same"))``.
    mode : {"max", "avg"}
    kernel_size : int, 1..8
    stride : int, 1..8
    padding : int, 0..4
        Must be at most ``kernel_size // 2``; otherwise the widget shows why.
    crop : {"most detailed patch", "centre", "top-left corner", "bottom-right corner"}
        Where the zoomed 32x32 crop sits (see :data:`CROPS`).

    Attributes
    ----------
    mode : ipywidgets.ToggleButtons
        ``"max"`` or ``"avg"``.
    kernel_size, stride, padding : ipywidgets.IntSlider
        The pooling settings (window 1..8, stride 1..8, padding 0..4).
    image, feature, crop : ipywidgets.Dropdown
        The photo, the input map (pixels or a feature map) and the crop position.
    status : ipywidgets.HTML
        Output shape and the formula that gives it.
    input_view, output_view, windows_view, pooled_view : ipywidgets.Image
        The four pictures (PNG).
    input : ndarray, shape (H, W)
        The map being pooled (on display).
    output : ndarray, shape (H', W')
        The pooled map on display (``dlcv.pool.max_pool2d`` or ``avg_pool2d`` of ``input``).
    message, error, update_ms
        See :class:`dlcv.widgets.Explorer`; padding over half the window is an error.
    """

    def __init__(
        self,
        image: str = "camera",
        feature: str = "pixels",
        mode: str = "max",
        kernel_size: int = 2,
        stride: int = 2,
        padding: int = 0,
        crop: str = "most detailed patch",
    ):
        super().__init__()
        self._cache: dict[tuple[str, str], _Source] = {}
        self.input = np.zeros((1, 1))
        self.output = np.zeros((1, 1))
        self.mode = widgets.ToggleButtons(
            options=[("max", "max"), ("average", "avg")], value=mode, description="pooling"
        )
        self.kernel_size = widgets.IntSlider(
            value=kernel_size, min=1, max=MAX_WINDOW, description="window"
        )
        self.stride = widgets.IntSlider(value=stride, min=1, max=MAX_WINDOW, description="stride")
        self.padding = widgets.IntSlider(
            value=padding, min=0, max=MAX_WINDOW // 2, description="padding"
        )
        self.image = widgets.Dropdown(options=IMAGES, value=image, description="photo")
        self.feature = widgets.Dropdown(
            options=[(label, key) for key, label in FEATURES.items()],
            value=feature,
            description="input",
        )
        self.crop = widgets.Dropdown(options=CROPS, value=crop, description="zoom on")
        self.status = widgets.HTML()
        views = [Picture(format="png") for _ in range(4)]
        self.input_view, self.output_view, self.windows_view, self.pooled_view = views
        legend = widgets.HTML(
            "<small>Zoomed crop: pooling windows outlined in alternating sky blue and orange "
            "(when windows overlap, only every m-th is outlined, m = ⌈window / stride⌉, and the "
            "thick sky-blue box is the next window to the right); one window and its output value "
            "in green, as are the crop boxes; purple stripes = padding; blue dots = pixels no "
            "window reads. Each pooled value is painted where its window starts.</small>"
        )
        titles = (
            "input, crop boxed",
            "output, crop boxed",
            "crop ×8 with the pooling windows",
            "pooled values over the crop",
        )
        widths = (WHOLE, WHOLE, PANEL, PANEL)
        panels = [panel(t, v, w + 8) for t, v, w in zip(titles, views, widths, strict=True)]
        controls = widgets.VBox(
            [
                row(self.mode, self.image),
                row(self.kernel_size, self.feature),
                row(self.stride, self.crop),
                self.padding,
            ]
        )
        self.children = [
            controls,
            self.status,
            self.message,
            row(*panels[:2], align_items="flex-start"),
            row(*panels[2:], align_items="flex-start"),
            legend,
        ]
        self.watch(
            self.mode,
            self.kernel_size,
            self.stride,
            self.padding,
            self.image,
            self.feature,
            self.crop,
        )
        self.update()

    # ------------------------------------------------------------------ state
    def _source(self) -> _Source:
        """The input map, its grey range, its whole-image picture and its most detailed patch."""
        key = (self.image.value, self.feature.value)
        if key not in self._cache:
            photo = sample_image(self.image.value, grey=True)
            if self.feature.value == "pixels":
                data, rng = photo, DisplayRange("gray", 0.0, 1.0, False)
            else:
                data = np.maximum(
                    correlate2d(photo, kernels.get(self.feature.value), padding="same"), 0.0
                )
                top = float(np.percentile(data, 99.5)) or 1.0
                rng = DisplayRange("gray", 0.0, top, False)  # a few brightest edges saturate
            picture = _grey(fit(data, WHOLE), rng)
            self._cache[key] = _Source(data, rng, picture, _most_detailed(data))
        return self._cache[key]

    def settings(self) -> dict:
        """The current pooling settings, as keyword arguments of ``dlcv.pool.max_pool2d``."""
        return {
            "kernel_size": self.kernel_size.value,
            "stride": self.stride.value,
            "padding": self.padding.value,
        }

    def compute(self) -> PoolResult:
        """Pool the chosen map with the chosen settings; place the windows and the crop."""
        k, s, p = self.kernel_size.value, self.stride.value, self.padding.value
        source = self._source()
        pool = max_pool2d if self.mode.value == "max" else avg_pool2d
        try:
            out = pool(source.data, **self.settings())
        except ValueError as exc:
            if p <= k // 2:
                raise
            raise ValueError(
                f"This setting is impossible: {exc}. Lower the padding to at most {k // 2} "
                f"(half the window {k}) or widen the window."
            ) from exc
        geo = _Geometry.of(source.data.shape, k, s, p, self.crop.value, source.detail)
        return PoolResult(source, out, geo, f"{self.image.value}, {FEATURES[self.feature.value]}")

    def draw(self, result: PoolResult) -> None:
        (data, rng, picture, _), out, geo = result.source, result.output, result.geometry
        pictures = (
            _png(_whole_input(picture, data.shape, geo)),
            _png(_whole_output(out, rng, geo)),
            _png(_windows_picture(data, rng, geo)),
            _png(_pooled_picture(out, rng, geo)),
        )
        self.input, self.output = data, out
        views = (self.input_view, self.output_view, self.windows_view, self.pooled_view)
        (h, w), (oh, ow) = data.shape, out.shape
        mode = "max" if self.mode.value == "max" else "average"
        how = f"{mode} pooling, window {geo.k}, stride {geo.s}, padding {geo.p}"
        alts = (
            f"input: {result.name}, {h} by {w}, {describe_values(data)}; "
            f"the zoomed crop ({self.crop.value}) boxed",
            f"output of {how}: {oh} by {ow}, {describe_values(out)}; the crop boxed",
            f"the crop of the input enlarged 8 times with the {geo.k} by {geo.k} pooling "
            f"windows at stride {geo.s} outlined" + (f", padding {geo.p} striped" if geo.p else ""),
            f"the pooled values over the crop ({how}), painted where each window starts",
        )
        for view, png, alt in zip(views, pictures, alts, strict=True):
            view.alt, view.value = alt, png
        self.status.value = _status_html(
            self.mode.value, result.name, data.shape, out.shape, geo.k, geo.s, geo.p
        )


def _status_html(mode: str, source: str, shape, out_shape, k: int, s: int, p: int) -> str:
    """Output shape, the floor formula per axis and how many pixels no window reads."""
    (h, w), (oh, ow) = shape, out_shape
    unread = h * w - int(coverage(h, k, s, p).sum()) * int(coverage(w, k, s, p).sum())
    formula = " ; ".join(
        f"{axis}: ⌊({n} + 2·{p} − {k}) / {s}⌋ + 1 = {m}"
        for axis, n, m in (("rows", h, oh), ("columns", w, ow))
    )
    return (
        f"<b>{'max' if mode == 'max' else 'average'} pooling of {html.escape(source)}, "
        f"window {k}×{k}, stride {s}, padding {p}: input {h}×{w} → output {oh}×{ow}</b> "
        f"({oh * ow / (h * w):.1%} as many "
        f"values; {unread:,} input pixels ({unread / (h * w):.1%}) lie in no window)<br>"
        f"<small>{formula}</small>"
    )


def _whole_input(picture: np.ndarray, shape, geo: _Geometry) -> np.ndarray:
    """The whole input (already fitted to the panel) with a box around the crop."""
    canvas = picture.copy()
    scale = canvas.shape[1] / shape[1]
    r0, r1 = max(geo.rows[0], 0), min(geo.rows[-1] + 1, shape[0])
    c0, c1 = max(geo.cols[0], 0), min(geo.cols[-1] + 1, shape[1])
    top, left = int(r0 * scale), int(c0 * scale)
    outline(
        canvas,
        top,
        left,
        max(int(r1 * scale) - top, 1),
        max(int(c1 * scale) - left, 1),
        GREEN,
        2,
    )
    return canvas


def _whole_output(out: np.ndarray, rng: DisplayRange, geo: _Geometry) -> np.ndarray:
    """The whole output fitted to the panel; the units whose windows start in the crop are boxed."""
    fitted = fit(out, WHOLE)
    canvas, scale = _grey(fitted, rng), fitted.shape[1] / out.shape[1]
    i = np.flatnonzero((geo.row_starts >= geo.rows[0]) & (geo.row_starts <= geo.rows[-1]))
    j = np.flatnonzero((geo.col_starts >= geo.cols[0]) & (geo.col_starts <= geo.cols[-1]))
    if i.size and j.size:
        top, left = int(i[0] * scale), int(j[0] * scale)
        outline(
            canvas,
            top,
            left,
            max(int((i[-1] + 1) * scale) - top, 1),
            max(int((j[-1] + 1) * scale) - left, 1),
            GREEN,
            2,
        )
    return canvas


def _windows_picture(data: np.ndarray, rng: DisplayRange, geo: _Geometry) -> np.ndarray:
    """The crop enlarged, padding striped, unread pixels dotted, every window outlined."""
    (h, w), k, s, p = geo.shape, geo.k, geo.s, geo.p
    rows, cols = np.clip(geo.rows, 0, h - 1), np.clip(geo.cols, 0, w - 1)
    canvas = _zoom(_grey(data[rows][:, cols], rng))
    inside = ((geo.rows >= 0) & (geo.rows < h))[:, None] & ((geo.cols >= 0) & (geo.cols < w))[
        None, :
    ]
    read = coverage(h, k, s, p)[rows][:, None] & coverage(w, k, s, p)[cols][None, :]
    yy, xx = np.indices(canvas.shape)
    padding, unread = _zoom(~inside), _zoom(inside & ~read)
    stripe = ((yy + xx) // 4) % 2 == 0
    canvas[padding] = np.where(stripe[padding], PURPLE, WHITE)
    canvas[unread & (yy % 4 < 2) & (xx % 4 < 2)] = BLUE
    # Windows overlapping the crop. When they overlap each other (stride < window) only
    # every m-th one is outlined, m = ceil(k / s), so the outlines tile instead of
    # hiding each other; the selected window (green) and its right-hand neighbour
    # (thick sky blue) show how far consecutive windows overlap.
    i, j = geo.selected
    m = -(-k // s)
    ii = np.flatnonzero((geo.row_starts <= geo.rows[-1]) & (geo.row_starts + k > geo.rows[0]))
    jj = np.flatnonzero((geo.col_starts <= geo.cols[-1]) & (geo.col_starts + k > geo.cols[0]))
    ii, jj = ii[(ii - i) % m == 0], jj[(jj - j) % m == 0]
    ti, tj = np.meshgrid(ii, jj, indexing="ij")
    colour = ((ti - i) // m + (tj - j) // m) % 2
    for parity in (0, 1):
        top = (geo.row_starts[ti[colour == parity]] - geo.rows[0]) * ZOOM + 1
        left = (geo.col_starts[tj[colour == parity]] - geo.cols[0]) * ZOOM + 1
        outline(canvas, top, left, k * ZOOM - 2, k * ZOOM - 2, _WINDOW_COLOURS[parity])
    top = (geo.row_starts[i] - geo.rows[0]) * ZOOM
    if s < k and j + 1 < geo.col_starts.size:
        outline(
            canvas,
            top + 3,
            (geo.col_starts[j + 1] - geo.cols[0]) * ZOOM + 3,
            k * ZOOM - 6,
            k * ZOOM - 6,
            SKY,
            2,
        )
    outline(canvas, top, (geo.col_starts[j] - geo.cols[0]) * ZOOM, k * ZOOM, k * ZOOM, GREEN, 3)
    return canvas


def _pooled_picture(out: np.ndarray, rng: DisplayRange, geo: _Geometry) -> np.ndarray:
    """Each output value painted over the crop where its window starts (a min(stride, k) tile)."""
    (h, w), k, s, p = geo.shape, geo.k, geo.s, geo.p
    oi, oj = window_owner(geo.rows, h, k, s, p), window_owner(geo.cols, w, k, s, p)
    small = _grey(out[np.maximum(oi, 0)][:, np.maximum(oj, 0)], rng)
    small[(oi < 0)[:, None] | (oj < 0)[None, :]] = WHITE
    canvas = _zoom(small)
    i, j = geo.selected
    tile = min(s, k) * ZOOM
    outline(
        canvas,
        (geo.row_starts[i] - geo.rows[0]) * ZOOM,
        (geo.col_starts[j] - geo.cols[0]) * ZOOM,
        tile,
        tile,
        GREEN,
        3,
    )
    return canvas


def pooling_explorer(**kwargs) -> PoolingExplorer:
    """Create a :class:`PoolingExplorer` (one call in a notebook); see its parameters."""
    return PoolingExplorer(**kwargs)
