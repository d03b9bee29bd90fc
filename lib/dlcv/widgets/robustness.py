"""Robustness explorer: one digit, changed a little, and what the classifier now says.

Pick a classifier (the shipped LeNet, or a logistic regression on the pixels), a test
digit and a change: an attack (FGSM or PGD, :func:`dlcv.challenges.attack`) with its
radius ``epsilon``, or a corruption (:mod:`dlcv.corruptions`) with its severity. The
widget shows the digit, the change itself (signed: red where a pixel got brighter, blue
where it got darker) and the changed digit, with the classifier's answer and confidence
before and after, and its ten class probabilities as numbers and bars.

Every control is bounded and the strength slider follows the change (``epsilon`` from 0
to 0.3 for the attacks, each corruption's own sweep), so no setting is impossible.
"""

from __future__ import annotations

import html
from typing import NamedTuple

import ipywidgets as widgets
import numpy as np

from dlcv.challenges import ATTACKS, PGD_STEPS, attack, probabilities
from dlcv.corruptions import CORRUPTIONS, SEVERITIES, corrupt
from dlcv.render import display_range, picture, tile, to_png, zoom
from dlcv.widgets.base import Explorer, Picture, panel, row, set_range

__all__ = ["RobustnessExplorer"]

CHANGES = ("FGSM", "PGD") + CORRUPTIONS
"""The changes offered: the two attacks, then every corruption."""
MAX_EPSILON = 0.3
ZOOM = 4
_CELL = "padding: 0 0.5em; line-height: 1.25; text-align: left"


class Robustness(NamedTuple):
    """What :meth:`RobustnessExplorer.compute` returns."""

    index: int
    label: int
    before: np.ndarray  # (10,) class probabilities of the digit
    after: np.ndarray  # (10,) of the changed digit
    changed: np.ndarray  # (28, 28) the changed digit
    difference: np.ndarray  # (28, 28) changed - original


def _strength_scale(change: str) -> tuple[float, float, float, str]:
    """(low, high, step, readout format) of the strength slider for ``change``."""
    if change in ATTACKS:
        return 0.0, MAX_EPSILON, 0.01, ".2f"
    if change == "thicken":  # a whole number of pixels
        sweep = SEVERITIES[change].sweep
        return float(min(sweep)), float(max(sweep)), 1.0, ".0f"
    sweep = SEVERITIES[change].sweep
    low, high = float(min(sweep)), float(max(sweep))
    return low, high, (high - low) / 30, ".2f"


def _bars(before: np.ndarray, after: np.ndarray, label: int) -> str:
    """The ten class probabilities before and after, as numbers and bars (HTML)."""
    cells = []
    for k in range(len(before)):
        mark = " (true)" if k == label else ""
        bar = '<span style="display:inline-block;height:0.7em;background:{c};width:{w}px"></span>'
        cells.append(
            f"<tr><th scope='row' style='{_CELL}'>{k}{mark}</th>"
            f"<td style='{_CELL}'>{before[k]:.1%} "
            f"{bar.format(c='#0072B2', w=int(round(80 * before[k])))}</td>"
            f"<td style='{_CELL}'>{after[k]:.1%} "
            f"{bar.format(c='#D55E00', w=int(round(80 * after[k])))}</td></tr>"
        )
    return (
        "<table style='border-collapse:collapse;font-size:0.85em'>"
        "<caption style='text-align:left'>class probabilities</caption>"
        f"<tr><th scope='col' style='{_CELL}'>class</th><th scope='col' style='{_CELL}'>before"
        f"</th><th scope='col' style='{_CELL}'>after</th></tr>" + "".join(cells) + "</table>"
    )


class RobustnessExplorer(Explorer):
    """The widget; see the module docstring.

    Parameters
    ----------
    models : dict of str to model
        The classifiers offered, by name: a :class:`dlcv.layers.Sequential` network or a
        fitted scikit-learn ``LogisticRegression`` on the 784 pixels.
    x : ndarray, shape (N, 1, 28, 28)
        Test digits, pixels in [0, 1].
    y : ndarray, shape (N,)
        Their labels.
    start : int
        Index of the first digit shown.
    """

    def __init__(self, models: dict, x, y, start: int = 0):
        if not isinstance(models, dict) or not models:
            raise TypeError("models must be a non-empty dict of name -> classifier")
        x, y = np.asarray(x, dtype=np.float64), np.asarray(y)
        if x.ndim != 4 or x.shape[1:] != (1, 28, 28):
            raise ValueError(f"x must have shape (N, 1, 28, 28), got {x.shape}")
        if y.shape != (len(x),):
            raise ValueError(f"y must have shape ({len(x)},), got {y.shape}")
        super().__init__()
        self.models, self.x, self.y = models, x, y.astype(np.int64)
        self.model = widgets.Dropdown(options=list(models), description="classifier")
        self.index = widgets.IntSlider(
            min=0, max=len(x) - 1, value=int(np.clip(start, 0, len(x) - 1)), description="digit"
        )
        self.change = widgets.Dropdown(options=list(CHANGES), value="FGSM", description="change")
        self.strength = widgets.FloatSlider(
            min=0.0, max=MAX_EPSILON, step=0.01, value=0.1, description="strength",
            readout_format=".2f",
        )  # fmt: skip
        self.meaning = widgets.HTML()
        self.digits = Picture(format="png")
        self.report = widgets.HTML()
        self.probabilities = widgets.HTML()
        self.children = [
            row(self.model, self.change),
            row(self.index, self.strength),
            self.meaning,
            row(
                panel("digit · change (red brighter, blue darker) · changed digit", self.digits),
                self.probabilities,
                align_items="flex-start",
            ),
            self.report,
            self.message,
        ]
        self.change.observe(self._follow_change, names="value")
        self.watch(self.model, self.index, self.change, self.strength)
        self.update()

    def _follow_change(self, change) -> None:
        low, high, step, fmt = _strength_scale(change["new"])
        value = 0.1 if change["new"] in ATTACKS else SEVERITIES[change["new"]].sweep[2]
        with self.quiet():
            set_range(self.strength, low, high, step, float(np.clip(value, low, high)), fmt)

    def compute(self) -> Robustness:
        i, kind, strength = self.index.value, self.change.value, float(self.strength.value)
        model = self.models[self.model.value]
        x, y = self.x[i : i + 1], self.y[i : i + 1]
        if kind in ATTACKS:
            changed = attack(model, x, y, kind, strength, steps=PGD_STEPS, seed=0)
        else:
            severity = int(round(strength)) if kind == "thicken" else strength
            changed = corrupt(x, kind, severity, rng=0)
        before, after = probabilities(model, x)[0], probabilities(model, changed)[0]
        return Robustness(i, int(y[0]), before, after, changed[0, 0], changed[0, 0] - x[0, 0])

    def draw(self, result: Robustness) -> None:
        original = self.x[result.index, 0]
        limit = max(float(np.abs(result.difference).max()), 1e-6)
        signed = display_range(np.array([[-limit, limit]]))
        png = to_png(
            tile(
                [
                    zoom(picture(original, display_range(np.array([[0.0, 1.0]]))), ZOOM),
                    zoom(picture(result.difference, signed), ZOOM),
                    zoom(picture(result.changed, display_range(np.array([[0.0, 1.0]]))), ZOOM),
                ],
                gap=8,
            )
        )
        was, now = int(result.before.argmax()), int(result.after.argmax())
        kind, strength = self.change.value, self.strength.value
        setting = (
            f"{kind}, epsilon {strength:.2f}" if kind in ATTACKS else f"{kind}, {strength:.2f}"
        )
        change = result.difference
        self.digits.alt = (
            f"test digit {result.index}, a handwritten {result.label}; the change made by "
            f"{setting}: pixels moved by up to {np.abs(change).max():.2f} (mean "
            f"{np.abs(change).mean():.3f}); and the changed digit"
        )
        self.digits.value = png
        meaning = (
            "epsilon: how far each pixel may move (pixels lie in [0, 1])"
            if kind in ATTACKS
            else SEVERITIES[kind].meaning
        )
        self.meaning.value = f"<i>strength</i> = {html.escape(meaning)}"
        verdict = "still right" if now == result.label else "now wrong"
        if was != result.label:
            verdict = "wrong already before the change"
        self.report.value = (
            f"<b>{html.escape(self.model.value)}</b> on digit {result.index} (a {result.label}): "
            f"before <b>{was}</b> ({result.before[was]:.1%}), after {html.escape(setting)} "
            f"<b>{now}</b> ({result.after[now]:.1%}): {verdict}. Largest pixel change "
            f"{np.abs(change).max():.2f}, L2 size {np.sqrt((change**2).sum()):.2f}."
        )
        self.probabilities.value = _bars(result.before, result.after, result.label)
