"""Digit inspector: pick a test image and see what a trained CNN does with it.

For the chosen image the widget shows, at once:

* the digit, enlarged, with its true label;
* the feature maps after each convolution + ReLU of the network (8 maps, then 16 for
  the course's LeNet), each enlarged, bright where the filter responds;
* the predicted probability of each class as a bar, the prediction marked.

A menu restricts the slider to the images the network gets wrong. Pictures are drawn
with NumPy and :func:`dlcv.plot.colorize` and encoded by Pillow (no Matplotlib figure),
so an update takes milliseconds. A bad setting shows a message inside the widget; a
callback never raises.

>>> from dlcv.widgets.training import digit_inspector
>>> inspector = digit_inspector(model, x_test, y_test)   # doctest: +SKIP
>>> inspector.index.value = 7                             # doctest: +SKIP
"""

from __future__ import annotations

import html

import ipywidgets as widgets
import numpy as np

from dlcv.render import feature_mosaic, to_png
from dlcv.train import Sequential, conv_feature_maps, predict_proba

__all__ = ["DigitInspector", "digit_inspector"]

SHOW = ("all test images", "mistakes only")


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


class DigitInspector(widgets.VBox):
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
    message : ipywidgets.HTML
        Empty, or what went wrong.
    """

    def __init__(self, model: Sequential, images: np.ndarray, labels: np.ndarray, start: int = 0):
        if not isinstance(model, Sequential):
            raise TypeError(f"model must be a dlcv.train.Sequential, got {type(model).__name__}")
        images, labels = np.asarray(images), np.asarray(labels)
        if images.ndim != 4 or labels.shape != (len(images),) or len(images) == 0:
            raise ValueError(
                f"images must be (N, C, H, W) with N >= 1 and labels (N,), got "
                f"{images.shape} and {labels.shape}"
            )
        self.model, self.images, self.labels = model, images, labels
        self.probs = predict_proba(model, images)
        self.mistakes = np.flatnonzero(self.probs.argmax(axis=1) != labels)
        self._maps: dict[int, list[np.ndarray]] = {}  # feature maps of the images seen
        self.show = widgets.Dropdown(options=SHOW, value=SHOW[0], description="show")
        self.index = widgets.IntSlider(
            min=0, max=len(images) - 1, value=start, description="image", continuous_update=True
        )
        self.status = widgets.HTML()
        self.picture = widgets.Image(format="png")
        self.bars = widgets.HTML()
        self.message = widgets.HTML()
        self.show.observe(self._on_show, names="value")
        self.index.observe(self._on_change, names="value")
        super().__init__(
            [
                widgets.HBox([self.show, self.index]),
                self.status,
                widgets.HBox([self.picture, self.bars]),
                self.message,
            ]
        )
        self.update()

    def current(self) -> int:
        """Index into ``images`` of the image shown."""
        pool = self.mistakes if self.show.value == SHOW[1] else np.arange(len(self.images))
        return int(pool[self.index.value])

    def _on_show(self, change=None) -> None:
        n = len(self.mistakes) if self.show.value == SHOW[1] else len(self.images)
        if n == 0:
            self._error("the network makes no mistake on these images: nothing to show")
            return
        self.index.value = min(self.index.value, n - 1)
        self.index.max = n - 1
        self.update()

    def _on_change(self, change=None) -> None:
        self.update()

    def _error(self, text: str) -> None:
        self.message.value = f"<span style='color:#D55E00'>⚠ {html.escape(text)}</span>"

    def update(self) -> None:
        """Redraw for the current settings; problems go to ``message``, never raised."""
        try:
            i = self.current()
            image, label = self.images[i], int(self.labels[i])
            if i not in self._maps:
                self._maps[i] = conv_feature_maps(self.model, image.astype(self.model.dtype))
            maps = self._maps[i]
            digit = feature_mosaic(image[:1], zoom=4, ncols=1)
            panels = [digit] + [
                feature_mosaic(m, zoom=max(1, 56 // m.shape[1]), ncols=4) for m in maps
            ]
            height = max(p.shape[0] for p in panels)
            row = np.full(
                (height, sum(p.shape[1] for p in panels) + 12 * len(panels), 3), 255, np.uint8
            )
            x = 0
            for p in panels:
                row[: p.shape[0], x : x + p.shape[1]] = p
                x += p.shape[1] + 12
            self.picture.value = to_png(row)
            self.bars.value = _bars_html(self.probs[i], label)
            names = " | ".join(
                f"conv {k + 1}: {m.shape[0]} maps {m.shape[1]}×{m.shape[2]}"
                for k, m in enumerate(maps)
            )
            self.status.value = (
                f"test image {i} (of {len(self.images)}; {len(self.mistakes)} "
                f"mistakes) — left: the digit; then {names}"
            )
            self.message.value = ""
        except Exception as err:  # a widget callback must never raise
            self._error(f"{type(err).__name__}: {err}")


def digit_inspector(
    model: Sequential, images: np.ndarray, labels: np.ndarray, start: int = 0
) -> DigitInspector:
    """Create a :class:`DigitInspector` (display it as a cell's last expression)."""
    return DigitInspector(model, images, labels, start)
