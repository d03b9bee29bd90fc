"""Chapter 07's experiment code: subsets, the tutorial's flips, one short training run."""

import numpy as np
import pytest

from dlcv.augment_experiment import SETTINGS, stratified_subset, train_run, tutorial_flips
from dlcv.data import load_mnist


@pytest.fixture(scope="module")
def mnist():
    return load_mnist()


def test_stratified_subset_keeps_class_proportions(mnist):
    x, y = stratified_subset(mnist.x_train, mnist.y_train, 100, seed=0)
    assert x.shape == (100, 1, 28, 28)
    assert np.bincount(y, minlength=10).tolist() == [10] * 10
    x2, y2 = stratified_subset(mnist.x_train, mnist.y_train, 100, seed=0)
    assert np.array_equal(x, x2) and np.array_equal(y, y2)
    assert stratified_subset(mnist.x_train, mnist.y_train, 10_000, seed=0)[0] is mnist.x_train


def test_tutorial_flips_give_the_eight_symmetries_of_a_square():
    rng = np.random.default_rng(0)
    image = rng.random((1, 1, 5, 5))
    batch = np.repeat(image, 400, axis=0)
    out = tutorial_flips(batch, rng)
    distinct = {o.tobytes() for o in out[:, 0]}
    symmetries = {np.rot90(m, k).tobytes() for m in (image[0, 0], image[0, 0].T) for k in range(4)}
    assert distinct == symmetries
    assert np.array_equal(batch[:, 0], np.repeat(image[:, 0], 400, axis=0))  # input untouched


def test_train_run_is_deterministic_and_reports_a_row(mnist):
    row, model = train_run(mnist, 100, "label-preserving", seed=0, steps=5, batch_size=20)
    row2, _ = train_run(mnist, 100, "label-preserving", seed=0, steps=5, batch_size=20)
    assert row["epochs"] == 1 and row["steps"] == 5 and row["n_train"] == 100
    assert 0.0 <= row["test_accuracy"] <= 1.0
    assert row["test_accuracy"] == row2["test_accuracy"]
    assert row["train_loss"] == row2["train_loss"]
    assert set(SETTINGS) == {"none", "label-preserving", "tutorial flips"}


def test_train_run_rejects_steps_that_do_not_fill_whole_epochs(mnist):
    with pytest.raises(ValueError, match=r"must be a multiple of n_train \(300\)"):
        train_run(mnist, 300, "none", seed=0, steps=7, batch_size=20)


def test_load_results_reads_the_shipped_csv_with_types(tmp_path):
    from dlcv.augment_experiment import COLUMNS, SEEDS, load_results

    results = load_results()
    assert results.header and all(line.startswith("#") for line in results.header)
    assert results.runs and set(results.runs[0]) == set(COLUMNS)
    assert all(
        isinstance(r["seed"], int) and isinstance(r["test_accuracy"], float) for r in results.runs
    )
    values = results.values(100, "none")
    assert len(values) == len(SEEDS) and np.all((values > 0) & (values <= 1))
    with pytest.raises(ValueError, match="no run with n_train=7"):
        results.values(7, "none")
    with pytest.raises(ValueError, match="column must be one of"):
        results.values(100, "none", "accuracy")
    bad = tmp_path / "other.csv"
    bad.write_text("# a comment\na,b\n1,2\n", encoding="utf-8")
    with pytest.raises(ValueError, match="is not the experiment's CSV"):
        load_results(bad)
