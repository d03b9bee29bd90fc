"""Feature explorer: what the MNIST network computes on a new digit, and what that buys.

Pick a depth of the source network (the pixels themselves, block 1, block 2, the dense
layer), a label budget and a validation digit of the target data set. The widget shows:

* the digit and what the network computes from it at that depth (its feature maps, or
  the 64 hidden units as an 8x8 grid), bright where a unit responds;
* its 6 nearest neighbours among the labelled training digits of that budget (seed 0),
  in pixels and in the chosen features (each standardised on the labelled digits), with
  their labels;
* the validation accuracy of logistic regression on those features with that budget,
  mean and standard deviation over 5 seeds: precomputed by
  ``scripts/transfer_experiment.py`` (:func:`dlcv.transfer.load_transfer_results`),
  because fitting it live for every change would take up to a second.

Every control is bounded, so no setting is impossible.
"""

from __future__ import annotations

from typing import NamedTuple

import ipywidgets as widgets
import numpy as np

from dlcv.layers import Sequential
from dlcv.render import feature_mosaic, tile, to_png
from dlcv.transfer import DEPTHS, TransferResults, budget_indices, features
from dlcv.widgets.base import Explorer, Picture, panel, row

__all__ = ["FeatureExplorer"]

BUDGET_OPTIONS = (("1 label per class", 1), ("5 per class", 5), ("10 per class", 10),
                  ("50 per class", 50), ("all training digits", "all"))  # fmt: skip
N_NEIGHBOURS = 6


class Exploration(NamedTuple):
    """What :meth:`FeatureExplorer.compute` returns."""

    index: int  # into the validation digits
    maps: np.ndarray  # (F, h, w): what the network computes at the depth
    near_pixels: np.ndarray  # indices into the training digits
    near_features: np.ndarray
    accuracy: tuple[float, float, int]  # mean, std, seeds
    pixel_accuracy: tuple[float, float, int]


def _standardised_neighbours(train: np.ndarray, query: np.ndarray, k: int) -> np.ndarray:
    mean, std = train.mean(axis=0), train.std(axis=0) + 1e-6
    distance = (((train - mean) / std - (query - mean) / std) ** 2).sum(axis=1)
    return np.argsort(distance, kind="stable")[:k]


class FeatureExplorer(Explorer):
    """The widget; see the module docstring.

    Parameters
    ----------
    model : Sequential
        The source network (:func:`dlcv.models.load_lenet_mnist`).
    parts : ThreeWaySplit
        The target data (:func:`dlcv.transfer.load_target_digits`).
    results : TransferResults
        The precomputed linear probes (:func:`dlcv.transfer.load_transfer_results`).
    start : int
        Index of the first validation digit shown.
    """

    def __init__(self, model: Sequential, parts, results: TransferResults, start: int = 0):
        if not isinstance(model, Sequential):
            raise TypeError(f"model must be a dlcv.layers.Sequential, got {type(model).__name__}")
        if not isinstance(results, TransferResults):
            raise TypeError(f"results must be TransferResults, got {type(results).__name__}")
        super().__init__()
        self.model, self.parts, self.results = model, parts, results
        self._cache: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        self.depth = widgets.Dropdown(options=list(DEPTHS), value="dense", description="depth")
        self.budget = widgets.Dropdown(options=BUDGET_OPTIONS, value=10, description="labels")
        self.index = widgets.IntSlider(
            min=0, max=len(parts.y_val) - 1, value=start, description="digit"
        )
        self.maps = Picture(format="png")
        self.near_pixels = Picture(format="png")
        self.near_features = Picture(format="png")
        self.caption_pixels, self.caption_features = widgets.HTML(), widgets.HTML()
        self.accuracy = widgets.HTML()
        self.children = [
            row(self.depth, self.budget, self.index),
            panel("the digit and what the network computes from it", self.maps),
            row(
                panel(self.caption_pixels, self.near_pixels),
                panel(self.caption_features, self.near_features),
                align_items="flex-start",
            ),
            self.accuracy,
            self.message,
        ]
        self.watch(self.depth, self.budget, self.index)
        self.update()

    def _features(self, depth: str) -> tuple[np.ndarray, np.ndarray]:
        """Training and validation features at ``depth``, computed once per depth."""
        if depth not in self._cache:
            self._cache[depth] = (
                features(self.model, self.parts.x_train, depth),
                features(self.model, self.parts.x_val, depth),
            )
        return self._cache[depth]

    def _accuracy(self, kind: str, budget) -> tuple[float, float, int]:
        accs = self.results.probe(kind, budget)
        if len(accs) == 0:
            raise ValueError(f"the stored results have no linear probe on {kind!r} with {budget}")
        return float(accs.mean()), float(accs.std(ddof=1)) if len(accs) > 1 else 0.0, len(accs)

    def compute(self) -> Exploration:
        i, depth, budget = self.index.value, self.depth.value, self.budget.value
        labelled = budget_indices(self.parts.y_train, None if budget == "all" else budget, 0)
        near = {}
        for kind in ("pixels", depth):
            train, val = self._features(kind)
            near[kind] = labelled[_standardised_neighbours(train[labelled], val[i], N_NEIGHBOURS)]
        x = self.parts.x_val[i : i + 1]
        if depth == "dense":
            maps = features(self.model, x, depth).reshape(1, 8, 8)
        else:
            from dlcv.train import activations

            maps = activations(self.model, x)[DEPTHS[depth]][0]
        return Exploration(
            i, maps, near["pixels"], near[depth],
            self._accuracy(depth, budget), self._accuracy("pixels", budget),
        )  # fmt: skip

    def _neighbours_png(self, indices: np.ndarray) -> bytes:
        digits = self.parts.x_train[indices, 0]
        return to_png(feature_mosaic(digits, zoom=2, ncols=len(indices), gap=4))

    def _caption(self, what: str, indices: np.ndarray, label: int) -> str:
        labels = self.parts.y_train[indices]
        same = int((labels == label).sum())
        return (
            f"<b>nearest in {what}</b><br>labels {', '.join(map(str, labels))}: "
            f"{same} of {len(labels)} are a {label}"
        )

    def draw(self, result: Exploration) -> None:
        digit = self.parts.x_val[result.index]
        zoom = max(1, 84 // result.maps.shape[1])
        maps_png = to_png(
            tile(
                [
                    feature_mosaic(digit[:1], zoom=3, ncols=1),
                    feature_mosaic(result.maps, zoom=zoom, ncols=min(8, len(result.maps))),
                ],
                gap=12,
            )
        )
        pixels_png = self._neighbours_png(result.near_pixels)
        features_png = self._neighbours_png(result.near_features)
        label = int(self.parts.y_val[result.index])
        mean, std, seeds = result.accuracy
        p_mean, p_std, _ = result.pixel_accuracy
        budget = dict((v, k) for k, v in BUDGET_OPTIONS)[self.budget.value]
        maps = result.maps.shape
        self.maps.alt = (
            f"validation digit {result.index}, a handwritten {label}, and its {maps[0]} feature "
            f"maps of {maps[1]} by {maps[2]} at {self.depth.value}"
        )
        for view, what, near in (
            (self.near_pixels, "pixels", result.near_pixels),
            (self.near_features, f"{self.depth.value} features", result.near_features),
        ):
            labels = self.parts.y_train[near]
            view.alt = (
                f"the {len(near)} training digits nearest to validation digit {result.index} in "
                f"{what}: labels {', '.join(map(str, labels))} "
                f"({int((labels == label).sum())} of {len(labels)} are a {label})"
            )
        self.maps.value = maps_png
        self.near_pixels.value, self.near_features.value = pixels_png, features_png
        self.caption_pixels.value = self._caption("pixels", result.near_pixels, label)
        self.caption_features.value = self._caption(
            f"{self.depth.value} features", result.near_features, label
        )
        self.accuracy.value = (
            f"validation digit {result.index} (label {label}); {result.maps.shape[0]} maps of "
            f"{result.maps.shape[1]}×{result.maps.shape[2]} at {self.depth.value}.<br>"
            f"<b>Logistic regression on {self.depth.value} with {budget}: validation accuracy "
            f"{mean:.1%} ± {std:.1%}</b> (pixels: {p_mean:.1%} ± {p_std:.1%}; mean ± std "
            f"over {seeds} seeds, precomputed by scripts/transfer_experiment.py)"
        )
