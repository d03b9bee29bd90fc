"""Digit inspector: pick a digit and see what a trained CNN does with it.

For the chosen image the widget shows, at once:

* the digit, enlarged, with its true label;
* the feature maps after each convolution + ReLU of the network (16 maps, then 32 for
  the course's shipped LeNet), each enlarged, bright where the filter responds;
* the predicted probability of each class as a bar, the prediction marked.

A menu restricts the slider to the images the network gets wrong. Pictures are drawn
with :mod:`dlcv.render` (:func:`~dlcv.render.feature_mosaic`, no Matplotlib figure), so
an update takes milliseconds. A bad setting shows a message inside the widget (see
:class:`dlcv.widgets.Explorer`).

>>> from dlcv.widgets.training import digit_inspector
>>> inspector = digit_inspector(model, x_test, y_test)   # doctest: +SKIP
>>> inspector.index.value = 7                             # doctest: +SKIP
"""

from __future__ import annotations

from typing import NamedTuple

import ipywidgets as widgets
import numpy as np

from dlcv.layers import Sequential
from dlcv.render import feature_mosaic, tile, to_png
from dlcv.train import conv_feature_maps, predict_proba
from dlcv.widgets.base import Explorer, Picture, row

__all__ = ["DigitInspector", "digit_inspector"]

SHOW = ("all images", "mistakes only")


def _bars_html(probs: np.ndarray, label: int) -> str:
    """Ten horizontal bars, the predicted class in blue, the true class named."""
    pred = int(probs.argmax())
    rows = []
    for k, p in enumerate(probs):
        colour = "#0072B2" if k == pred else "#999999"
        mark = " ← true" if k == label else ""
        rows.append(
            f"<div style='display:flex;align-items:center;gap:6px;font-family:monospace'>"
            f"<span style='width:1.2em'>{k}</span>"
            f"<span style='display:inline-block;width:160px;background:#eee'>"
            f"<span style='display:block;height:12px;width:{160 * p:.0f}px;background:{colour}'>"
            f"</span></span><span>{p:6.1%}{mark}</span></div>"
        )
    verdict = "correct" if pred == label else "wrong"
    return f"<b>predicted {pred} ({probs[pred]:.1%}), true {label}: {verdict}</b>" + "".join(rows)


class Inspection(NamedTuple):
    """What :meth:`DigitInspector.compute` returns."""

    index: int  # into the images
    image: np.ndarray  # (C, H, W)
    label: int
    maps: list[np.ndarray]  # the feature maps after each convolution


class DigitInspector(Explorer):
    """The widget; see the module docstring.

    Parameters
    ----------
    model : Sequential
        A trained classifier of ``(N, C, H, W)`` images with at least one Conv2D.
    images : ndarray, shape (N, C, H, W)
    labels : ndarray of int, shape (N,)
    start : int
        Index of the first image shown.

    Attributes
    ----------
    index : ipywidgets.IntSlider
        Position in the current list (all images, or the mistakes only).
    show : ipywidgets.Dropdown
    picture : ipywidgets.Image
        The digit and its feature maps, PNG.
    bars : ipywidgets.HTML
        Predicted probabilities.
    status : ipywidgets.HTML
        Which image is shown, and the feature maps' sizes.
    message, error, update_ms
        See :class:`dlcv.widgets.Explorer`; "mistakes only" without mistakes is an error.
    """

    def __init__(self, model: Sequential, images: np.ndarray, labels: np.ndarray, start: int = 0):
        if not isinstance(model, Sequential):
            raise TypeError(f"model must be a dlcv.layers.Sequential, got {type(model).__name__}")
        images, labels = np.asarray(images), np.asarray(labels)
        if images.ndim != 4 or labels.shape != (len(images),) or len(images) == 0:
            raise ValueError(
                f"images must be (N, C, H, W) with N >= 1 and labels (N,), got "
                f"{images.shape} and {labels.shape}"
            )
        super().__init__()
        self.model, self.images, self.labels = model, images, labels
        self.probs = predict_proba(model, images)
        self.mistakes = np.flatnonzero(self.probs.argmax(axis=1) != labels)
        self._maps: dict[int, list[np.ndarray]] = {}  # feature maps of the images seen
        self.show = widgets.Dropdown(options=SHOW, value=SHOW[0], description="show")
        self.index = widgets.IntSlider(
            min=0, max=len(images) - 1, value=start, description="image", continuous_update=True
        )
        self.status = widgets.HTML()
        self.picture = Picture(format="png")
        self.bars = widgets.HTML()
        self.children = [
            row(self.show, self.index),
            self.status,
            row(self.picture, self.bars, align_items="flex-start"),
            self.message,
        ]
        self.watch(self.show, handler=self._on_show)
        self.watch(self.index)
        self.update()

    def _pool(self) -> np.ndarray:
        """Indices into ``images`` the slider walks through (all, or the mistakes)."""
        return self.mistakes if self.show.value == SHOW[1] else np.arange(len(self.images))

    def current(self) -> int:
        """Index into ``images`` of the image shown."""
        pool = self._pool()
        if len(pool) == 0:
            raise ValueError("the network makes no mistake on these images: nothing to show")
        return int(pool[min(self.index.value, len(pool) - 1)])

    def _on_show(self, change=None) -> None:
        n = len(self._pool())
        if n:
            with self.quiet():
                self.index.value = min(self.index.value, n - 1)
                self.index.max = n - 1
        self.update()

    def compute(self) -> Inspection:
        """The chosen image, its label and its feature maps (computed once per image)."""
        i = self.current()
        image = self.images[i]
        if i not in self._maps:
            self._maps[i] = conv_feature_maps(self.model, image.astype(self.model.dtype))
        return Inspection(i, image, int(self.labels[i]), self._maps[i])

    def draw(self, result: Inspection) -> None:
        digit = feature_mosaic(result.image[:1], zoom=4, ncols=1)
        panels = [digit] + [
            feature_mosaic(m, zoom=max(1, 56 // m.shape[1]), ncols=4) for m in result.maps
        ]
        png = to_png(tile(panels, gap=12))
        names = " | ".join(
            f"conv {k + 1}: {m.shape[0]} maps {m.shape[1]}×{m.shape[2]}"
            for k, m in enumerate(result.maps)
        )
        probs = self.probs[result.index]
        self.picture.alt = (
            f"test image {result.index}, a handwritten {result.label}, classified as "
            f"{int(probs.argmax())} with probability {float(probs.max()):.2f}; beside it the "
            f"feature maps of each convolution layer ({names.replace(' | ', '; ')})"
        )
        self.picture.value = png
        self.bars.value = _bars_html(probs, result.label)
        self.status.value = (
            f"image {result.index} (of {len(self.images)}; {len(self.mistakes)} "
            f"mistakes) — left: the digit; then {names}"
        )


def digit_inspector(
    model: Sequential, images: np.ndarray, labels: np.ndarray, start: int = 0
) -> DigitInspector:
    """Create a :class:`DigitInspector` (display it as a cell's last expression)."""
    return DigitInspector(model, images, labels, start)
