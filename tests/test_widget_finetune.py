"""The fine-tuning explorer of chapter 09 (dlcv.widgets.finetune.FineTuneExplorer)."""

from __future__ import annotations

import numpy as np
import pytest

from dlcv.transfer import load_transfer_results
from dlcv.widgets.finetune import (
    BUDGET_OPTIONS,
    FREEZE_OPTIONS,
    START_OPTIONS,
    FineTuneExplorer,
    way_of,
)


@pytest.fixture(scope="module")
def results():
    return load_transfer_results()


@pytest.fixture
def explorer(results):
    return FineTuneExplorer(results)


def test_the_controls_name_the_four_ways():
    mnist, random = START_OPTIONS[1], START_OPTIONS[0]
    assert way_of(random, "none") == "scratch"
    assert way_of(mnist, "none") == "fine-tune all"
    assert way_of(mnist, "the convolution blocks") == "fine-tune dense"
    assert way_of(mnist, "all but the last layer") == "frozen"
    for frozen in FREEZE_OPTIONS[1:]:
        with pytest.raises(ValueError, match="random weights with .* frozen would never learn"):
            way_of(random, frozen)
    with pytest.raises(ValueError, match="start must be one of"):
        way_of("imagenet", "none")


def test_compute_returns_the_stored_runs_of_the_chosen_learning_rate(explorer, results):
    for start, frozen, way in [
        (START_OPTIONS[1], "the convolution blocks", "fine-tune dense"),
        (START_OPTIONS[0], "none", "scratch"),
    ]:
        explorer.start.value, explorer.frozen.value = start, frozen
        for _, budget in BUDGET_OPTIONS:
            explorer.budget.value = budget
            assert explorer.error is None, explorer.error
            got = explorer.compute()
            stored = sorted(results.chosen_runs("digits", way, budget), key=lambda r: r["seed"])
            assert got.way == way and got.seeds == [0, 1, 2, 3, 4]
            assert got.curves == [r["curve"] for r in stored]
            tests = np.array([r["test_accuracy"] for r in stored])
            np.testing.assert_array_equal(got.test, tests)
            assert {r["lr"] for r in stored} == {got.lr}
            # the kept learning rate is the one with the better mean validation accuracy
            other = [r for r in results.runs if (r["target"], r["way"], r["budget"]) ==
                     ("digits", way, budget) and r["lr"] != got.lr]  # fmt: skip
            assert len(other) == 5 and all(r["test_accuracy"] == "" for r in other)
            assert np.mean([r["val_accuracy"] for r in stored]) >= np.mean(
                [r["val_accuracy"] for r in other]
            )
            shown = f"{tests.mean():.1%} ± {tests.std(ddof=1):.1%}"
            assert shown in explorer.summary.value and "precomputed" in explorer.summary.value


def test_every_control_changes_the_picture(explorer):
    seen = {bytes(explorer.picture.value)}
    explorer.budget.value = 50
    seen.add(bytes(explorer.picture.value))
    explorer.frozen.value = "all but the last layer"
    seen.add(bytes(explorer.picture.value))
    explorer.frozen.value = "none"
    explorer.start.value = START_OPTIONS[0]
    seen.add(bytes(explorer.picture.value))
    assert explorer.error is None
    assert len(seen) == 4, "a control did not change the picture"


def test_random_weights_with_frozen_layers_is_an_error_and_keeps_the_picture(explorer):
    explorer.start.value = START_OPTIONS[0]
    before, text = bytes(explorer.picture.value), explorer.summary.value
    explorer.frozen.value = "the convolution blocks"
    assert "random weights" in explorer.error and "MNIST network" in explorer.error
    assert bytes(explorer.picture.value) == before and explorer.summary.value == text
    explorer.start.value = START_OPTIONS[1]  # the MNIST network with the convolutions frozen
    assert explorer.error is None and explorer.compute().way == "fine-tune dense"


def test_faces_target_and_bad_arguments(results):
    faces = FineTuneExplorer(results, target="faces")
    assert faces.error is None and faces.compute().way == "fine-tune all"
    faces.frozen.value = "the convolution blocks"  # not run on faces
    assert "no runs of 'fine-tune dense'" in faces.error
    with pytest.raises(TypeError, match="results must be TransferResults"):
        FineTuneExplorer([])
    with pytest.raises(ValueError, match="target must be"):
        FineTuneExplorer(results, target="cats")
