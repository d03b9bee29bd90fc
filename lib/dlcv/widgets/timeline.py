"""A dated timeline of computer-vision milestones, as a figure and as a widget.

The milestones live in a CSV file (one row per cited publication, see
``lib/dlcv/assets/milestones.csv``, found with ``dlcv.data.asset_path``); this module
reads them, places their labels on a
real time axis without overlaps, and offers a small explorer that filters them by
category and by a range of years.

>>> from dlcv.widgets.timeline import load_milestones, plot_timeline  # doctest: +SKIP
>>> ax = plot_timeline(load_milestones(asset_path("milestones.csv")))  # doctest: +SKIP
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from pathlib import Path

import ipywidgets as widgets
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg, RendererAgg
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from matplotlib.lines import Line2D
from matplotlib.ticker import MultipleLocator
from matplotlib.transforms import offset_copy

__all__ = [
    "CATEGORIES",
    "TimelineExplorer",
    "assign_levels",
    "layout_timeline",
    "load_milestones",
    "plot_timeline",
    "plot_timeline_by_category",
    "select_milestones",
]

#: category key -> (legend text, colour, marker). Okabe-Ito colours (safe for the
#: common colour-vision deficiencies); each category also has its own marker shape.
CATEGORIES = {
    "classical": ("Classical (hand-designed) vision", "#0072B2", "s"),
    "neural": ("Neural-network roots", "#009E73", "^"),
    "data": ("Datasets and benchmarks", "#CC79A7", "D"),
    "deep": ("Deep learning", "#D55E00", "o"),
}
REQUIRED_COLUMNS = ("year", "label", "category", "what", "source")

_MARGINS = {"left": 0.02, "right": 0.98}  # axes span of figures made here (fractions)
_LEVEL_HEIGHT_IN = 0.27  # vertical room per label level, inches
_GAP_PT = 6.0  # horizontal room kept between labels on one level, points


def load_milestones(path: str | Path) -> list[dict]:
    """Read milestones from a CSV file with columns year, label, category, what, source.

    Parameters
    ----------
    path : str or Path
        The CSV file.

    Returns
    -------
    list of dict
        One dict per row, ``year`` as int, sorted by year (ties keep the file's order).

    Raises
    ------
    ValueError
        If a column is missing, a year is not an integer, or a category is unknown.
    """
    with open(path, newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        missing = [c for c in REQUIRED_COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise ValueError(f"{path}: missing column(s) {missing}; need {list(REQUIRED_COLUMNS)}")
        rows = list(reader)
    for line, row in enumerate(rows, start=2):
        try:
            row["year"] = int(row["year"])
        except ValueError:
            raise ValueError(
                f"{path}, line {line}: year {row['year']!r} is not an integer"
            ) from None
        if row["category"] not in CATEGORIES:
            known = list(CATEGORIES)
            raise ValueError(
                f"{path}, line {line}: category {row['category']!r} is not one of {known}"
            )
    return sorted(rows, key=lambda r: r["year"])


def select_milestones(
    milestones: Sequence[dict],
    categories: Iterable[str] | None = None,
    years: tuple[int, int] | None = None,
) -> list[dict]:
    """Keep the milestones of the given categories whose year lies in ``years`` (inclusive).

    Parameters
    ----------
    milestones : sequence of dict
        As returned by :func:`load_milestones`.
    categories : iterable of str, optional
        Keys of :data:`CATEGORIES`; None keeps every category.
    years : (int, int), optional
        First and last year kept; None keeps every year.

    Returns
    -------
    list of dict
    """
    keep = set(CATEGORIES) if categories is None else set(categories)
    unknown = keep - set(CATEGORIES)
    if unknown:
        raise ValueError(f"categories: unknown {sorted(unknown)}; choose from {list(CATEGORIES)}")
    lo, hi = _check_years(years) if years is not None else (-np.inf, np.inf)
    return [m for m in milestones if m["category"] in keep and lo <= m["year"] <= hi]


def _check_years(years) -> tuple[float, float]:
    if len(years) != 2:
        raise ValueError(f"years must be a pair (first, last), got {years!r}")
    lo, hi = years
    if lo > hi:
        raise ValueError(f"years: the first year {lo} is after the last year {hi}")
    return lo, hi


def assign_levels(x, widths, gap: float = 0.0) -> np.ndarray:
    """Give each label a level so that no label overlaps another label or a stem.

    Label ``i`` is drawn at height ``levels[i]`` (positive above the axis, negative
    below) from ``x[i]`` to ``x[i] + widths[i]``, joined to the axis by a vertical stem
    at ``x[i]``. Labels are placed from the latest to the earliest: each goes one level
    above the highest label on its side whose stem stands under it, on the side where
    that level is lower (ties alternate), so that

    * two labels on one level never overlap (they also keep ``gap`` apart), and
    * a stem never crosses a label: if ``x[i] < x[j] <= x[i] + widths[i] + gap`` on one
      side, then ``|levels[j]| < |levels[i]|``.

    Parameters
    ----------
    x : array_like, shape (n,)
        Where each label starts (its event's position).
    widths : array_like, shape (n,)
        Label widths, in the units of ``x``, ``>= 0``.
    gap : float, default 0
        Room kept after each label.

    Returns
    -------
    ndarray of int, shape (n,)
        Non-zero levels.
    """
    x = np.asarray(x, dtype=float)
    widths = np.asarray(widths, dtype=float)
    if x.ndim != 1 or x.shape != widths.shape:
        raise ValueError(
            f"x and widths must be 1-D of one length, got shapes {x.shape} and {widths.shape}"
        )
    if np.any(widths < 0) or not np.all(np.isfinite(x)) or not np.all(np.isfinite(widths)):
        raise ValueError("widths must be finite and >= 0, and x finite")
    if gap < 0:
        raise ValueError(f"gap must be >= 0, got {gap}")
    levels = np.zeros(x.shape, dtype=int)
    side = -1
    for i in np.argsort(-x, kind="stable"):  # latest first
        under = (levels != 0) & (x >= x[i]) & (x <= x[i] + widths[i] + gap)
        up = 1 + max(levels[under & (levels > 0)], default=0)
        down = 1 + max(-levels[under & (levels < 0)], default=0)
        side = (1 if up < down else -1) if up != down else -side
        levels[i] = side * (up if side > 0 else down)
    return levels


def _text_widths_pt(texts: Sequence[str], fontsize: float) -> np.ndarray:
    """Rendered width of each text in points (measured with the Agg renderer)."""
    renderer = RendererAgg(1, 1, 72)  # at 72 dpi a pixel is a point
    prop = FontProperties(size=fontsize)
    return np.array(
        [renderer.get_text_width_height_descent(t, prop, ismath=False)[0] for t in texts]
    )


def _label(m: dict) -> str:
    return f"{m['year']} {m['label']}"


def layout_timeline(
    milestones: Sequence[dict],
    axes_width_in: float,
    xlim: tuple[float, float],
    fontsize: float = 9.0,
) -> tuple[np.ndarray, tuple[float, float]]:
    """Label levels, and the year range, of a timeline drawn ``axes_width_in`` inches wide.

    Each label starts 3 points right of its year. The range's right end is moved
    right as far as needed for the last labels to fit inside the axes.

    Parameters
    ----------
    milestones : sequence of dict, length n
        As returned by :func:`load_milestones`.
    axes_width_in : float
        Width of the axes in inches, > 0.
    xlim : (float, float)
        Requested year range (first <= last).
    fontsize : float, default 9
        Label font size in points.

    Returns
    -------
    levels : ndarray of int, shape (n,)
        See :func:`assign_levels`.
    xlim : (float, float)
        The year range to draw, ``xlim[0]`` unchanged.
    """
    if axes_width_in <= 0:
        raise ValueError(f"axes_width_in must be > 0, got {axes_width_in}")
    x0, x1 = _check_years(xlim)
    x = np.array([m["year"] for m in milestones], dtype=float)
    # fraction of the axes width taken by each label (with its 3 pt offset)
    frac = (_text_widths_pt([_label(m) for m in milestones], fontsize) + 3.0) / (
        axes_width_in * 72.0
    )
    if np.any(frac >= 1):
        raise ValueError(
            f"axes_width_in={axes_width_in} is too narrow for the labels at fontsize {fontsize}"
        )
    # smallest right end with x + frac * (x1 - x0) <= x1 for every label
    x1 = max([x1, *((x - frac * x0) / (1 - frac))])
    per_unit = x1 - x0
    levels = assign_levels(x, frac * per_unit, gap=_GAP_PT / (axes_width_in * 72.0) * per_unit)
    return levels, (x0, float(x1))


def _xlim(milestones: Sequence[dict]) -> tuple[float, float]:
    years = [m["year"] for m in milestones]
    return (min(years) - 3, max(years) + 1) if years else (1950, 2030)


def plot_timeline(
    milestones: Sequence[dict],
    ax=None,
    *,
    xlim: tuple[float, float] | None = None,
    fontsize: float = 9.0,
    title: str | None = "Milestones of computer vision (year of the cited publication)",
    legend: bool = True,
    width: float = 10.0,
):
    """Draw milestones on a year axis: a marker per event, a stem, a label that overlaps none.

    Parameters
    ----------
    milestones : sequence of dict
        As returned by :func:`load_milestones` (possibly filtered).
    ax : matplotlib Axes, optional
        Where to draw. When None, a figure ``width`` inches wide is made whose height
        fits the number of label levels.
    xlim : (float, float), optional
        Range of years shown; default: from 3 years before the first milestone. The
        right end is moved right as far as the last labels need.
    fontsize : float, default 9
    title : str or None
    legend : bool, default True
        Show a legend of the categories present.
    width : float, default 10
        Width in inches of the figure made when ``ax`` is None.

    Returns
    -------
    matplotlib Axes
    """
    xlim = _check_years(xlim) if xlim is not None else _xlim(milestones)
    if ax is None:
        axes_width = width * (_MARGINS["right"] - _MARGINS["left"])
        levels, _ = layout_timeline(milestones, axes_width, xlim, fontsize)
        fig = Figure(figsize=(width, _figure_height(levels, legend)))
        FigureCanvasAgg(fig)
        fig.subplots_adjust(
            **_MARGINS, bottom=0.9 / fig.get_figheight(), top=1 - 0.45 / fig.get_figheight()
        )
        ax = fig.add_subplot()
    axes_width = ax.get_position().width * ax.figure.get_figwidth()
    levels, xlim = layout_timeline(milestones, axes_width, xlim, fontsize)
    _draw(ax, milestones, levels, xlim, fontsize, legend_room=legend)
    if title:
        ax.set_title(title, fontsize=fontsize + 3)
    if legend:
        present = [c for c in CATEGORIES if any(m["category"] == c for m in milestones)]
        handles = [
            Line2D(
                [],
                [],
                color=CATEGORIES[c][1],
                marker=CATEGORIES[c][2],
                linestyle="",
                label=CATEGORIES[c][0],
            )
            for c in present
        ]
        ax.legend(
            handles=handles,
            loc="upper left",
            fontsize=fontsize + 0.5,
            frameon=True,
            ncols=len(present),
        )
    return ax


def _figure_height(levels: np.ndarray, legend: bool) -> float:
    n_up = int(levels.max()) if len(levels) and levels.max() > 0 else 0
    n_down = int(-levels.min()) if len(levels) and levels.min() < 0 else 0
    return 1.6 + _LEVEL_HEIGHT_IN * (n_up + n_down + 2) + (0.35 if legend else 0.0)


def _draw(ax, milestones, levels, xlim, fontsize, legend_room) -> None:
    top = max(int(levels.max()), 1) if len(levels) else 1
    bottom = min(int(levels.min()), -1) if len(levels) else -1
    x = np.array([m["year"] for m in milestones], dtype=float)
    colours = [CATEGORIES[m["category"]][1] for m in milestones]
    ax.axhline(0, color="0.3", linewidth=1.2, zorder=1)
    stems = (
        np.stack([np.stack([x, np.zeros_like(x)], 1), np.stack([x, levels], 1)], 1)
        if len(x)
        else []
    )
    ax.add_collection(LineCollection(stems, colors=colours, linewidths=0.9, alpha=0.8, zorder=1))
    for key, (_, colour, marker) in CATEGORIES.items():
        mine = np.array([m["category"] == key for m in milestones], dtype=bool)
        if mine.any():
            ax.scatter(x[mine], np.zeros(mine.sum()), marker=marker, s=40, color=colour,
                       edgecolors="white", linewidths=0.8, zorder=3)  # fmt: skip
    shifted = offset_copy(ax.transData, fig=ax.figure, x=3, y=0, units="points")
    for m, level in zip(milestones, levels, strict=True):
        ax.text(
            m["year"],
            level,
            _label(m),
            transform=shifted,
            ha="left",
            va="center",
            fontsize=fontsize,
        )
    ax.set_xlim(*xlim)
    ax.set_ylim(bottom - 0.9, top + (1.6 if legend_room else 0.7))
    ax.set_yticks([])
    for side in ("left", "right", "top"):
        ax.spines[side].set_visible(False)
    span = xlim[1] - xlim[0]
    ax.xaxis.set_major_locator(MultipleLocator(10 if span > 30 else 5 if span > 12 else 1))
    ax.xaxis.set_minor_locator(MultipleLocator(5 if span > 30 else 1 if span > 12 else 0.5))
    ax.set_xlabel("Year")
    ax.grid(axis="x", color="0.9", linewidth=0.6, zorder=0)


def plot_timeline_by_category(
    milestones: Sequence[dict], width: float = 10.0, fontsize: float = 9.0
) -> Figure:
    """Small multiples: one timeline per category, all on the same year axis.

    Returns
    -------
    matplotlib Figure
        One row per category present, heights proportional to the label levels needed.
    """
    present = [c for c in CATEGORIES if any(m["category"] == c for m in milestones)]
    if not present:
        raise ValueError("milestones: nothing to draw (the list is empty)")
    groups = [select_milestones(milestones, [c]) for c in present]
    axes_width = width * (_MARGINS["right"] - _MARGINS["left"])
    xlim = layout_timeline(milestones, axes_width, _xlim(milestones), fontsize)[
        1
    ]  # fits every label
    heights = [
        _figure_height(layout_timeline(g, axes_width, xlim, fontsize)[0], legend=False) - 1.2
        for g in groups
    ]
    fig = Figure(figsize=(width, sum(heights) + 0.8), layout=None)
    FigureCanvasAgg(fig)
    grid = fig.add_gridspec(len(groups), 1, height_ratios=heights, hspace=0.75)
    fig.subplots_adjust(
        **_MARGINS, bottom=0.55 / fig.get_figheight(), top=1 - 0.35 / fig.get_figheight()
    )
    for i, (cat, group) in enumerate(zip(present, groups, strict=True)):
        ax = fig.add_subplot(grid[i])
        plot_timeline(group, ax, xlim=xlim, fontsize=fontsize, title=None, legend=False)
        ax.set_title(f"{CATEGORIES[cat][0]} ({len(group)} milestones)", fontsize=fontsize + 2,
                     color=CATEGORIES[cat][1], loc="left")  # fmt: skip
        if i < len(groups) - 1:
            ax.set_xlabel("")
    return fig


class TimelineExplorer(widgets.VBox):
    """Filter the milestone timeline by category (check boxes) and by years (a range slider).

    Parameters
    ----------
    milestones : sequence of dict
        As returned by :func:`load_milestones`.
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
    message : ipywidgets.HTML
        How many milestones are shown, or what is wrong with the selection.
    """

    def __init__(self, milestones: Sequence[dict], width: float = 10.0, dpi: int = 80):
        if not milestones:
            raise ValueError("milestones: the list is empty; load them with load_milestones(path)")
        self.milestones = list(milestones)
        self._width, self._dpi = width, dpi
        self._cache: dict[tuple, bytes] = {}
        first, last = _xlim(self.milestones)
        self.boxes = {
            key: widgets.Checkbox(value=True, description=text, indent=False,
                                  layout=widgets.Layout(width="auto", margin="0 14px 0 0"))
            for key, (text, _, _) in CATEGORIES.items()
        }  # fmt: skip
        self.years = widgets.IntRangeSlider(
            value=(first, last), min=first, max=last, step=1, description="Years",
            continuous_update=False, layout=widgets.Layout(width="60%"),
        )  # fmt: skip
        self.image = widgets.Image(format="png")
        self.message = widgets.HTML()
        for control in (*self.boxes.values(), self.years):
            control.observe(self._on_change, names="value")
        boxes = widgets.HBox(list(self.boxes.values()), layout=widgets.Layout(flex_flow="row wrap"))
        super().__init__([boxes, self.years, self.message, self.image])
        self.update()

    def __repr__(self) -> str:  # short, stable text for notebooks (the PNG is not text)
        return f"TimelineExplorer({len(self.milestones)} milestones)"

    def _on_change(self, change) -> None:
        self.update()

    def update(self) -> None:
        """Redraw for the current controls; never raises (problems go to ``message``)."""
        try:
            chosen = [key for key, box in self.boxes.items() if box.value]
            if not chosen:
                self.message.value = "<b>Select at least one category</b> to see milestones."
                return
            lo, hi = self.years.value
            shown = select_milestones(self.milestones, chosen, (lo, hi))
            if not shown:
                self.message.value = (
                    f"<b>No milestone</b> of the chosen categories between {lo} and {hi}."
                )
                return
            key = (tuple(chosen), lo, hi)
            if key not in self._cache:  # drawing text is slow; a state seen before is instant
                self._cache[key] = self._render(shown, (lo - 2, hi + 2))
            self.image.value = self._cache[key]
            self.message.value = (
                f"Showing {len(shown)} of {len(self.milestones)} milestones, {lo}–{hi}."
            )
        except Exception as err:  # a widget callback must not raise
            self.message.value = f"<b>Could not draw the timeline:</b> {type(err).__name__}: {err}"

    def _render(self, shown: Sequence[dict], xlim: tuple[float, float]) -> bytes:
        ax = plot_timeline(shown, xlim=xlim, width=self._width, title=None)
        buffer = io.BytesIO()
        ax.figure.savefig(buffer, format="png", dpi=self._dpi)
        return buffer.getvalue()
