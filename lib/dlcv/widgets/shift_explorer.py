"""Shift explorer: move a photo by a few pixels and see what convolution and pooling do.

The learner slides the input (``dx``, ``dy``), chooses how the uncovered border is
filled (circular ``np.roll`` or zero fill), picks a kernel and a pooling (max, average
or max + blur, window and stride). The pipeline is that of a CNN layer,
``pool(ReLU(correlate2d(shift(image), kernel, padding="same")))``, and six pictures
update at once:

* top row: the shifted input, its feature map, and the feature map's change against
  the *shifted* feature map of the original, ``F(shift(x)) - shift(F(x))``: zero
  everywhere except a band along the borders (convolution is shift-equivariant);
* bottom row: the pooled map of the original, the pooled map of the shifted input,
  and their difference *in place*, ``P(F(shift(x))) - P(F(x))``: zero only where
  pooling absorbed the shift (invariance).

Feature and pooled maps are grey from 0 to their 99.5th percentile (the few strongest
edges saturate). Difference maps use the diverging map ``RdBu_r`` centred at 0 (white =
no change) with the same limit, so the colour strength says how large a change is
relative to the signal. Pooled outputs that read pixels which are
not moved content (filled or wrapped-in border) are painted grey: they are not
counted. A line of numbers gives the largest equivariance error inside and outside
the interior, and the fraction of pooled outputs unchanged with the largest change.

All numbers come from :mod:`dlcv.shift`; pictures are PNG bytes in
``ipywidgets.Image`` made with :mod:`dlcv.render` (maps shrunk or enlarged by whole
factors, so every screen pixel stands for as many values), so an update takes
milliseconds (``benchmarks/bench_widgets.py`` measures it). A shift that leaves nothing
to compare shows a message (see :class:`dlcv.widgets.Explorer`).

>>> from dlcv.widgets.shift_explorer import ShiftExplorer
>>> explorer = ShiftExplorer(image="camera", dx=1)     # doctest: +SKIP
>>> explorer.result.unchanged                          # doctest: +SKIP
"""

from __future__ import annotations

import html
from typing import NamedTuple

import ipywidgets as widgets
import numpy as np

from dlcv import kernels, render
from dlcv.conv import correlate2d
from dlcv.data import load_mnist, sample_image
from dlcv.render import GREY_CMAP, SIGNED_CMAP, DisplayRange
from dlcv.shift import POOLS, PoolShift, interior_mask, pool_compare, shift_image
from dlcv.widgets.base import Explorer, Picture, describe_values, row

__all__ = ["IMAGES", "MAX_SHIFT", "ShiftExplorer", "shift_explorer"]

IMAGES = ("camera", "astronaut", "coins", "digit")
"""Inputs offered: three scikit-image photos (grey) and one real 28x28 MNIST test digit."""

MAX_SHIFT = 16
MAX_WINDOW = 8
POOL_LABELS = {"max": "max", "avg": "average", "blur": "max + blur (BlurPool)"}
_NOT_COMPARED = np.array([170, 170, 170], np.uint8)  # mid grey: output not compared


def _load(name: str) -> np.ndarray:
    if name == "digit":
        return load_mnist().x_test[0, 0].astype(np.float64)
    return sample_image(name, grey=True)


def _picture(values: np.ndarray, rng: DisplayRange, size: int, mask=None) -> bytes:
    """PNG of a map at about ``size`` pixels: shrunk or enlarged by whole factors.

    Signed maps keep, per shrunk block, the value of largest magnitude, so a thin band of
    errors stays visible. ``mask`` (same shape as ``values``) marks entries painted grey
    (not compared).
    """
    rgb = render.picture(render.fit_whole(values, size, extremes=rng.signed), rng)
    if mask is not None:
        rgb[render.fit_whole(mask.astype(float), size, extremes=True) > 0] = _NOT_COMPARED
    return render.to_png(rgb)


def _top(values: np.ndarray) -> float:
    """Display limit of a non-negative map: its 99.5th percentile (else its maximum, else 1e-12).

    A handful of very strong edges would otherwise leave the rest of the map black.
    """
    top = float(np.percentile(values, 99.5))
    return top if top > 0 else max(float(values.max()), 1e-12)


class ShiftResult(NamedTuple):
    """What :meth:`ShiftExplorer.compute` returns."""

    key: tuple  # image, kernel and pooling: identifies the unshifted pooled map
    shifted: np.ndarray  # the shifted input
    features: np.ndarray  # ReLU(correlate2d(shifted, kernel, "same"))
    equivariance: np.ndarray  # F(shift(x)) - shift(F(x))
    interior: np.ndarray  # bool: where the shifted features must equal the original's
    pooled: PoolShift
    feature_top: float  # display limit of the feature maps


class ShiftExplorer(Explorer):
    """Interactive shift of a photo through convolution, ReLU and pooling (an ``ipywidgets.VBox``).

    Parameters
    ----------
    image : {"camera", "astronaut", "coins", "digit"}
        Starting input (grey, floats in [0, 1]; camera and astronaut are 512x512).
    kernel : str
        A :mod:`dlcv.kernels` preset name.
    dy, dx : int
        Starting shift, -16..16 pixels (positive: down / right).
    mode : {"zero", "wrap"}
        Fill of the uncovered border (:func:`dlcv.shift.shift_image`).
    pool : {"max", "avg", "blur"}
        Max, average, or max + 3x3 binomial blur (:func:`dlcv.shift.blur_pool`).
    pool_size, stride : int
        Pooling window and step, 1..8.
    display_size : int
        Side in pixels of each picture.

    Attributes
    ----------
    image, kernel : ipywidgets.Dropdown
    dy, dx, pool_size, stride : ipywidgets.IntSlider
    mode, pool : ipywidgets.ToggleButtons
    stats : ipywidgets.HTML
        The numbers: equivariance error inside/outside the interior, fraction of pooled
        outputs unchanged, largest change.
    input_view, feature_view, feature_change_view, pooled_before_view, pooled_after_view,
    pooled_change_view : ipywidgets.Image
        The six pictures (PNG).
    shifted_input : ndarray, shape (H, W)
    features : ndarray, shape (H, W)
        ``max(0, correlate2d(shifted_input, kernel, padding="same"))``.
    equivariance : ndarray, shape (H, W)
        ``F(shift(x)) - shift(F(x))`` for those ReLU feature maps.
    interior : ndarray of bool, shape (H, W)
        :func:`dlcv.shift.interior_mask` for this kernel and shift.
    result : dlcv.shift.PoolShift or None
        The pooled maps and the counts on display.
    message, error, update_ms
        See :class:`dlcv.widgets.Explorer`; a shift that leaves no pooled output to
        compare is an error.

    The arrays above are those on display (the last setting that worked).
    """

    def __init__(
        self,
        image: str = "camera",
        kernel: str = "sobel_x",
        dy: int = 0,
        dx: int = 1,
        mode: str = "zero",
        pool: str = "max",
        pool_size: int = 2,
        stride: int = 2,
        display_size: int = 256,
    ):
        super().__init__()
        self._images: dict[str, np.ndarray] = {}
        self._reference: dict[tuple[str, str], tuple[np.ndarray, float]] = {}
        self._pooled_png: dict[tuple, tuple[bytes, float]] = {}
        self._size = int(display_size)
        self.shifted_input = self.features = self.equivariance = np.zeros((1, 1))
        self.interior = np.zeros((1, 1), bool)
        self.result = None
        self._build_controls(image, kernel, dy, dx, mode, pool, pool_size, stride)
        self.children = self._layout()
        self.watch(*self._controls())
        self.update()

    # ------------------------------------------------------------------ building
    def _build_controls(self, image, kernel, dy, dx, mode, pool, pool_size, stride):
        wide = {"description_width": "initial"}
        self.image = widgets.Dropdown(options=IMAGES, value=image, description="input")
        self.kernel = widgets.Dropdown(options=kernels.names(), value=kernel, description="kernel")
        shift = {"min": -MAX_SHIFT, "max": MAX_SHIFT, "style": wide}
        self.dx = widgets.IntSlider(value=dx, description="dx (right)", **shift)
        self.dy = widgets.IntSlider(value=dy, description="dy (down)", **shift)
        fills = [("zero fill", "zero"), ("wrap (np.roll)", "wrap")]
        self.mode = widgets.ToggleButtons(options=fills, value=mode, description="border")
        self.pool = widgets.ToggleButtons(
            options=[(POOL_LABELS[p], p) for p in POOLS], value=pool, description="pooling"
        )
        window = {"min": 1, "max": MAX_WINDOW}
        self.pool_size = widgets.IntSlider(value=pool_size, description="window", **window)
        self.stride = widgets.IntSlider(value=stride, description="stride", **window)
        self.stats = widgets.HTML()
        self._views = tuple(Picture(format="png") for _ in range(6))
        (
            self.input_view,
            self.feature_view,
            self.feature_change_view,
            self.pooled_before_view,
            self.pooled_after_view,
            self.pooled_change_view,
        ) = self._views
        self._captions = [widgets.HTML() for _ in range(6)]

    def _controls(self):
        return (
            self.image,
            self.kernel,
            self.dx,
            self.dy,
            self.mode,
            self.pool,
            self.pool_size,
            self.stride,
        )

    def _layout(self):
        # one wrapping row: three pictures per line in a wide notebook, two in the book
        views = (
            self.input_view,
            self.feature_view,
            self.feature_change_view,
            self.pooled_after_view,
            self.pooled_before_view,
            self.pooled_change_view,
        )
        captions = [self._captions[i] for i in (0, 1, 2, 4, 3, 5)]
        panel = {"margin": "0 6px", "max_width": f"{self._size + 12}px"}
        panels = [
            widgets.VBox([c, v], layout=widgets.Layout(**panel))
            for c, v in zip(captions, views, strict=True)
        ]
        legend = widgets.HTML(
            "<small>Feature and pooled maps: grey, black = 0, white = the 99.5th percentile "
            "(the brightest 0.5 % saturate). Difference maps: red = larger after the shift, "
            "blue = smaller, white = unchanged, limits ± that same value. Grey pooled outputs "
            "read border pixels that are not moved content and are not counted.</small>"
        )
        return [
            row(self.image, self.kernel),
            row(self.dx, self.dy),
            row(self.mode),
            row(self.pool),
            row(self.pool_size, self.stride),
            self.stats,
            self.message,
            row(*panels, align_items="flex-start"),
            legend,
        ]

    # ------------------------------------------------------------------ state
    def _input(self) -> np.ndarray:
        name = self.image.value
        if name not in self._images:
            self._images[name] = _load(name)
        return self._images[name]

    def _reference_features(self, image, kernel) -> tuple[np.ndarray, float]:
        """ReLU feature map of the unshifted input and its display limit (cached)."""
        key = (self.image.value, self.kernel.value)
        if key not in self._reference:
            features = np.maximum(correlate2d(image, kernel, padding="same"), 0.0)
            self._reference[key] = features, _top(features)
        return self._reference[key]

    def compute(self) -> ShiftResult:
        """Shift, correlate, ReLU, pool; compare with the unshifted input (``dlcv.shift``)."""
        image, kernel = self._input(), kernels.get(self.kernel.value)
        dy, dx, mode = self.dy.value, self.dx.value, self.mode.value
        reference, feature_top = self._reference_features(image, kernel)
        shifted = shift_image(image, dy, dx, mode)
        features = np.maximum(correlate2d(shifted, kernel, padding="same"), 0.0)
        interior = interior_mask(image.shape, kernel.shape, dy, dx)
        try:
            pooled = pool_compare(
                reference,
                features,
                self.pool_size.value,
                self.stride.value,
                self.pool.value,
                trusted=interior,
            )
        except ValueError as exc:
            raise ValueError(f"This setting cannot be measured: {exc}") from exc
        equivariance = features - shift_image(reference, dy, dx, mode)
        key = (
            self.image.value,
            self.kernel.value,
            self.pool.value,
            self.pool_size.value,
            self.stride.value,
        )
        return ShiftResult(key, shifted, features, equivariance, interior, pooled, feature_top)

    def draw(self, result: ShiftResult) -> None:
        r, size, top = result.pooled, self._size, result.feature_top
        if result.key not in self._pooled_png:  # the unshifted pooled map: same for every shift
            pooled_top = _top(r.reference)
            rng = DisplayRange(GREY_CMAP, 0.0, pooled_top, False)
            self._pooled_png[result.key] = _picture(r.reference, rng, size), pooled_top
        before_png, pooled_top = self._pooled_png[result.key]
        grey01 = DisplayRange(GREY_CMAP, 0.0, 1.0, False)
        feature_rng = DisplayRange(GREY_CMAP, 0.0, top, False)
        pooled_rng = DisplayRange(GREY_CMAP, 0.0, pooled_top, False)
        change_rng = DisplayRange(SIGNED_CMAP, -top, top, True)
        pooled_change_rng = DisplayRange(SIGNED_CMAP, -pooled_top, pooled_top, True)
        pictures = (
            _picture(result.shifted, grey01, size),
            _picture(result.features, feature_rng, size),
            _picture(result.equivariance, change_rng, size),
            before_png,
            _picture(r.shifted, pooled_rng, size),
            _picture(r.shifted - r.reference, pooled_change_rng, size, mask=~r.valid),
        )
        self.shifted_input, self.features = result.shifted, result.features
        self.equivariance, self.interior, self.result = result.equivariance, result.interior, r
        shift = f"shifted {self.dx.value} right and {self.dy.value} down ({self.mode.value} fill)"
        pool = (
            f"{self.pool.value} pooling, window {self.pool_size.value}, stride {self.stride.value}"
        )
        alts = (
            f"input {self.image.value}, {shift}, {_shape(result.shifted)}",
            f"feature map of {self.kernel.value} on the input {shift}, {_shape(result.features)}, "
            f"{describe_values(result.features)}",
            f"change of the feature map of the input {shift} against the original one shifted, "
            f"{describe_values(result.equivariance)}",
            f"{pool} of the unshifted feature map, {_shape(r.reference)}, "
            f"{describe_values(r.reference)}",
            f"{pool} of the feature map of the input {shift}, {_shape(r.shifted)}, "
            f"{describe_values(r.shifted)}",
            f"change of the pooled map caused by the shift ({shift}), "
            f"{describe_values((r.shifted - r.reference)[r.valid])}; cells without a "
            "counterpart masked",
        )
        for view, png, alt in zip(self._views, pictures, alts, strict=True):
            view.alt, view.value = alt, png
        self._write_captions()
        self._write_stats()

    def _write_captions(self) -> None:
        (h, w), (ph, pw) = self.shifted_input.shape, self.result.reference.shape
        dy, dx = self.dy.value, self.dx.value
        how = "zero fill" if self.mode.value == "zero" else "wrapped"
        k, s = self.pool_size.value, self.stride.value
        pool = f"{POOL_LABELS[self.pool.value]} {k}×{k}, stride {s}"
        texts = [
            f"input x shifted by (dy, dx) = ({dy}, {dx}), {how}, {h}×{w}",
            f"feature map F = ReLU({self.kernel.value} ⋆ shifted x)",
            "change F(shift x) − shift(F(x)): equivariance error",
            f"pooled P(F(x)), unshifted: {pool} → {ph}×{pw}",
            "pooled P(F(shift x)), shifted",
            "change in place P(F(shift x)) − P(F(x))",
        ]
        for caption, text in zip(self._captions, texts, strict=True):
            caption.value = f"<small><b>{html.escape(text)}</b></small>"

    def _write_stats(self) -> None:
        e, inside, r = np.abs(self.equivariance), self.interior, self.result
        outside = e[~inside]
        border = (
            f"outside it (a band of {outside.size:,} border pixels) the largest error is "
            f"{outside.max():.3g}, at {int((outside > 0).sum()):,} pixels"
            if outside.size
            else "there is no border band (no shift)"
        )
        interior_max = float(e[inside].max()) if inside.any() else float("nan")
        compared = int(r.valid.sum())
        self.stats.value = (
            f"<b>Convolution:</b> interior {inside.mean():.1%} of the pixels, largest |error| "
            "there "
            f"<b>{interior_max:.3g}</b>; {html.escape(border)}.<br>"
            f"<b>Pooling:</b> <b>{r.unchanged:.1%}</b> of the {compared:,} compared outputs are "
            f"unchanged; the largest change is <b>{r.max_change:.3g}</b> "
            f"({r.max_change / max(float(r.reference.max()), 1e-12):.0%} of the largest pooled "
            "value)."
        )


def shift_explorer(**kwargs) -> ShiftExplorer:
    """Create a :class:`ShiftExplorer` (one call in a notebook); see its parameters."""
    return ShiftExplorer(**kwargs)


def _shape(array) -> str:
    """``"28 by 28"``: the shape of a picture, for its text alternative."""
    return " by ".join(str(n) for n in array.shape)
