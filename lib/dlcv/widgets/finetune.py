"""Fine-tuning explorer: how a network trained on the target learns, by way and label budget.

Three controls choose one of the ways of :data:`dlcv.transfer.WAYS`:

* the **starting point**: random weights, or the MNIST network of chapter 06;
* which early layers stay **frozen**: none, the convolution blocks, or all but the last
  layer (from random weights only "none" makes sense: frozen random layers are a
  different experiment, which the chapter did not run, so it is an error);
* the **label budget**: 1, 5, 10 or 50 labelled training digits per class, or all.

The widget shows the validation accuracy during training of the 5 seeds of that way and
budget (one line per seed, the mean of training from scratch dashed in grey for
comparison), and their test accuracy, mean ± standard deviation. Every number is one of
``scripts/transfer_experiment.py``'s runs (:func:`dlcv.transfer.load_transfer_results`),
with the learning rate that won on mean validation accuracy: training live would take
seconds per change.
"""

from __future__ import annotations

import html
from typing import NamedTuple

import ipywidgets as widgets
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from dlcv.plot import OKABE_ITO
from dlcv.render import figure_png
from dlcv.transfer import TransferResults
from dlcv.widgets.base import Explorer, Picture, panel, row

__all__ = ["BUDGET_OPTIONS", "FREEZE_OPTIONS", "START_OPTIONS", "FineTuneExplorer", "way_of"]

START_OPTIONS = ("random weights", "the MNIST network")
FREEZE_OPTIONS = ("none", "the convolution blocks", "all but the last layer")
BUDGET_OPTIONS = (("1 label per class", 1), ("5 per class", 5), ("10 per class", 10),
                  ("50 per class", 50), ("all training digits", "all"))  # fmt: skip
_WAYS = {
    ("random weights", "none"): "scratch",
    ("the MNIST network", "none"): "fine-tune all",
    ("the MNIST network", "the convolution blocks"): "fine-tune dense",
    ("the MNIST network", "all but the last layer"): "frozen",
}


def way_of(start: str, frozen: str) -> str:
    """The way of :data:`dlcv.transfer.WAYS` for a starting point and the frozen layers.

    Raises ``ValueError`` for random weights with frozen layers (not one of the ways).
    """
    if start not in START_OPTIONS:
        raise ValueError(f"start must be one of {START_OPTIONS}, got {start!r}")
    if frozen not in FREEZE_OPTIONS:
        raise ValueError(f"frozen must be one of {FREEZE_OPTIONS}, got {frozen!r}")
    if (start, frozen) not in _WAYS:
        raise ValueError(
            f"random weights with {frozen} frozen would never learn those layers: freeze "
            "layers only when they start from the MNIST network (choose 'none' to train "
            "from scratch)"
        )
    return _WAYS[(start, frozen)]


class Runs(NamedTuple):
    """What :meth:`FineTuneExplorer.compute` returns."""

    way: str
    budget: object  # an int, or "all"
    lr: float  # the learning rate chosen on validation
    seeds: list[int]
    curves: list[list[tuple[int, float]]]  # (steps, validation accuracy), one per seed
    test: np.ndarray  # test accuracy, one per seed
    baseline: np.ndarray  # (steps, mean validation accuracy) of scratch at this budget


def _curves_png(result: Runs, dpi: float) -> bytes:
    """The seeds' validation curves, the scratch mean dashed, on a fixed 0-100 % axis."""
    fig = Figure(figsize=(5.4, 3.1), layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    if result.way != "scratch":
        ax.plot(*result.baseline.T, "--", color="0.55", lw=1.5, label="from scratch (mean)")
    for colour, seed, curve in zip(OKABE_ITO, result.seeds, result.curves, strict=False):
        steps, acc = np.array(curve).T
        ax.plot(steps, acc, "o-", ms=2.5, lw=1.2, color=colour, label=f"seed {seed}")
    ax.set_ylim(0, 1)
    ax.set_xlim(left=0)
    ax.set_yticks(np.linspace(0, 1, 6), [f"{v:.0%}" for v in np.linspace(0, 1, 6)])
    ax.set_xlabel("training steps (mini-batches)")
    ax.set_ylabel("validation accuracy")
    budget = "all labels" if result.budget == "all" else f"{result.budget} per class"
    ax.set_title(f"{result.way}, {budget}, learning rate {result.lr:g}", fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="lower right", ncols=2)
    return figure_png(fig, dpi)


class FineTuneExplorer(Explorer):
    """The widget; see the module docstring.

    Parameters
    ----------
    results : TransferResults
        The stored runs (:func:`dlcv.transfer.load_transfer_results`).
    target : str
        Which target's runs to show: ``"digits"`` (the default) or ``"faces"``.
    dpi : float
        Resolution of the picture.

    Attributes
    ----------
    start, frozen, budget : ipywidgets.Dropdown
        The controls.
    picture : ipywidgets.Image
        The validation curves, PNG.
    summary : ipywidgets.HTML
        The way, its learning rate and the test accuracy over the seeds.
    message, error, update_ms
        See :class:`dlcv.widgets.Explorer`; random weights with frozen layers are an error.
    """

    def __init__(self, results: TransferResults, target: str = "digits", dpi: float = 80):
        if not isinstance(results, TransferResults):
            raise TypeError(f"results must be TransferResults, got {type(results).__name__}")
        if target not in ("digits", "faces"):
            raise ValueError(f"target must be 'digits' or 'faces', got {target!r}")
        super().__init__()
        self.results, self.target, self._dpi = results, target, dpi
        self._pictures: dict[tuple, bytes] = {}
        self.start = widgets.Dropdown(
            options=START_OPTIONS, value=START_OPTIONS[1], description="start from"
        )
        self.frozen = widgets.Dropdown(
            options=FREEZE_OPTIONS, value=FREEZE_OPTIONS[0], description="frozen"
        )
        self.budget = widgets.Dropdown(options=BUDGET_OPTIONS, value=10, description="labels")
        self.picture = Picture(format="png")
        self.summary = widgets.HTML()
        self.children = [
            row(self.start, self.frozen, self.budget),
            panel("validation accuracy during training, one line per seed", self.picture),
            self.summary,
            self.message,
        ]
        self.watch(self.start, self.frozen, self.budget)
        self.update()

    def __repr__(self) -> str:
        return "FineTuneExplorer()"

    def _runs(self, way: str, budget) -> list[dict]:
        runs = sorted(self.results.chosen_runs(self.target, way, budget), key=lambda r: r["seed"])
        if not runs:
            raise ValueError(f"the stored results have no runs of {way!r} with budget {budget}")
        return runs

    def compute(self) -> Runs:
        """The stored runs of the chosen way and budget (learning rate chosen on validation)."""
        way, budget = way_of(self.start.value, self.frozen.value), self.budget.value
        runs = self._runs(way, budget)
        scratch = [r["curve"] for r in self._runs("scratch", budget)]
        baseline = np.array(scratch, dtype=float).mean(axis=0)
        return Runs(
            way, budget, float(runs[0]["lr"]), [int(r["seed"]) for r in runs],
            [r["curve"] for r in runs], np.array([r["test_accuracy"] for r in runs], float),
            baseline,
        )  # fmt: skip

    def draw(self, result: Runs) -> None:
        key = (result.way, result.budget)
        png = self._pictures.get(key) or _curves_png(result, self._dpi)
        self._pictures[key] = png
        test = result.test
        std = test.std(ddof=1) if len(test) > 1 else 0.0
        label = dict((v, k) for k, v in BUDGET_OPTIONS)[result.budget]
        finals = ", ".join(f"{c[-1][1]:.0%}" for c in result.curves)
        self.picture.alt = (
            f"validation accuracy during training of {result.way} with {label}, one line per "
            f"seed ({len(result.curves)} seeds), ending at {finals}; training from scratch ends "
            f"at {result.baseline[-1][1]:.0%} on average"
        )
        self.picture.value = png
        self.summary.value = (
            f"<b>{html.escape(result.way)} with {html.escape(label)}: test accuracy "
            f"{test.mean():.1%} ± {std:.1%}</b> (mean ± std over {len(test)} seeds; learning "
            f"rate {result.lr:g}, chosen on mean validation accuracy; the test part was read "
            "only for that learning rate).<br><i>The chapter's precomputed runs of "
            "scripts/transfer_experiment.py: training live would take seconds per change.</i>"
        )
