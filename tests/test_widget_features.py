"""The feature explorer of chapter 08 (dlcv.widgets.features.FeatureExplorer)."""

from __future__ import annotations

import numpy as np
import pytest

from dlcv.models import load_lenet_mnist
from dlcv.transfer import (
    DEPTHS,
    budget_indices,
    features,
    load_target_digits,
    load_transfer_results,
)
from dlcv.widgets.features import FeatureExplorer


@pytest.fixture(scope="module")
def explorer():
    return FeatureExplorer(load_lenet_mnist(), load_target_digits(), load_transfer_results())


def test_neighbours_are_the_nearest_labelled_digits_in_the_chosen_features(explorer):
    parts = explorer.parts
    for depth in ("pixels", "block 2"):
        explorer.depth.value, explorer.budget.value, explorer.index.value = depth, 5, 7
        assert explorer.error is None
        result = explorer.compute()
        labelled = budget_indices(parts.y_train, 5, 0)
        train = features(explorer.model, parts.x_train[labelled], depth)
        query = features(explorer.model, parts.x_val[7:8], depth)
        mean, std = train.mean(axis=0), train.std(axis=0) + 1e-6
        d = (((train - mean) / std - (query - mean) / std) ** 2).sum(axis=1)
        np.testing.assert_array_equal(result.near_features, labelled[np.argsort(d)[:6]])
        assert set(result.near_features) <= set(labelled)


def test_the_accuracy_line_is_the_stored_mean_over_seeds(explorer):
    explorer.depth.value, explorer.budget.value = "dense", 1
    stored = load_transfer_results().probe("dense", 1)
    assert f"{stored.mean():.1%} ± {stored.std(ddof=1):.1%}" in explorer.accuracy.value
    assert "precomputed" in explorer.accuracy.value


def test_every_control_changes_what_is_shown(explorer):
    explorer.depth.value, explorer.budget.value, explorer.index.value = "dense", 10, 0
    before = (bytes(explorer.maps.value), bytes(explorer.near_features.value))
    explorer.depth.value = "block 1"
    assert bytes(explorer.maps.value) != before[0]
    explorer.depth.value = "dense"
    explorer.budget.value = "all"
    assert bytes(explorer.near_features.value) != before[1] or explorer.error is None
    explorer.index.value = 1
    assert bytes(explorer.maps.value) != before[0]
    assert explorer.compute().maps.shape == (1, 8, 8)
    for depth in DEPTHS:
        explorer.depth.value = depth
        assert explorer.error is None, explorer.error


def test_bad_arguments():
    with pytest.raises(TypeError, match="model must be a dlcv.layers.Sequential"):
        FeatureExplorer("lenet", load_target_digits(), load_transfer_results())
    with pytest.raises(TypeError, match="results must be TransferResults"):
        FeatureExplorer(load_lenet_mnist(), load_target_digits(), [])
