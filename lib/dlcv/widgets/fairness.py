"""Fairness explorer: choose which group is rare in training and how it is trained, see the gap.

Three controls choose one cell of chapter 15's under-representation experiment
(``ethics_representation.csv``, read by :func:`dlcv.fairness.load_ethics_results`):

* the **rare group**: right-leaning, thick or thin digits
  (:data:`dlcv.fairness.REPRESENTATION_CELLS`);
* the **training mix**: balanced, under-represented (5 % of the group kept), reweighted or
  augmented (:data:`dlcv.fairness.CONDITIONS`);
* the **part** it is scored on: validation or test.

The picture shows the rare group's accuracy and the other two groups' for every mix
(the chosen one full, the rest faded); the text gives the chosen mix's numbers, the drop
from the balanced mix and, for a repair, what it wins back from the under-represented
mix, each with Welch's test over the seeds (:meth:`dlcv.fairness.EthicsResults.compare`),
and says when the validation and test parts disagree. Training live would take about 12 s
per run and three seeds per cell: the widget reads the script's runs.

Every control is a menu or a toggle over the runs that exist, so no setting is impossible.
"""

from __future__ import annotations

from typing import NamedTuple

import ipywidgets as widgets
from matplotlib.figure import Figure

from dlcv.fairness import CONDITIONS, REPRESENTATION_CELLS, EthicsResults
from dlcv.fairness_plot import GROUP_NAMES, PART_NAMES, draw_representation
from dlcv.render import figure_png
from dlcv.widgets.base import Explorer, Picture, panel, row

__all__ = ["FairnessExplorer", "GROUP_OPTIONS", "Gap"]

GROUP_OPTIONS = tuple(
    (f"{GROUP_NAMES[rare]} digits ({attribute})", (attribute, rare))
    for attribute, rare in REPRESENTATION_CELLS
)
"""The rare-group menu: label -> (attribute, rare group)."""


class Gap(NamedTuple):
    """What :meth:`FairnessExplorer.compute` returns (accuracies as fractions)."""

    attribute: str
    rare: str
    condition: str
    part: str
    summary: dict  # EthicsResults.representation(attribute, rare, part)
    versus_balanced: dict  # EthicsResults.compare(..., against="balanced"), both parts
    versus_under: dict  # against "under-represented", both parts ({} for those two mixes)


def _said(comparison: dict) -> str:
    sign = "+" if comparison["difference"] >= 0 else "−"
    verdict = "established" if comparison["established"] else "not established"
    return (f"{sign}{abs(100 * comparison['difference']):.1f} points "
            f"(Welch p = {comparison['p']:.2f}, {verdict})")  # fmt: skip


class FairnessExplorer(Explorer):
    """The widget; see the module docstring.

    Parameters
    ----------
    results : EthicsResults
        The stored runs (:func:`dlcv.fairness.load_ethics_results`).
    dpi : float
        Resolution of the picture.

    Attributes
    ----------
    group, mix : ipywidgets.Dropdown
    part : ipywidgets.ToggleButtons
    picture : Picture
        The bars of every mix, PNG.
    report : ipywidgets.HTML
        The chosen cell in words.
    """

    def __init__(self, results: EthicsResults, dpi: float = 96):
        if not isinstance(results, EthicsResults):
            raise TypeError("results must be EthicsResults (dlcv.fairness.load_ethics_results()), "
                            f"got {type(results).__name__}")  # fmt: skip
        super().__init__()
        self.results, self._dpi = results, dpi
        self._pictures: dict[tuple, bytes] = {}
        self.group = widgets.Dropdown(options=GROUP_OPTIONS, value=GROUP_OPTIONS[0][1],
                                      description="rare group")  # fmt: skip
        self.mix = widgets.Dropdown(options=CONDITIONS, value="under-represented",
                                    description="training mix")  # fmt: skip
        self.part = widgets.ToggleButtons(options=[(v, k) for k, v in PART_NAMES.items()],
                                          value="test", description="scored on")  # fmt: skip
        self.picture = Picture(format="png")
        self.report = widgets.HTML()
        self.children = [
            row(self.group, self.mix, self.part),
            panel("rare group and the others, every training mix", self.picture),
            self.report,
            self.message,
        ]
        self.watch(self.group, self.mix, self.part)
        self.update()

    def compute(self) -> Gap:
        (attribute, rare), condition, part = self.group.value, self.mix.value, self.part.value
        summary = self.results.representation(attribute, rare, part)
        compare = self.results.compare
        versus_balanced = {p: compare(attribute, rare, condition, "balanced", p)
                           for p in PART_NAMES}  # fmt: skip
        versus_under = {}
        if condition in ("reweighted", "augmented"):
            versus_under = {p: compare(attribute, rare, condition, "under-represented", p)
                            for p in PART_NAMES}  # fmt: skip
        return Gap(attribute, rare, condition, part, summary, versus_balanced, versus_under)

    def _png(self, result: Gap) -> bytes:
        key = (result.attribute, result.rare, result.condition, result.part)
        if key not in self._pictures:
            fig = Figure(figsize=(5.6, 3.3), layout="constrained")
            draw_representation(fig.add_subplot(), self.results, result.attribute, result.rare,
                                result.part, highlight=result.condition)  # fmt: skip
            self._pictures[key] = figure_png(fig, self._dpi)
        return self._pictures[key]

    def draw(self, result: Gap) -> None:
        name, part = GROUP_NAMES[result.rare], PART_NAMES[result.part]
        cell = result.summary[result.condition]
        (rare, rare_sd, n), (others, others_sd, _) = cell["rare"], cell["others"]
        self.picture.value = self._png(result)
        self.picture.alt = (
            f"Bar chart of {part} accuracy by training mix for {name} digits as the rare group "
            "and for the other two groups: "
            + "; ".join(f"{c}: {100 * result.summary[c]['rare'][0]:.1f} % against "
                        f"{100 * result.summary[c]['others'][0]:.1f} %" for c in CONDITIONS)
            + f". The {result.condition} mix is highlighted."
        )  # fmt: skip
        lines = [
            f"Trained on the <b>{result.condition}</b> mix, {name} digits score "
            f"<b>{100 * rare:.1f} ± {100 * rare_sd:.1f} %</b> on the {part} part, the other "
            f"digits {100 * others:.1f} ± {100 * others_sd:.1f} % (mean ± std over {n} seeds)."
        ]
        if result.condition != "balanced":
            here = result.versus_balanced[result.part]
            lines.append(f"Against the balanced mix: {_said(here)}.")
            if result.versus_under:
                lines.append("Against the under-represented mix (what the repair wins back): "
                             f"{_said(result.versus_under[result.part])}.")  # fmt: skip
            other = "val" if result.part == "test" else "test"
            there = result.versus_balanced[other]
            if here["established"] != there["established"]:
                lines.append(
                    f"<i>The {PART_NAMES[other]} part disagrees: there the difference from the "
                    f"balanced mix is {_said(there)}. With three seeds, a difference of a few "
                    "points is near what the test can tell apart.</i>"
                )
        self.report.value = "<br>".join(lines)
