"""Timeline explorer: filter chapter 01's milestones by category and by a range of years.

The milestones come from :func:`dlcv.milestones.load_milestones`; the timeline is drawn
by :func:`dlcv.plot.plot_timeline` (the static figures of the chapter use it too).
Drawing text takes Matplotlib a fraction of a second, so every state drawn once is
kept: coming back to it is instant.

>>> from dlcv.data import asset_path
>>> from dlcv.milestones import load_milestones
>>> explorer = TimelineExplorer(load_milestones(asset_path("milestones.csv")))  # doctest: +SKIP
>>> explorer.years.value = (2000, 2024)                                      # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import ipywidgets as widgets

from dlcv.milestones import CATEGORIES, select_milestones, year_span
from dlcv.plot import plot_timeline
from dlcv.render import figure_png
from dlcv.widgets.base import Explorer, Picture, row

__all__ = ["TimelineExplorer"]


class Selection(NamedTuple):
    """What the explorer shows: the categories, the years and the milestones in them."""

    categories: tuple[str, ...]
    years: tuple[int, int]
    shown: list[dict]


class TimelineExplorer(Explorer):
    """Filter the milestone timeline by category (check boxes) and by years (a range slider).

    Parameters
    ----------
    milestones : sequence of dict
        As returned by :func:`dlcv.milestones.load_milestones`.
    width : float, default 10
        Width of the drawn timeline in inches (rendered at ``dpi``).
    dpi : int, default 80

    Attributes
    ----------
    boxes : dict of str -> ipywidgets.Checkbox
        One check box per category.
    years : ipywidgets.IntRangeSlider
    image : ipywidgets.Image
        The timeline as a PNG.
    status : ipywidgets.HTML
        How many milestones are shown.
    message, error, update_ms
        See :class:`dlcv.widgets.Explorer` (an empty selection is an error).
    """

    kept = "The picture still shows the last selection."

    def __init__(self, milestones: Sequence[dict], width: float = 10.0, dpi: int = 80):
        if not milestones:
            raise ValueError("milestones: the list is empty; load them with load_milestones(path)")
        super().__init__()
        self.milestones = list(milestones)
        self._width, self._dpi = width, dpi
        self._pictures: dict[tuple, bytes] = {}  # PNG of every state drawn
        first, last = year_span(self.milestones)
        self.boxes = {
            key: widgets.Checkbox(
                value=True,
                description=text,
                indent=False,
                layout=widgets.Layout(width="auto", margin="0 14px 0 0"),
            )
            for key, (text, _, _) in CATEGORIES.items()
        }
        self.years = widgets.IntRangeSlider(
            value=(first, last),
            min=first,
            max=last,
            step=1,
            description="Years",
            continuous_update=False,
            layout=widgets.Layout(width="60%"),
        )
        self.image = Picture(format="png")
        self.status = widgets.HTML()
        self.children = [
            row(*self.boxes.values()),
            self.years,
            self.status,
            self.message,
            self.image,
        ]
        self.watch(*self.boxes.values(), self.years)
        self.update()

    def __repr__(self) -> str:  # short, stable text for notebooks (the PNG is not text)
        return f"TimelineExplorer({len(self.milestones)} milestones)"

    def compute(self) -> Selection:
        """The chosen categories and years and the milestones they keep (at least one)."""
        chosen = tuple(key for key, box in self.boxes.items() if box.value)
        if not chosen:
            raise ValueError("Select at least one category to see milestones.")
        lo, hi = self.years.value
        shown = select_milestones(self.milestones, chosen, (lo, hi))
        if not shown:
            raise ValueError(f"No milestone of the chosen categories between {lo} and {hi}.")
        return Selection(chosen, (lo, hi), shown)

    def draw(self, result: Selection) -> None:
        (lo, hi), key = result.years, (result.categories, *result.years)
        if key not in self._pictures:
            ax = plot_timeline(result.shown, xlim=(lo - 2, hi + 2), width=self._width, title=None)
            self._pictures[key] = figure_png(ax.figure, self._dpi)
        self.image.alt = (
            f"timeline of {len(result.shown)} milestones, {lo} to {hi} "
            f"({', '.join(result.categories)}): "
            + "; ".join(f"{m['year']} {m['label']}" for m in result.shown)
        )
        self.image.value = self._pictures[key]
        self.status.value = (
            f"Showing {len(result.shown)} of {len(self.milestones)} milestones, {lo}–{hi}."
        )
