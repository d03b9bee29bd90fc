"""Pictures of chapter 15's under-representation experiment.

* :func:`draw_representation` draws, for one rare group and one part (validation or
  test), the rare group's accuracy and the other two groups' under each training mix of
  :data:`dlcv.fairness.CONDITIONS`: mean over seeds, one standard deviation, every seed as
  a dot. One mix can be highlighted (the others are drawn faded).
* :func:`representation_figure` is the static small-multiples figure beside the chapter's
  fairness explorer: every rare group of :data:`dlcv.fairness.REPRESENTATION_CELLS`, one
  panel each.

The rare group and the others differ by colour (Okabe-Ito) *and* by marker and hatching,
so colour is never the only thing that tells them apart.
"""

from __future__ import annotations

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from dlcv.fairness import CONDITIONS, REPRESENTATION_CELLS, EthicsResults
from dlcv.plot import OKABE_ITO
from dlcv.validate import check_choice

__all__ = ["GROUP_NAMES", "PART_NAMES", "draw_representation", "representation_figure"]

GROUP_NAMES = {"right": "right-leaning", "thick": "thick", "thin": "thin"}
"""How the page names each rare group."""

PART_NAMES = {"val": "validation", "test": "test"}

_RARE = {"color": OKABE_ITO[4], "hatch": "//", "marker": "v"}
_OTHERS = {"color": OKABE_ITO[3], "hatch": "", "marker": "o"}


def _check_results(results) -> EthicsResults:
    if not isinstance(results, EthicsResults):
        raise TypeError("results must be EthicsResults (dlcv.fairness.load_ethics_results()), "
                        f"got {type(results).__name__}")  # fmt: skip
    return results


def draw_representation(ax: Axes, results, attribute: str, rare: str, part: str = "test",
                        highlight: str | None = None, legend: bool = True) -> Axes:  # fmt: skip
    """Bars of the rare group's accuracy and the others' per training mix (see the module
    docstring) on ``ax``; ``highlight`` (a mix) is drawn full, the others faded."""
    results = _check_results(results)
    part = check_choice(part, "part", tuple(PART_NAMES))
    if highlight is not None:
        highlight = check_choice(highlight, "highlight", CONDITIONS)
    summary = results.representation(attribute, rare, part)
    width = 0.38
    for k, condition in enumerate(CONDITIONS):
        alpha = 1.0 if highlight in (None, condition) else 0.35
        for offset, key, style in ((-width / 2, "rare", _RARE), (width / 2, "others", _OTHERS)):
            mean, std, _ = summary[condition][key]
            x = k + offset
            ax.bar(x, 100 * mean, width * 0.92, color=style["color"], alpha=alpha,
                   hatch=style["hatch"], edgecolor="white", linewidth=0)  # fmt: skip
            ax.errorbar(x, 100 * mean, yerr=100 * std, color="black", capsize=3, lw=1,
                        alpha=alpha)  # fmt: skip
            seeds = results.rows("representation", attribute=attribute, rare=rare,
                                 condition=condition)  # fmt: skip
            values = [100 * r[f"{part}_{key}"] for r in seeds]
            ax.plot(np.full(len(values), x), values, style["marker"], ms=3.5, color="black",
                    alpha=alpha, markerfacecolor="white")  # fmt: skip
        for offset, key in ((-width / 2, "rare"), (width / 2, "others")):
            ax.text(k + offset, 88.5, f"{100 * summary[condition][key][0]:.1f}", ha="center",
                    fontsize=7, alpha=alpha, bbox={"facecolor": "white", "edgecolor": "none",
                                                   "pad": 0.8, "alpha": 0.85})  # fmt: skip
    ax.set_xticks(range(len(CONDITIONS)), [c.replace("-", "-\n") for c in CONDITIONS],
                  fontsize=8)  # fmt: skip
    ax.set_ylim(88, 103)
    ax.set_yticks(range(88, 101, 2))
    ax.set_ylabel(f"{PART_NAMES[part]} accuracy (%)")
    ax.set_xlabel("training mix")
    ax.set_title(f"{GROUP_NAMES.get(rare, rare)} digits rare ({attribute})", fontsize=9)
    ax.grid(axis="y", alpha=0.3)
    if legend:
        from matplotlib.patches import Patch

        ax.legend(handles=[
            Patch(facecolor=_RARE["color"], hatch=_RARE["hatch"], edgecolor="white",
                  label="the rare group (hatched)"),
            Patch(facecolor=_OTHERS["color"], label="the other two groups"),
        ], fontsize=7, loc="upper left")  # fmt: skip
    return ax


def representation_figure(results, part: str = "test") -> Figure:
    """One panel per rare group of :data:`dlcv.fairness.REPRESENTATION_CELLS` on ``part``."""
    results = _check_results(results)
    fig = Figure(figsize=(10.5, 3.4), layout="constrained")
    axes = fig.subplots(1, len(REPRESENTATION_CELLS), sharey=True)
    for k, (ax, (attribute, rare)) in enumerate(zip(axes, REPRESENTATION_CELLS, strict=True)):
        draw_representation(ax, results, attribute, rare, part, legend=k == 0)
        if k:
            ax.set_ylabel("")
    fig.suptitle(f"The rare group's {PART_NAMES[part]} accuracy by training mix: mean of 3 "
                 "seeds, bar = 1 std, dots = seeds", fontsize=10)  # fmt: skip
    return fig
