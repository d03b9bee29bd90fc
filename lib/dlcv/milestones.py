"""Dated milestones of computer vision (chapter 01): loading, selecting, laying out labels.

The milestones live in a CSV file (one row per cited publication, see
``lib/dlcv/assets/milestones.csv``, found with :func:`dlcv.data.asset_path`). This module
reads and filters them and places their labels on a real time axis without overlaps;
:func:`dlcv.plot.plot_timeline` draws them and
:class:`dlcv.widgets.timeline.TimelineExplorer` filters them interactively.

>>> from dlcv.data import asset_path
>>> milestones = load_milestones(asset_path("milestones.csv"))
>>> deep = select_milestones(milestones, ["deep"], years=(2012, 2015))
>>> milestone_label(deep[0])
'2012 AlexNet'
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import RendererAgg
from matplotlib.font_manager import FontProperties

__all__ = [
    "CATEGORIES",
    "REQUIRED_COLUMNS",
    "assign_levels",
    "check_years",
    "layout_timeline",
    "load_milestones",
    "milestone_label",
    "select_milestones",
    "year_span",
]

#: category key -> (legend text, colour, marker) of the timeline figures. Okabe-Ito
#: colours (safe for the common colour-vision deficiencies); each category also has its
#: own marker shape.
CATEGORIES = {
    "classical": ("Classical (hand-designed) vision", "#0072B2", "s"),
    "neural": ("Neural-network roots", "#009E73", "^"),
    "data": ("Datasets and benchmarks", "#CC79A7", "D"),
    "deep": ("Deep learning", "#D55E00", "o"),
}
REQUIRED_COLUMNS = ("year", "label", "category", "what", "source")

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
    lo, hi = check_years(years) if years is not None else (-np.inf, np.inf)
    return [m for m in milestones if m["category"] in keep and lo <= m["year"] <= hi]


def check_years(years) -> tuple[float, float]:
    """``years`` as a pair ``(first, last)`` with ``first <= last``, or a ValueError."""
    if len(years) != 2:
        raise ValueError(f"years must be a pair (first, last), got {years!r}")
    lo, hi = years
    if lo > hi:
        raise ValueError(f"years: the first year {lo} is after the last year {hi}")
    return lo, hi


def year_span(milestones: Sequence[dict]) -> tuple[int, int]:
    """Years a timeline of ``milestones`` shows by default: 3 before the first, 1 after the last.

    ``(1950, 2030)`` when there is no milestone.
    """
    years = [m["year"] for m in milestones]
    return (min(years) - 3, max(years) + 1) if years else (1950, 2030)


def milestone_label(milestone: dict) -> str:
    """The text of a milestone on the timeline, e.g. ``'2012 AlexNet'``."""
    return f"{milestone['year']} {milestone['label']}"


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
    """Rendered width of each text in points (measured with Matplotlib's Agg renderer)."""
    renderer = RendererAgg(1, 1, 72)  # at 72 dpi a pixel is a point
    prop = FontProperties(size=fontsize)
    return np.array(
        [renderer.get_text_width_height_descent(t, prop, ismath=False)[0] for t in texts]
    )


def layout_timeline(
    milestones: Sequence[dict],
    axes_width_in: float,
    xlim: tuple[float, float],
    fontsize: float = 9.0,
) -> tuple[np.ndarray, tuple[float, float]]:
    """Label levels, and the year range, of a timeline drawn ``axes_width_in`` inches wide.

    Each label (:func:`milestone_label`) starts 3 points right of its year. The range's
    right end is moved right as far as needed for the last labels to fit inside the axes.

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
    x0, x1 = check_years(xlim)
    x = np.array([m["year"] for m in milestones], dtype=float)
    # fraction of the axes width taken by each label (with its 3 pt offset)
    frac = (_text_widths_pt([milestone_label(m) for m in milestones], fontsize) + 3.0) / (
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
