"""Few-shot explorer: choose the support digits yourself and see what the prototypes decide.

A 5-way episode on digits 5-9, built by hand from a :class:`dlcv.future.FewShotPool`:
for each digit a slider picks which of its candidate test digits are the support (a
window of ``shots`` consecutive candidates), a menu picks the space the digits are
compared in (raw pixels, HOG, or a network's embedding). The widget shows the support,
each class's mean support image (the prototype itself in pixel space), one query digit
with its squared distance to each prototype, and how many of the pool's queries this
support gets right (:func:`dlcv.future.pool_predictions`).

Every control is bounded, and the support sliders' ranges follow ``shots``, so no setting
is impossible.
"""

from __future__ import annotations

import html
from typing import NamedTuple

import ipywidgets as widgets
import numpy as np

from dlcv.future import TEST_CLASSES, FewShotPool, pool_predictions
from dlcv.render import display_range, picture, tile, to_png, zoom
from dlcv.widgets.base import Explorer, Picture, panel, row, set_range

__all__ = ["FewShotExplorer"]

MAX_SHOTS = 5
ZOOM = 2
_CELL = "padding: 0 0.5em; line-height: 1.25; text-align: left"
_GREY = display_range(np.array([[0.0, 1.0]]))


class FewShot(NamedTuple):
    """What :meth:`FewShotExplorer.compute` returns."""

    support: list  # per class, the pool indices of its support digits
    distances: np.ndarray  # (n_queries, 5) squared distances to the prototypes
    predicted: np.ndarray  # (n_queries,) digit of the nearest prototype
    query: int  # position of the shown query in pool.queries


def _distance_table(distances: np.ndarray, label: int) -> str:
    """The shown query's distance to each prototype, nearest marked, as text and bars."""
    nearest = int(distances.argmin())
    top = float(distances.max()) or 1.0
    cells = []
    for k, digit in enumerate(TEST_CLASSES):
        marks = [m for m, on in (("nearest", k == nearest), ("true", digit == label)) if on]
        mark = f" ({', '.join(marks)})" if marks else ""
        width = int(round(100 * distances[k] / top))
        colour = "#0072B2" if k == nearest else "#999999"
        bar = ('<span style="display:inline-block;height:0.7em;'
               f'background:{colour};width:{width}px"></span>')  # fmt: skip
        cells.append(f"<tr><th scope='row' style='{_CELL}'>{digit}{mark}</th>"
                     f"<td style='{_CELL}'>{distances[k]:.4g} {bar}</td></tr>")  # fmt: skip
    return (
        "<table style='border-collapse:collapse;font-size:0.85em'>"
        "<caption style='text-align:left'>squared distance to each prototype</caption>"
        f"<tr><th scope='col' style='{_CELL}'>digit</th><th scope='col' style='{_CELL}'>"
        "distance</th></tr>" + "".join(cells) + "</table>"
    )


class FewShotExplorer(Explorer):
    """The widget; see the module docstring.

    Parameters
    ----------
    pool : dlcv.future.FewShotPool
        The candidates and queries (:func:`dlcv.future.fewshot_pool`).
    spaces : dict of str to ndarray (N, D)
        The spaces offered, by name: one embedding row per digit of ``pool.x``
        (:func:`dlcv.future.embed`).
    shots : int
        Support digits per class at the start, 1 to 5.
    """

    def __init__(self, pool: FewShotPool, spaces: dict, shots: int = 1):
        if not isinstance(pool, FewShotPool):
            raise TypeError("pool must be a FewShotPool (dlcv.future.fewshot_pool()), got "
                            f"{type(pool).__name__}")  # fmt: skip
        if not isinstance(spaces, dict) or not spaces:
            raise TypeError("spaces must be a non-empty dict of name -> embeddings (N, D)")
        for name, e in spaces.items():
            if np.ndim(e) != 2 or len(e) != len(pool.x):
                raise ValueError(f"spaces[{name!r}] must have one row per pool digit "
                                 f"({len(pool.x)}), got shape {np.shape(e)}")  # fmt: skip
        n_candidates = pool.candidates.shape[1]
        top = min(MAX_SHOTS, n_candidates)
        super().__init__()
        self.pool, self.spaces = pool, {k: np.asarray(v, np.float64) for k, v in spaces.items()}
        self.space = widgets.Dropdown(options=list(spaces), description="compare in")
        self.shots = widgets.IntSlider(min=1, max=top, value=int(np.clip(shots, 1, top)),
                                       description="shots")  # fmt: skip
        self.starts = [
            widgets.IntSlider(
                min=0, max=n_candidates - self.shots.value, value=0, description=f"support of {d}"
            )  # fmt: skip
            for d in TEST_CLASSES
        ]
        self.query = widgets.IntSlider(min=0, max=len(pool.queries) - 1, value=0,
                                       description="query")  # fmt: skip
        self.support_picture = Picture(format="png")
        self.query_picture = Picture(format="png")
        self.distances = widgets.HTML()
        self.report = widgets.HTML()
        self.children = [
            row(self.space, self.shots, self.query),
            row(*self.starts),
            row(
                panel("support (one column per digit) · their mean image", self.support_picture),
                panel("query", self.query_picture),
                self.distances,
                align_items="flex-start",
            ),
            self.report,
            self.message,
        ]
        self.shots.observe(self._follow_shots, names="value")
        self.watch(self.space, self.shots, self.query, *self.starts)
        self.update()

    def _follow_shots(self, change) -> None:
        high = self.pool.candidates.shape[1] - change["new"]
        with self.quiet():
            for s in self.starts:
                set_range(s, 0, high, 1, min(s.value, high))

    def _positions(self) -> list[list[int]]:
        k = self.shots.value
        return [list(range(s.value, s.value + k)) for s in self.starts]

    def compute(self) -> FewShot:
        positions = self._positions()
        distances, predicted = pool_predictions(self.spaces[self.space.value], self.pool,
                                                positions)  # fmt: skip
        support = [list(self.pool.candidates[c, p]) for c, p in enumerate(positions)]
        return FewShot(support, distances, predicted, self.query.value)

    def draw(self, result: FewShot) -> None:
        x, y, k = self.pool.x, self.pool.y, self.shots.value
        cells = [zoom(picture(x[result.support[c][r], 0], _GREY), ZOOM)
                 for r in range(k) for c in range(len(TEST_CLASSES))]  # fmt: skip
        means = [x[s, 0].mean(axis=0) for s in result.support]
        cells += [zoom(picture(m, _GREY), ZOOM) for m in means]
        support_png = to_png(tile(cells, ncols=len(TEST_CLASSES), gap=4))
        index = int(self.pool.queries[result.query])
        label, answer = int(y[index]), int(result.predicted[result.query])
        query_png = to_png(zoom(picture(x[index, 0], _GREY), 2 * ZOOM))
        right = result.predicted == y[self.pool.queries]
        space = self.space.value
        ranges = "; ".join(f"digit {d}: candidates {s.value}-{s.value + k - 1}"
                           for d, s in zip(TEST_CLASSES, self.starts, strict=True))  # fmt: skip
        self.support_picture.alt = (
            f"{k} support digit{'s' if k > 1 else ''} of each of the digits 5 to 9 ({ranges}), "
            "one column per digit, and below them each digit's mean support image"
        )
        self.query_picture.alt = f"query {result.query}: a handwritten {label}"
        self.support_picture.value = support_png
        self.query_picture.value = query_png
        self.distances.value = _distance_table(result.distances[result.query], label)
        verdict = "right" if answer == label else "wrong"
        self.report.value = (
            f"In <b>{html.escape(space)}</b> the query (a {label}) is nearest to the prototype of "
            f"<b>{answer}</b>: {verdict}. With this support, <b>{right.sum()} of {len(right)}</b> "
            f"queries ({right.mean():.1%}) are right; chance is 20%."
        )
