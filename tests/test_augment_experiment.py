"""Chapter 07's experiment code: subsets, coin flips, short training runs, the CSVs."""

import numpy as np
import pytest

from dlcv.augment_experiment import (
    COLUMNS,
    SEEDS,
    SETTINGS,
    SHIFT_COLUMNS,
    SHIFT_DISTANCES,
    SHIFT_SETTINGS,
    coin_flips,
    load_results,
    load_shift_results,
    shift_run,
    stratified_subset,
    train_run,
)
from dlcv.data import load_mnist, load_mnist_splits


@pytest.fixture(scope="module")
def parts():
    return load_mnist_splits()


def test_stratified_subset_keeps_class_proportions(parts):
    x, y = stratified_subset(parts.x_train, parts.y_train, 100, seed=0)
    assert x.shape == (100, 1, 28, 28)
    assert np.bincount(y, minlength=10).tolist() == [10] * 10
    x2, y2 = stratified_subset(parts.x_train, parts.y_train, 100, seed=0)
    assert np.array_equal(x, x2) and np.array_equal(y, y2)
    assert stratified_subset(parts.x_train, parts.y_train, 10_000, seed=0)[0] is parts.x_train


def test_coin_flips_give_the_eight_symmetries_of_a_square():
    rng = np.random.default_rng(0)
    image = rng.random((1, 1, 5, 5))
    batch = np.repeat(image, 400, axis=0)
    out = coin_flips(batch, rng)
    distinct = {o.tobytes() for o in out[:, 0]}
    symmetries = {np.rot90(m, k).tobytes() for m in (image[0, 0], image[0, 0].T) for k in range(4)}
    assert distinct == symmetries
    assert np.array_equal(batch[:, 0], np.repeat(image[:, 0], 400, axis=0))  # input untouched


def test_train_run_is_deterministic_and_reports_a_row(parts):
    row, model = train_run(parts, 100, "label-preserving", seed=0, steps=5, batch_size=20)
    row2, _ = train_run(parts, 100, "label-preserving", seed=0, steps=5, batch_size=20)
    assert set(row) == set(COLUMNS)
    assert row["epochs"] == 1 and row["steps"] == 5 and row["n_train"] == 100
    assert all(0.0 <= row[k] <= 1.0 for k in ("train_accuracy", "val_accuracy", "test_accuracy"))
    assert {k: v for k, v in row.items() if k != "seconds"} == {
        k: v for k, v in row2.items() if k != "seconds"
    }
    assert set(SETTINGS) == {"none", "shifts", "label-preserving", "label-preserving once", "flips"}


def test_train_run_draws_from_the_training_part_and_scores_validation(parts, monkeypatch):
    import dlcv.augment_experiment as ae

    seen = {}
    real_evaluate = ae.evaluate

    def spy(model, x, y):
        seen.setdefault("evaluated", []).append(len(y))
        return real_evaluate(model, x, y)

    real_subset = ae.stratified_subset

    def subset_spy(x, y, n, seed):
        seen["pool"] = len(y)
        return real_subset(x, y, n, seed)

    monkeypatch.setattr(ae, "evaluate", spy)
    monkeypatch.setattr(ae, "stratified_subset", subset_spy)
    train_run(parts, 100, "none", seed=0, steps=5, batch_size=20)
    assert seen["pool"] == 3500  # the training part, not all 4,000 of load_mnist
    assert seen["evaluated"] == [100, 500, 1000]  # subset, validation, test


def test_once_trains_on_one_fixed_copy_fresh_draws_differ(parts, monkeypatch):
    import dlcv.augment_experiment as ae

    calls = []
    real_fit = ae.fit

    def fit_spy(model, x, y, **kw):
        calls.append((x.copy(), kw["transform"]))
        return real_fit(model, x, y, **kw)

    monkeypatch.setattr(ae, "fit", fit_spy)
    train_run(parts, 100, "label-preserving once", seed=0, steps=10, batch_size=20)
    train_run(parts, 100, "label-preserving", seed=0, steps=10, batch_size=20)
    (once_x, once_t), (fresh_x, fresh_t) = calls
    assert once_t is None and fresh_t is SETTINGS["label-preserving"]
    x, _ = stratified_subset(parts.x_train, parts.y_train, 100, 0)
    assert np.array_equal(fresh_x, x) and not np.array_equal(once_x, x)
    first_epoch = SETTINGS["label-preserving"](x, np.random.default_rng([0, 7]))
    np.testing.assert_array_equal(once_x, first_epoch)  # the first epoch's copy


def test_train_run_rejects_bad_arguments(parts):
    with pytest.raises(ValueError, match=r"must be a multiple of n_train \(300\)"):
        train_run(parts, 300, "none", seed=0, steps=7, batch_size=20)
    with pytest.raises(ValueError, match="augmentation must be one of"):
        train_run(parts, 100, "mirrors", seed=0, steps=5)
    with pytest.raises(TypeError, match="load_mnist_splits"):
        train_run(load_mnist(), 100, "none", seed=0, steps=5)
    with pytest.raises(ValueError, match="augmentation must be one of"):
        shift_run(parts, "flips", seed=0)


def test_shift_run_rows(parts, monkeypatch):
    import dlcv.augment_experiment as ae

    monkeypatch.setitem(ae.LENET_MNIST_RECIPE, "epochs", 1)  # keep the test short
    monkeypatch.setitem(ae.LENET_MNIST_RECIPE, "channels", (2, 2))
    rows, model = shift_run(parts, "shifts", seed=0, shifts=(0, 2))
    assert len(rows) == 4 * 2 and set(rows[0]) == set(SHIFT_COLUMNS)
    at_zero = {r["val_accuracy"] for r in rows if r["shift"] == 0}
    assert len(at_zero) == 1  # every direction agrees at distance 0


def test_load_results_reads_the_shipped_csv_with_types(tmp_path):
    results = load_results()
    assert results.header and all(line.startswith("#") for line in results.header)
    assert any("load_mnist_splits" in line for line in results.header)
    assert results.runs and set(results.runs[0]) == set(COLUMNS)
    assert {r["augmentation"] for r in results.runs} == set(SETTINGS)
    assert all(
        isinstance(r["seed"], int) and isinstance(r["val_accuracy"], float) for r in results.runs
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


def test_load_shift_results_reads_the_shipped_csv():
    results = load_shift_results()
    assert results.shifts == SHIFT_DISTANCES
    for setting in SHIFT_SETTINGS:
        curves = results.accuracy(setting)
        assert curves.shape == (len(results.seeds(setting)), len(SHIFT_DISTANCES))
        assert len(results.seeds(setting)) >= 3
        right = results.accuracy(setting, "right")
        np.testing.assert_array_equal(right[:, 0], curves[:, 0])  # distance 0: no move
    with pytest.raises(ValueError, match="direction must be one of"):
        results.accuracy("none", "sideways")
    with pytest.raises(ValueError, match="no run with augmentation"):
        results.accuracy("flips")
